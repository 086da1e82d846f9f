import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate, renderCalibration } from '../../../cli/actions/calibration.js';
import { renderSimulate, simulate } from '../../../cli/actions/simulate.js';

const row = (confidence: number | undefined, correct: boolean, answer: string | null = 'a') => ({ answer, correct, confidence });

describe('calibration buckets', () => {
  it('buckets named culprits by stated confidence, edges included below, 1 in the last', () => {
    const b = calibrate([row(0.5, false), row(0.9, true), row(0.949, false), row(0.95, true), row(0.99, true), row(1, true), row(0.995, false)]);
    assert.deepEqual(
      b.map((x) => [x.lo, x.hi, x.named, x.right]),
      [
        [0, 0.9, 1, 0],
        [0.9, 0.95, 2, 1],
        [0.95, 0.99, 1, 1],
        [0.99, 1, 3, 2],
      ],
    );
    assert.deepEqual(b.map((x) => x.share), [0, 0.5, 1, 2 / 3]);
  });
  it('leaves out trials that named nothing, and says null where nothing was named', () => {
    const b = calibrate([row(0.999, false, null), row(undefined, false), row(0.999, true)]);
    assert.deepEqual(b.map((x) => x.named), [0, 0, 0, 1]);
    assert.deepEqual(b.map((x) => x.share), [null, null, null, 1]);
    assert.deepEqual(renderCalibration(calibrate([])), ['  (no culprit named)']);
    assert.match(renderCalibration(b)[0]!, /^\s+\[0\.99, 1\]\s+named\s+1\s+right\s+1 \(1\.000\)$/);
  });
  it('is in the simulate report, text and JSON, and the engine learns Q unless told', async () => {
    const r = await simulate({ linear: 200, trials: 6, repro: 0.5, falseCrash: 0.02, runs: 6, seed: 3 });
    assert.equal(r.tellEngine, false);
    assert.equal(r.calibration.reduce((a, b) => a + b.named, 0), r.trials.filter((t) => t.answer !== null).length);
    assert.match(renderSimulate(r), /calibration[\s\S]*\[0\.99, 1\]/);
    assert.match(renderSimulate(r), /learns Q and EPS/);
    const told = await simulate({ linear: 200, trials: 2, repro: 0.5, falseCrash: 0.02, runs: 6, seed: 3, tellEngine: true });
    assert.equal(told.tellEngine, true);
    assert.equal((await simulate({ linear: 50, trials: 1, seed: 1 })).tellEngine, true, 'a clean reproducer is said to be clean');
    assert.ok(JSON.parse(JSON.stringify(r)).calibration.length === 4);
  });
});
