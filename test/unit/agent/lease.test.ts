import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseClock } from '../../../agent/lease.js';

describe('LeaseClock', () => {
  it('counts the lease from the Hello until the first renewal', () => {
    const l = new LeaseClock(500, 1000);
    assert.equal(l.lapsed(1500), false);
    assert.equal(l.lapsed(1501), true);
  });

  it('counts a renewal from when the heartbeat it answers was sent, not when it arrived', () => {
    const l = new LeaseClock(500, 0);
    l.sent(100);
    l.sent(200);
    l.renewed(999_999); // the coordinator's clock: never compared with ours
    assert.equal(l.remainingMs(300), 300); // 100 + 500 - 300
    l.renewed(999_999);
    assert.equal(l.remainingMs(300), 400);
    assert.equal(l.lastDeadlineMs, 999_999);
    assert.equal(l.lapsed(700), false);
    assert.equal(l.lapsed(701), true);
  });

  it('lapses when heartbeats go out but no renewal comes back', () => {
    const l = new LeaseClock(500, 0);
    for (let t = 100; t <= 1000; t += 100) l.sent(t);
    assert.equal(l.lapsed(501), true);
  });

  it('never lapses without a lease (a coordinator that announces none)', () => {
    const l = new LeaseClock(0, 0);
    assert.equal(l.lapsed(1e9), false);
  });
});
