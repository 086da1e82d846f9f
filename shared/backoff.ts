/**
 * Exponential back-off, the one way multisect waits between attempts: `backoffDelay` (the
 * arithmetic), `Backoff` (a counter for loops that never end, such as a reconnect loop whose
 * success resets it) and `retryWithBackoff` (retry one operation until it succeeds). Every wait
 * ends at once when its AbortSignal aborts, so no retry loop outlives a shutdown.
 */
import { CancelledError } from './errors.js';
import { sleep } from './sleep.js';

export interface BackoffOptions {
  /** The wait before the second attempt, in ms; it doubles from there. Required. */
  baseMs: number;
  /** The longest wait, in ms. Required. */
  maxMs: number;
  /**
   * Up to this fraction of the delay is added at random, so that many clients cut off at once
   * (agents of a farm whose coordinator restarted) do not all come back in step. Default 0.
   */
  jitter?: number;
}

/** Exponential back-off: the wait before attempt `attempt` (1-based), doubling from `baseMs` up to `maxMs`. */
export function backoffDelay(attempt: number, o: { baseMs: number; maxMs: number }): number {
  return Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
}

function jittered(ms: number, jitter: number | undefined, random: () => number): number {
  return jitter ? ms + Math.floor(ms * jitter * random()) : ms;
}

/**
 * The back-off state of a loop that goes on for ever: `wait()` sleeps the next delay, `reset()`
 * after a success starts again from `baseMs`.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly o: BackoffOptions,
    /** Source of randomness for the jitter (tests pass a fixed one). Default Math.random. */
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay the next `wait()` will sleep (without jitter). */
  get nextDelayMs(): number {
    return backoffDelay(this.failures + 1, this.o);
  }

  /** Sleep the next delay (less when `signal` aborts; never rejects). Returns the delay chosen. */
  async wait(signal?: AbortSignal): Promise<number> {
    const ms = jittered(this.nextDelayMs, this.o.jitter, this.random);
    this.failures += 1;
    await sleep(ms, signal);
    return ms;
  }

  reset(): void {
    this.failures = 0;
  }
}

export interface RetryOptions extends BackoffOptions {
  /** Give up after this many attempts and throw the last error. Default: no limit. */
  attempts?: number;
  /**
   * Stop retrying: a wait in progress ends at once and the last error is thrown (a
   * CancelledError when it aborted before the first attempt). Default: none.
   */
  signal?: AbortSignal;
  /** Whether an error is worth another attempt; false throws it at once. Default: every error is. */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait (to log it) with the error, the attempt that failed (1-based) and the wait. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Source of randomness for the jitter. Default Math.random. */
  random?: () => number;
}

/** Run `fn` until it resolves, waiting with exponential back-off between attempts. */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const signal = o.signal;
  if (signal?.aborted) throw new CancelledError('aborted before the first attempt', { cause: signal.reason });
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted || (o.attempts !== undefined && attempt >= o.attempts) || (o.retryable && !o.retryable(err))) throw err;
      const delayMs = jittered(backoffDelay(attempt, o), o.jitter, o.random ?? Math.random);
      o.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}
