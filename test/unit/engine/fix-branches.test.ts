import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bisection } from '../../../coordinator/engine/index.js';
import { binomial, prng } from '../../../coordinator/engine/prng.js';
import type { CandidateDag, Decision } from '../../../coordinator/engine/types.js';
import { branchHistory, type BranchHistory, type BranchHistorySpec } from '../../helpers/branch-histories.js';

interface Row {
  name: string;
  spec: BranchHistorySpec;
  /** Per-run crash rate with the bug (default 1) and elsewhere (default 0); runs per probe. */
  repro?: number;
  falseCrash?: number;
  runs?: number;
  parallel?: number;
  /** 'fix': names the planted fix; 'inconclusive': cannot tell, the fix among the suspects. */
  expect: 'fix' | 'inconclusive';
  /** The old model (every candidate taken to have the bug) gets this row wrong. */
  oldWrong?: boolean;
}

// Mainline of 60 commits (tags v1.0, v1.1, ... every 10); the bug comes in at 20, the start
// commit is 25: branches forked at 12 or 15 never had the bug, one forked at 22 has it.
const before = { fork: 12, length: 30, mergeAt: 35 };
const beforeToo = { fork: 15, length: 20, mergeAt: 45 };
const after = { fork: 22, length: 12, mergeAt: 40 };
const base = { mainline: 60, bug: 20, start: 25 };

const rows: Row[] = [
  { name: 'fix on the mainline after a branch forked before the bug is merged', spec: { ...base, branches: [before, beforeToo], fix: { mainline: 40 } }, expect: 'fix', oldWrong: true },
  { name: 'fix on the mainline before that branch is merged', spec: { ...base, branches: [before, beforeToo], fix: { mainline: 30 } }, expect: 'fix', oldWrong: true },
  { name: 'fix is the first mainline commit after the start', spec: { ...base, branches: [before], fix: { mainline: 26 } }, expect: 'fix', oldWrong: true },
  { name: 'fix on a branch forked after the bug', spec: { ...base, branches: [before, after], fix: { branch: 1, at: 2 } }, expect: 'fix' },
  { name: 'fix on the first commit of a branch forked after the bug', spec: { ...base, branches: [after, before], fix: { branch: 0, at: 0 } }, expect: 'fix' },
  { name: 'an old bug: every branch has it, fix on one', spec: { ...base, bug: 3, branches: [before, beforeToo], fix: { branch: 0, at: 4 } }, expect: 'fix' },
  { name: 'flaky reproducer, fix on the mainline', spec: { ...base, branches: [before, beforeToo], fix: { mainline: 40 } }, repro: 0.5, falseCrash: 0.02, runs: 8, expect: 'fix', oldWrong: true },
  { name: 'flaky reproducer, three agents', spec: { ...base, branches: [before, beforeToo, after], fix: { mainline: 50 } }, repro: 0.5, falseCrash: 0.02, runs: 8, parallel: 3, expect: 'fix', oldWrong: true },
  // A fix on a branch that never had the bug: no existing commit tells which of its commits (or
  // its merge) did it; the honest end is "inconclusive", the fix among the suspects.
  { name: 'fix on a branch forked before the bug', spec: { ...base, branches: [before], fix: { branch: 0, at: 3 } }, expect: 'inconclusive', oldWrong: true },
];

async function rangeOf(b: BranchHistory): Promise<CandidateDag> {
  return b.history.repo.loadRange(b.history.tip, [b.start], { firstParent: false });
}

/** Drive a fix bisection to its end with verdicts from the history's oracle. */
function bisect(dag: CandidateDag, b: BranchHistory, row: Row, seed: number): { d: Decision; probes: number } {
  const runs = row.runs ?? 1;
  const q = row.repro ?? 1;
  const eps = row.falseCrash ?? 0;
  const engine = Bisection.create(dag, { mode: 'fix', runsPerProbe: runs, ...(q === 1 && eps === 0 ? { repro: 1, falseCrash: 0 } : {}), seed });
  const rand = prng(seed);
  let probes = 0;
  while (engine.decide().kind === 'continue' && probes < 300) {
    const k = row.parallel ?? 1;
    const next = k > 1 ? engine.proposeMany([], k) : [engine.propose([])].filter((c): c is string => c !== undefined);
    if (next.length === 0) break;
    for (const c of next) {
      const p = b.crashes(c) ? q + (1 - q) * eps : eps;
      engine.apply({ probeId: `p${probes++}`, commit: c, runs, crashes: binomial(rand, runs, p) });
    }
  }
  return { d: engine.decide(), probes };
}

describe('fix bisection across branches forked before the bug', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const b = branchHistory(row.spec);
      const dag = await rangeOf(b);
      for (const seed of [1, 2, 3]) {
        const { d, probes } = bisect(dag, b, row, seed);
        const where = `seed ${seed}, ${probes} probes: ${JSON.stringify(d)}`;
        if (row.expect === 'fix') {
          assert.equal(d.kind, 'culprit', where);
          assert.equal((d as { commit: string }).commit, b.fix, where);
        } else {
          assert.equal(d.kind, 'inconclusive', where);
          assert.ok((d as { commits: string[] }).commits.includes(b.fix), where);
        }
      }
    });
  }

  it('the rows marked oldWrong fail on the old model (no parents outside the range)', async () => {
    // The control that shows the table tests something: the same histories read the old way.
    for (const row of rows.filter((r) => r.oldWrong)) {
      const b = branchHistory(row.spec);
      const { parentHashes: _, ...dag } = await rangeOf(b);
      const { d } = bisect(dag, b, row, 1);
      const right = row.expect === 'fix' ? d.kind === 'culprit' && d.commit === b.fix : d.kind === 'inconclusive';
      assert.ok(!right, `${row.name}: ${JSON.stringify(d)}`);
    }
  });

  it('accepts a verdict on a fork point, and leaves cause mode alone', async () => {
    const b = branchHistory({ ...base, branches: [before], fix: { mainline: 40 } });
    const dag = await rangeOf(b);
    const fork = b.history.hashes[b.main[before.fork]!]!;
    const fix = Bisection.create(dag, { mode: 'fix' });
    assert.equal(fix.apply({ probeId: 'f', commit: fork, runs: 3, crashes: 0 }), true);
    const cause = Bisection.create(dag, { mode: 'cause' });
    assert.throws(() => cause.apply({ probeId: 'f', commit: fork, runs: 3, crashes: 0 }));
  });
});
