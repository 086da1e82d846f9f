/**
 * Fix jobs through the JobRun reducer on histories with topic branches forked before the bug
 * came in and merged after the start commit (test/helpers/branch-histories.ts): the branch
 * never crashes because it never had the bug, which must not read as "fixed".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobState } from '../../../shared/proto.js';
import { branchHistory, branchOracle, type BranchHistorySpec } from '../../helpers/branch-histories.js';
import { runFarm, type FarmSpec } from '../../helpers/job-run-farm.js';

interface Row {
  name: string;
  spec: BranchHistorySpec;
  repro?: number;
  falseCrash?: number;
  runs?: number;
  farm: FarmSpec;
  expect: 'fix' | 'inconclusive';
  maxProbes: number;
}

const base = { mainline: 60, bug: 20, start: 25 };
const before = { fork: 12, length: 30, mergeAt: 35 };
const beforeToo = { fork: 15, length: 20, mergeAt: 45 };
const after = { fork: 22, length: 12, mergeAt: 40 };

const rows: Row[] = [
  { name: 'fix on the mainline, branches forked before the bug', spec: { ...base, branches: [before, beforeToo], fix: { mainline: 40 } }, farm: { agents: 1, slots: 1 }, expect: 'fix', maxProbes: 30 },
  { name: 'fix right after the start, two agents', spec: { ...base, branches: [before, beforeToo], fix: { mainline: 26 } }, farm: { agents: 2, slots: 1 }, expect: 'fix', maxProbes: 45 },
  { name: 'fix on a branch forked after the bug', spec: { ...base, branches: [before, after], fix: { branch: 1, at: 5 } }, farm: { agents: 2, slots: 2 }, expect: 'fix', maxProbes: 40 },
  {
    name: 'flaky reproducer, fix on the mainline',
    spec: { ...base, branches: [before, beforeToo, after], fix: { mainline: 50 } },
    repro: 0.5,
    falseCrash: 0.02,
    runs: 8,
    farm: { agents: 2, slots: 2 },
    expect: 'fix',
    maxProbes: 80,
  },
  { name: 'fix on a branch that never had the bug', spec: { ...base, branches: [before], fix: { branch: 0, at: 3 } }, farm: { agents: 1, slots: 1 }, expect: 'inconclusive', maxProbes: 40 },
];

describe('JobRun: fix jobs across branches forked before the bug', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const b = branchHistory(row.spec);
      const oracle = branchOracle(b, { repro: row.repro, falseCrash: row.falseCrash, seed: 5 });
      const r = await runFarm(b.history, oracle, { mode: 'fix', goods: [b.start], policy: { runsPerProbe: row.runs ?? 1 } }, row.farm);
      assert.equal(r.error, undefined);
      const job = r.job!;
      const result = job.result!;
      assert.ok(!r.stalled, `stalled: ${JSON.stringify(result)}`);
      assert.ok(r.probes <= row.maxProbes, `${r.probes} probes`);
      if (row.expect === 'fix') {
        assert.equal(JobState[job.state], JobState[JobState.JOB_STATE_SUCCEEDED], result.reason);
        assert.equal(result.culprit?.hash, b.fix, `named ${result.culprit?.subject}`);
      } else {
        assert.equal(JobState[job.state], JobState[JobState.JOB_STATE_INCONCLUSIVE], result.reason);
        assert.ok(result.suspects.some((s) => s.hash === b.fix), 'the fix is among the suspects');
      }
    });
  }
});
