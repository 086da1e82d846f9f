/**
 * Re-exports of the generated wire types (shared/gen is produced by `npm run gen`, never committed),
 * so the rest of the code imports from one stable place.
 */
export * from './gen/multisect/v1/types.js';
export * from './gen/multisect/v1/agent.js';
export * from './gen/multisect/v1/operator.js';
