/** Generated git histories: the demo's generator (deploy/demo/history.ts), shared with the tests. */
export { makeHistory, type History, type HistoryOptions } from '../../deploy/demo/history.js';
