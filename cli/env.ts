/** Environment variables: read only at the CLI entry points, here. */
import { DEFAULT_COORDINATOR_ADDRESS } from '../shared/grpc.js';

export const env = {
  coordinator: (): string => process.env.MULTISECT_COORDINATOR || DEFAULT_COORDINATOR_ADDRESS,
  nats: (): string | undefined => process.env.MULTISECT_NATS || undefined,
  stateDir: (): string | undefined => process.env.MULTISECT_STATE_DIR || undefined,
  namespace: (): string => process.env.MULTISECT_NAMESPACE || '',
  logLevel: (): string => process.env.MULTISECT_LOG_LEVEL || 'info',
};
