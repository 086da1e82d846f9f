import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSimulate, simulate } from '../../../cli/actions/simulate.js';
import { spread, SEED_BISECTION } from '../../../cli/actions/simulate-projection.js';
import { InvalidOptionError } from '../../../shared/errors.js';

const full = 240_000;
const incremental = 11_000;
const test = 60_000;

describe('multisect simulate --build-cost --test-cost (action)', () => {
  it('projects every trial and sums them up beside the seed', async () => {
    const r = await simulate({ linear: 500, trials: 6, parallel: 4, seed: 4, buildCost: { fullMs: full, incrementalMs: incremental }, testCostMs: test });
    const p = r.projection!;
    assert.match(p.note, /projection from the given build and test costs/);
    assert.deepEqual(p.costs, { fullBuildMs: full, incrementalBuildMs: incremental, testMs: test, verifyTestMs: 2 * test, verifyRuns: 2 });
    for (const t of r.trials) {
      assert.equal(t.correct, true);
      const tp = t.projection!;
      // k=4 verifies the culprit and its parent in one round.
      assert.equal(tp.rounds, t.rounds + 1);
      // Round one waits for full builds, later ones for incremental; verification builds at most
      // one commit the trial did not probe.
      const bisectMs = full + test + (t.rounds - 1) * (incremental + test);
      assert.ok([bisectMs + 2 * test, bisectMs + incremental + 2 * test].includes(tp.wallMs), `wall ${tp.wallMs}`);
      assert.equal(tp.allFullWallMs, t.rounds * (full + test) + full + 2 * test);
    }
    assert.deepEqual(p.rounds, spread(r.trials.map((t) => t.projection!.rounds)));
    assert.deepEqual(p.wallMs, spread(r.trials.map((t) => t.projection!.wallMs)));
    assert.deepEqual(p.allFullWallMs, spread(r.trials.map((t) => t.projection!.allFullWallMs)));
    assert.equal(p.seed.wallMs, SEED_BISECTION.wallMs);
    assert.equal(p.seed.sameRangeSize, false);
    assert.equal(p.seed.speedup.withAffinity, SEED_BISECTION.wallMs / p.wallMs.mean);
    const text = renderSimulate(r);
    assert.match(text, /projected wall time: a projection from the given build and test costs, not a measurement/);
    assert.match(text, /seed: syzbot's bisection, one commit at a time, 7562 revisions, 16 builds \(1h34m building\): 4h04m; a reference only: this range has 500/);
    assert.match(text, /seed \/ projected +\d+\.\d\dx with affinity \+ cache, \d+\.\d\dx every build full/);
  });
  it('projects nothing without the costs', async () => {
    const r = await simulate({ linear: 100, trials: 2 });
    assert.equal(r.projection, undefined);
    assert.equal(r.trials[0]!.projection, undefined);
    assert.doesNotMatch(renderSimulate(r), /projected/);
  });
  it('refuses one cost without the other, and inconsistent costs, naming the flag', async () => {
    const flag = (f: string) => (e: unknown) => e instanceof InvalidOptionError && e.field === f;
    await assert.rejects(simulate({ linear: 10, buildCost: { fullMs: full, incrementalMs: incremental } }), flag('--test-cost'));
    await assert.rejects(simulate({ linear: 10, testCostMs: test }), flag('--build-cost'));
    await assert.rejects(simulate({ linear: 10, buildCost: { fullMs: incremental, incrementalMs: full }, testCostMs: test }), flag('--build-cost'));
    await assert.rejects(simulate({ linear: 10, buildCost: { fullMs: full, incrementalMs: incremental }, testCostMs: -1 }), flag('--test-cost'));
  });
});

describe('spread', () => {
  it('gives mean, nearest-rank p90 and max', () => {
    assert.deepEqual(spread([]), { mean: 0, p90: 0, max: 0 });
    assert.deepEqual(spread([5]), { mean: 5, p90: 5, max: 5 });
    assert.deepEqual(spread([10, 1, 2, 3, 4, 5, 6, 7, 8, 9]), { mean: 5.5, p90: 9, max: 10 });
  });
});
