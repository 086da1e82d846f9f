/**
 * Progress is data: a probe's phase and round are fields (Probe, copied into the Verdict by the
 * agent), read before the probe id; verdict events carry the outcome, runs and crashes typed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVerificationOfRound, probeId, purposeFields, purposeOfVerdict } from '../../../coordinator/job-run/probe-id.js';
import { runFarm } from '../../helpers/job-run-farm.js';
import { generateHistory, Oracle } from '../../helpers/job-histories.js';

describe('probe purpose as fields', () => {
  it('the fields win over the id, and old verdicts without them still read by id', () => {
    const id = probeId('j1', { kind: 'bisect' }, 'abc123');
    assert.deepEqual(purposeOfVerdict({ probeId: id, phase: 'verify', round: 2 }), { kind: 'verify', round: 2 });
    assert.equal(isVerificationOfRound({ probeId: id, phase: 'verify', round: 2 }, 2), true);
    assert.deepEqual(purposeOfVerdict({ probeId: probeId('j1', { kind: 'verify', round: 3 }, 'ff'), phase: '', round: 0 }), { kind: 'verify', round: 3 });
    assert.deepEqual(purposeOfVerdict({ probeId: probeId('j1', { kind: 'release' }, 'ff'), phase: '', round: 0 }), { kind: 'release' });
    assert.deepEqual(purposeFields({ kind: 'verify', round: 1 }), { phase: 'verify', round: 1 });
    assert.deepEqual(purposeFields({ kind: 'merge-base' }), { phase: 'merge-base', round: 0 });
  });

  it('a job\'s probes carry their phase, and its verdict events the outcome, runs and crashes', async () => {
    const h = generateHistory({ shape: 'linear', commits: 40, seed: 5 });
    const out = await runFarm(h, new Oracle(h, { planted: 23 }), { goods: [h.root], policy: { runsPerProbe: 2 } }, { agents: 2, slots: 1 });
    assert.equal(out.job?.result?.culprit?.hash, h.hashes[23]);
    const dispatched = out.commands.flatMap((c) => (c.type === 'dispatch' ? [c.probe] : []));
    assert.ok(dispatched.length > 0);
    assert.ok(dispatched.every((p) => ['bisect', 'verify'].includes(p.phase)), dispatched.map((p) => p.phase).join(' '));
    assert.ok(dispatched.some((p) => p.phase === 'verify' && p.round === 1));
    const verdicts = out.commands.flatMap((c) => (c.type === 'publish' && c.event.kind === 'verdict' ? [c.event] : []));
    assert.ok(verdicts.length > 0);
    for (const e of verdicts) {
      assert.ok(['crash', 'clean'].includes(e.outcome ?? ''), `outcome ${e.outcome}`);
      assert.equal(e.runs, dispatched.find((p) => p.id === e.probeId)?.runs);
      assert.equal(e.crashes !== undefined && (e.outcome === 'crash') === e.crashes > 0, true);
      assert.ok(['bisect', 'verify'].includes(e.probePhase ?? ''));
    }
  });
});
