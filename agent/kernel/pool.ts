/**
 * Run n tasks with at most `capacity` at once (the agent's VM capacity). The first failure aborts
 * the others (through the signal each task gets) and is rethrown once all have settled, so no VM
 * outlives the call.
 */
import { CancelledError } from '../../shared/errors.js';

export async function runBounded<T>(
  n: number,
  capacity: number,
  task: (index: number, signal: AbortSignal) => Promise<T>,
  signal?: AbortSignal,
): Promise<T[]> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal?.reason);
  if (signal?.aborted) ac.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const results: T[] = new Array(n);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < n && !ac.signal.aborted) {
      const i = next++;
      try {
        results[i] = await task(i, ac.signal);
      } catch (err) {
        failure ??= { err };
        ac.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(capacity, n)) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.err;
  if (signal?.aborted) throw new CancelledError('cancelled', { cause: signal.reason });
  return results;
}
