/**
 * The engine on a real repository made with git: the DAG as loaded by `git rev-list`, probes
 * answered by looking for the planted file in the real commits, compared with `git bisect run`
 * on the same repository.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simulate } from '../../cli/actions/simulate.js';
import { loadCandidateDag } from '../../coordinator/dag-loader.js';
import { Bisection } from '../../coordinator/engine/index.js';
import { mergeHeavyShape } from '../../coordinator/engine/synthetic.js';
import type { CandidateDag } from '../../coordinator/engine/types.js';
import { InvalidJobError } from '../../shared/errors.js';
import { git } from '../../shared/git.js';
import { makeRepo, MALLOC_ENV, type Repo } from '../helpers/git-repo.js';

async function hasBug(dir: string, commit: string): Promise<boolean> {
  return (await git(dir, ['cat-file', '-e', `${commit}:BUG`], { check: false })).code === 0;
}

/** Bisect with the engine, K probes per round, answering from the repository. */
async function engineBisect(repo: Repo, dag: CandidateDag, k: number): Promise<{ answer: string | undefined; probes: number; rounds: number }> {
  const b = Bisection.create(dag, { repro: 1, falseCrash: 0, confirmBad: k > 1 });
  let probes = 0;
  let rounds = 0;
  while (b.decide().kind === 'continue' && rounds < 40) {
    const batch = k === 1 ? [b.propose([])!] : b.proposeMany([], k);
    rounds++;
    for (const c of batch) {
      b.apply({ probeId: `p${probes++}`, commit: c, runs: 1, crashes: (await hasBug(repo.dir, c)) ? 1 : 0 });
    }
  }
  const d = b.decide();
  return { answer: d.kind === 'culprit' ? d.commit : undefined, probes, rounds };
}

/** The real git bisect run, with checkouts, on the test's own repository. */
async function gitBisect(repo: Repo, opts: { firstParent?: boolean } = {}): Promise<{ answer: string; tests: number }> {
  const env = MALLOC_ENV;
  await git(repo.dir, ['bisect', 'reset'], { check: false, env });
  await git(repo.dir, ['bisect', 'start', ...(opts.firstParent ? ['--first-parent'] : []), repo.bad, repo.good], { env });
  await git(repo.dir, ['bisect', 'run', 'sh', '-c', 'test ! -e BUG'], { env });
  const log = (await git(repo.dir, ['bisect', 'log'], { env })).stdout;
  await git(repo.dir, ['bisect', 'reset'], { env });
  const m = /^# first bad commit: \[([0-9a-f]+)\]/m.exec(log);
  assert.ok(m, log);
  return { answer: m[1]!, tests: log.split('\n').filter((l) => /^git bisect (good|bad|skip) /.test(l)).length };
}

