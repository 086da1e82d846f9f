import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, backoffDelay, retryWithBackoff } from '../../../shared/backoff.js';
import { CancelledError } from '../../../shared/errors.js';

describe('backoffDelay', () => {
  it('doubles from the base up to the cap', () => {
    const o = { baseMs: 100, maxMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, o)), [100, 200, 400, 800, 1000, 1000]);
  });
  it('does not overflow on huge attempt numbers', () => {
    assert.equal(backoffDelay(10_000, { baseMs: 100, maxMs: 5000 }), 5000);
    assert.equal(backoffDelay(0, { baseMs: 100, maxMs: 5000 }), 100);
  });
});

describe('Backoff', () => {
  it('grows with each wait and starts again after reset', async () => {
    const b = new Backoff({ baseMs: 1, maxMs: 4 });
    const waits = [await b.wait(), await b.wait(), await b.wait(), await b.wait()];
    assert.deepEqual(waits, [1, 2, 4, 4]);
    b.reset();
    assert.equal(b.nextDelayMs, 1);
  });
  it('adds at most `jitter` of the delay', async () => {
    assert.equal(await new Backoff({ baseMs: 10, maxMs: 100, jitter: 0.5 }, () => 0.999).wait(), 14);
    assert.equal(await new Backoff({ baseMs: 10, maxMs: 100, jitter: 0.5 }, () => 0).wait(), 10);
  });
  it('ends a wait at once when the signal aborts', async () => {
    const b = new Backoff({ baseMs: 60_000, maxMs: 60_000 });
    const stop = new AbortController();
    const t0 = Date.now();
    setTimeout(() => stop.abort(), 20);
    await b.wait(stop.signal);
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('retryWithBackoff', () => {
  it('retries until the operation succeeds, reporting each retry', async () => {
    const retries: Array<[number, number]> = [];
    let calls = 0;
    const v = await retryWithBackoff(
      async (attempt) => {
        calls += 1;
        assert.equal(attempt, calls);
        if (calls < 4) throw new Error(`fail ${calls}`);
        return 'ok';
      },
      { baseMs: 1, maxMs: 2, onRetry: (_err, attempt, delay) => retries.push([attempt, delay]) },
    );
    assert.equal(v, 'ok');
    assert.deepEqual(retries, [[1, 1], [2, 2], [3, 2]]);
  });

  it('throws the last error once the attempts are spent', async () => {
    let calls = 0;
    await assert.rejects(
      retryWithBackoff(async () => {
        calls += 1;
        throw new Error(`fail ${calls}`);
      }, { baseMs: 1, maxMs: 1, attempts: 3 }),
      /fail 3/,
    );
    assert.equal(calls, 3);
  });

  it('throws at once an error that is not retryable', async () => {
    let calls = 0;
    await assert.rejects(
      retryWithBackoff(async () => {
        calls += 1;
        throw new TypeError('for good');
      }, { baseMs: 1, maxMs: 1, retryable: (err) => !(err instanceof TypeError) }),
      TypeError,
    );
    assert.equal(calls, 1);
  });

  it('stops waiting when the signal aborts and throws the last error', async () => {
    const stop = new AbortController();
    const t0 = Date.now();
    setTimeout(() => stop.abort(), 30);
    await assert.rejects(
      retryWithBackoff(async () => {
        throw new Error('still down');
      }, { baseMs: 60_000, maxMs: 60_000, signal: stop.signal }),
      /still down/,
    );
    assert.ok(Date.now() - t0 < 5000, 'the 60 s wait was cut short');
  });

  it('does not start when the signal has aborted already', async () => {
    const stop = new AbortController();
    stop.abort();
    let calls = 0;
    await assert.rejects(
      retryWithBackoff(async () => {
        calls += 1;
      }, { baseMs: 1, maxMs: 1, signal: stop.signal }),
      CancelledError,
    );
    assert.equal(calls, 0);
  });
});
