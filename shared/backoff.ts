/** Exponential back-off: the wait before attempt `attempt` (1-based), doubling from `baseMs` up to `maxMs`. */
export function backoffDelay(attempt: number, o: { baseMs: number; maxMs: number }): number {
  return Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
}
