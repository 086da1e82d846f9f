import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBuildCostFlag, parseDurationFlag } from '../../../cli/duration-flags.js';
import { InvalidOptionError } from '../../../shared/errors.js';

/** The error names the flag and says what format is expected. */
const formatError = (flag: string, format: RegExp) => (e: unknown) => e instanceof InvalidOptionError && e.field === flag && format.test(e.message);

describe('parseDurationFlag', () => {
  const good: [string, number][] = [
    ['354', 354_000],
    ['0', 0],
    ['0.5', 500],
    ['11s', 11_000],
    ['4m', 240_000],
    ['5m54s', 354_000],
    ['9m24s', 564_000],
    ['1h30m', 5_400_000],
    ['1h', 3_600_000],
    ['1h2m3s', 3_723_000],
    ['1.5h', 5_400_000],
    [' 9m24s ', 564_000],
  ];
  for (const [raw, ms] of good) it(`reads ${JSON.stringify(raw)} as ${ms} ms`, () => assert.equal(parseDurationFlag('--test-cost', raw), ms));

  const bad = ['', ' ', 'abc', '5x', '-5', '1h30', '30s5m', '5 m', 'm', '1e3', '5ms', '5m54s,11s'];
  for (const raw of bad) {
    it(`refuses ${JSON.stringify(raw)}, naming the flag and the format`, () => {
      assert.throws(() => parseDurationFlag('--test-cost', raw), formatError('--test-cost', /must be a duration like 5m54s, 11s, 1h30m or plain seconds/));
    });
  }
});

describe('parseBuildCostFlag', () => {
  const good: [string, { fullMs: number; incrementalMs: number }][] = [
    ['5m54s,11s', { fullMs: 354_000, incrementalMs: 11_000 }],
    ['240,11', { fullMs: 240_000, incrementalMs: 11_000 }],
    ['4m, 11s', { fullMs: 240_000, incrementalMs: 11_000 }],
  ];
  for (const [raw, cost] of good) it(`reads ${JSON.stringify(raw)}`, () => assert.deepEqual(parseBuildCostFlag('--build-cost', raw), cost));

  const wrongShape = ['5m54s', '1,2,3', ''];
  for (const raw of wrongShape) {
    it(`refuses ${JSON.stringify(raw)}: not FULL,INCREMENTAL`, () => {
      assert.throws(() => parseBuildCostFlag('--build-cost', raw), formatError('--build-cost', /must be FULL,INCREMENTAL, two durations like 5m54s,11s/));
    });
  }
  const badDuration = ['5m,', 'x,11s', '4m,1q'];
  for (const raw of badDuration) {
    it(`refuses ${JSON.stringify(raw)}: a part is no duration`, () => {
      assert.throws(() => parseBuildCostFlag('--build-cost', raw), formatError('--build-cost', /must be a duration like/));
    });
  }
});