describe('engine on a real git repository', () => {
  const repos: Repo[] = [];
  before(async () => {
    // A topic commit and a mainline one as culprits, in a kernel-like history.
    const shape = { commits: 300, merges: 36, seed: 3 };
    const parents = mergeHeavyShape(shape);
    const mainline = new Set<number>();
    for (let x = parents.length - 1; x > 0; x = parents[x]![0]!) mainline.add(x);
    const plain = (x: number) => parents[x]!.length === 1;
    const topic = parents.findIndex((_, x) => x >= 120 && plain(x) && !mainline.has(x));
    const main = parents.findIndex((_, x) => x >= 200 && plain(x) && mainline.has(x));
    for (const plant of [topic, main]) repos.push(await makeRepo({ ...shape, plant }));
    repos.push(await makeRepo({ commits: 300, seed: 3, plant: 211 }));
  });
  after(async () => {
    for (const r of repos) await r.dispose();
  });

  it('loads the candidate DAG with git rev-list', async () => {
    const repo = repos[0]!;
    const dag = await loadCandidateDag(repo.dir, 'main', [repo.good]);
    assert.equal(dag.hashes.length, 299);
    assert.deepEqual(new Set(dag.hashes), new Set(repo.hashes.slice(1)));
    assert.equal(dag.hashes[dag.bad], repo.bad);
    assert.deepEqual(dag.goods, [repo.good]);
    const id = new Map(dag.hashes.map((h, i) => [h, i]));
    for (let x = 1; x < repo.parents.length; x++) {
      const i = id.get(repo.hashes[x]!)!;
      assert.equal(dag.parentCount[i], repo.parents[x]!.length);
      assert.deepEqual(dag.parents[i], repo.parents[x]!.filter((p) => p > 0).map((p) => id.get(repo.hashes[p]!)));
      for (const p of dag.parents[i]!) assert.ok(p < i, 'parents first');
    }
    assert.match(dag.subjects![dag.bad]!, /change|Merge/);
  });

  it('names the same culprit as git bisect run, with as many tests (±1 on a linear history)', async () => {
    for (const [i, repo] of repos.entries()) {
      const dag = await loadCandidateDag(repo.dir, repo.bad, [repo.good]);
      const ours = await engineBisect(repo, dag, 1);
      const theirs = await gitBisect(repo);
      assert.equal(theirs.answer, repo.culprit);
      assert.equal(ours.answer, repo.culprit);
      // On merges, equally good halving points are chosen differently: either may get lucky.
      const slack = i === 2 ? 1 : 2;
      assert.ok(Math.abs(ours.probes - theirs.tests) <= slack, `${ours.probes} probes, git bisect ${theirs.tests}`);
      const k3 = await engineBisect(repo, dag, 3);
      assert.equal(k3.answer, repo.culprit);
      assert.ok(k3.rounds < theirs.tests, `k=3: ${k3.rounds} rounds`);
    }
  });

  it('with --first-parent names the merge git bisect --first-parent names', async () => {
    const repo = repos[0]!;
    const dag = await loadCandidateDag(repo.dir, repo.bad, [repo.good], { firstParent: true });
    assert.ok(dag.hashes.length < 299);
    for (const ps of dag.parents) assert.ok(ps.length <= 1);
    const ours = await engineBisect(repo, dag, 1);
    const theirs = await gitBisect(repo, { firstParent: true });
    assert.notEqual(theirs.answer, repo.culprit, 'the culprit is on a topic branch: its merge is named');
    assert.equal(ours.answer, theirs.answer);
  });

  it('simulate --baseline git-bisect runs the real git bisect on the same culprits', async () => {
    const repo = repos[1]!;
    const r = await simulate({ repo: repo.dir, bad: repo.bad, good: [repo.good], trials: 4, seed: 2, baseline: 'git-bisect' });
    assert.equal(r.summary.accuracy, 1);
    assert.equal(r.baseline!.summary.accuracy, 1);
    assert.deepEqual(r.baseline!.trials.map((t) => t.culprit), r.trials.map((t) => t.culprit));
    assert.ok(r.ratio!.probes <= 1.2, JSON.stringify(r.ratio));
  });

  it('refuses bad input with a clear error naming the field', async () => {
    const repo = repos[0]!;
    const field = (f: string, re?: RegExp) => (e: unknown) => e instanceof InvalidJobError && e.field === f && (!re || re.test(e.message + (e.hint ?? '')));
    await assert.rejects(loadCandidateDag(repo.dir, 'no-such-branch', [repo.good]), field('bad', /unknown revision/));
    await assert.rejects(loadCandidateDag(repo.dir, repo.bad, ['--output=/tmp/x']), field('good'));
    await assert.rejects(loadCandidateDag(repo.dir, repo.bad, []), field('good'));
    // A topic tip is not an ancestor of the mainline commit just before its merge, nor (when the
    // topic forked earlier) a descendant: git would test their merge base.
    const anc = (x: number): Set<number> => {
      const s = new Set([x]);
      const stack = [x];
      while (stack.length > 0) {
        for (const p of repo.parents[stack.pop()!]!) {
          if (!s.has(p)) {
            s.add(p);
            stack.push(p);
          }
        }
      }
      return s;
    };
    const m = repo.parents.findIndex((ps) => ps.length > 1 && !anc(ps[1]!).has(ps[0]!));
    assert.ok(m > 0);
    const [before, topicTip] = repo.parents[m]! as [number, number];
    await assert.rejects(loadCandidateDag(repo.dir, repo.hashes[before]!, [repo.hashes[topicTip]!]), field('good', /not an ancestor of bad.*merge base is [0-9a-f]{40}/));
    await assert.rejects(loadCandidateDag(repo.dir, repo.good, [repo.bad]), field('good', /swapped/));
    await assert.rejects(loadCandidateDag(repo.dir, repo.bad, [repo.bad]), field('good', /empty/));
    await assert.rejects(simulate({ repo: repo.dir, bad: repo.bad, good: [repo.hashes[100]!], culprit: repo.hashes[50]! }), field('culprit', /not in the range/));
  });
});
