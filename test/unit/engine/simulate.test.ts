import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSimulate, roundsBound, simulate } from '../../../cli/actions/simulate.js';
import { InvalidJobError, InvalidOptionError } from '../../../shared/errors.js';

describe('multisect simulate (action)', () => {
  it('reports every trial and a summary, with the bound', async () => {
    const r = await simulate({ linear: 500, trials: 6, parallel: 3, seed: 4 });
    assert.equal(r.candidates, 500);
    assert.equal(r.bound, 5);
    assert.equal(r.trials.length, 6);
    for (const t of r.trials) {
      assert.deepEqual(Object.keys(t).slice(0, 6), ['culprit', 'answer', 'correct', 'probes', 'runs', 'rounds']);
      assert.equal(t.correct, true);
      assert.ok(t.rounds <= r.bound);
    }
    assert.equal(r.summary.accuracy, 1);
    assert.match(renderSimulate(r), /mean rounds/);
    // Same seed, same trials.
    assert.deepEqual((await simulate({ linear: 500, trials: 6, parallel: 3, seed: 4 })).trials, r.trials);
  });
  it('runs the syzkaller baseline on the same culprits', async () => {
    const r = await simulate({ linear: 300, trials: 5, repro: 0.5, falseCrash: 0.01, runs: 8, baseline: 'syzkaller', seed: 2 });
    assert.deepEqual(r.baseline!.trials.map((t) => t.culprit), r.trials.map((t) => t.culprit));
    assert.ok(r.ratio!.runs > 0);
    assert.match(renderSimulate(r), /syzkaller/);
  });
  it('plants a given culprit: a position or a hash', async () => {
    const r = await simulate({ linear: 100, culprit: '37' });
    assert.equal(r.trials.length, 1);
    assert.equal(r.trials[0]!.culprit, (37).toString(16).padStart(40, '0'));
    assert.equal(r.trials[0]!.answer, r.trials[0]!.culprit);
  });
  it('refuses bad flags, naming them', async () => {
    const flag = (f: string) => (e: unknown) => (e instanceof InvalidOptionError || e instanceof InvalidJobError) && e.field === f;
    await assert.rejects(simulate({}), flag('--linear'));
    await assert.rejects(simulate({ linear: 10, repo: '.' }), flag('--linear'));
    await assert.rejects(simulate({ linear: 10, trials: 0 }), flag('--trials'));
    await assert.rejects(simulate({ linear: 10, culprit: '3', trials: 4 }), flag('--trials'));
    await assert.rejects(simulate({ linear: 10, culprit: '11' }), flag('culprit'));
    await assert.rejects(simulate({ linear: 10, repro: 0.2, falseCrash: 0.3 }), flag('--false-crash'));
    await assert.rejects(simulate({ linear: 10, baseline: 'git-bisect' }), flag('--baseline'));
    await assert.rejects(simulate({ repo: '.', bad: 'HEAD', good: ['HEAD~1'], repro: 0.5, baseline: 'git-bisect' }), flag('--baseline'));
    await assert.rejects(simulate({ repo: '.', good: ['x'] }), flag('--bad'));
  });
  it('computes ceil(log_{k+1} n) exactly at powers', () => {
    assert.equal(roundsBound(7562, 1), 13);
    assert.equal(roundsBound(7562, 3), 7);
    assert.equal(roundsBound(7562, 7), 5);
    assert.equal(roundsBound(7562, 15), 4);
    assert.equal(roundsBound(7562, 31), 3);
    assert.equal(roundsBound(1024, 1), 10);
    assert.equal(roundsBound(1025, 1), 11);
  });
});
