import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulate } from '../../../cli/actions/simulate.js';
import { InvalidOptionError } from '../../../shared/errors.js';

describe('multisect simulate --mode fix', () => {
  it('finds planted fixes, clean and flaky', async () => {
    const clean = await simulate({ linear: 500, trials: 10, parallel: 3, mode: 'fix', seed: 3 });
    assert.equal(clean.mode, 'fix');
    assert.equal(clean.summary.accuracy, 1);
    const flaky = await simulate({ linear: 300, trials: 8, parallel: 2, mode: 'fix', repro: 0.5, falseCrash: 0.01, runs: 4, seed: 4 });
    assert.equal(flaky.summary.accuracy, 1);
  });
  it('refuses the baselines, which bisect causes only', async () => {
    await assert.rejects(simulate({ linear: 100, mode: 'fix', baseline: 'syzkaller', repro: 0.5, falseCrash: 0.01 }), (e: unknown) => e instanceof InvalidOptionError && e.field === '--mode');
  });
});
