/**
 * Answers a kernel developer can trust, end to end: a table of jobs run through the real CLI on a
 * local farm (real nats-server, gRPC, git, agents as child processes) with the `script` recipe, on
 * one generated git history shaped like a kernel tree:
 *
 *   main:    m0 v1.0 - m1 - m2 - m3 v2.0 - m4 - m5 (BUG) - m6 v3.0 - m7 - m8 - m9 (merge t) - m10 v4.0 - m11 (FIX) - m12 - m13
 *   topic t: forked from v1.0 (t1, t2), merged at m9 (never had the bug)
 *   stable:  forked from v3.0 (s1, s2): has the bug, like upstream at v3.0
 *   vendor:  forked from v1.0 (w1, w2 adds its own BUG, w3)
 *   picked:  forked from v1.0, one commit titled like m2 (a cherry-pick: that title is ambiguous)
 *
 * One job's build writes the same artifact for every commit: its culprit is flagged.
 *
 * Markers in the tree make commits misbehave: m6 (v3.0) carries V3 (a build that refuses it),
 * m5 carries PARTIAL (most test runs skip). Test scripts inject crashes that say nothing about the
 * kernel ("lost connection to test machine") in one run of three. Every job is submitted at
 * once and the farm runs them side by side; each row then checks its own answer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startTestFarm, type TestFarm } from '../helpers/farm.js';
import { bisectToEnd, type JobJson } from '../helpers/farm-jobs.js';

interface AnswerJson extends JobJson {
  goods?: string[];
  untestable?: { commit: string; role: string; reason: string; tag?: string; probes: string[] };
  crossTree?: { mergeBase: string; outcome: string };
  refNotes?: string[];
  releases?: { tag: string; outcome: string }[];
  flags?: string[];
}

/** A history made with plain git commands; commit subjects are the node names. */
interface Tree {
  dir: string;
  at: Record<string, string>;
}

const IDENT = { GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@multisect.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@multisect.invalid' };

function makeTree(dir: string): Tree {
  let tick = 0;
  const run = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: { ...process.env, ...IDENT, GIT_AUTHOR_DATE: `${1_700_000_000 + tick} +0000`, GIT_COMMITTER_DATE: `${1_700_000_000 + tick++} +0000` } }).toString().trim();
  const at: Record<string, string> = {};
  const commit = (name: string, change: { add?: string[]; remove?: string[] } = {}) => {
    execFileSync('sh', ['-c', `echo ${name} > file-${name}`], { cwd: dir });
    for (const f of change.add ?? []) execFileSync('sh', ['-c', `echo ${name} > ${f}`], { cwd: dir });
    for (const f of change.remove ?? []) run('rm', '-q', f);
    run('add', '-A');
    run('commit', '-q', '-m', name);
    at[name] = run('rev-parse', 'HEAD');
  };
  run('init', '-q', '-b', 'main');
  commit('m0');
  run('tag', 'v1.0');
  commit('m1');
  commit('m2');
  commit('m3');
  run('tag', 'v2.0');
  commit('m4');
  commit('m5', { add: ['BUG', 'PARTIAL'] });
  commit('m6', { add: ['V3'], remove: ['PARTIAL'] });
  run('tag', 'v3.0');
  commit('m7', { remove: ['V3'] });
  commit('m8');
  run('checkout', '-q', '-b', 'topic', 'v1.0');
  commit('t1');
  commit('t2');
  run('checkout', '-q', 'main');
  run('merge', '-q', '--no-ff', '-m', 'm9', 'topic');
  at.m9 = run('rev-parse', 'HEAD');
  commit('m10');
  run('tag', 'v4.0');
  commit('m11', { add: ['FIX'] });
  commit('m12');
  commit('m13');
  run('checkout', '-q', '-b', 'stable', 'v3.0');
  commit('s1', { remove: ['V3'] });
  commit('s2');
  run('checkout', '-q', '-b', 'vendor', 'v1.0');
  commit('w1');
  commit('w2', { add: ['BUG'] });
  commit('w3');
  // A commit elsewhere that took another's title (a cherry-pick): that title is ambiguous.
  run('checkout', '-q', '-b', 'picked', 'v1.0');
  run('commit', '-q', '--allow-empty', '-m', 'm2');
  run('checkout', '-q', 'main');
  return { dir, at };
}

/** The bug shows where BUG is and FIX is not. */
const HAS_BUG = '[ -e BUG ] && [ ! -e FIX ]';

/** Test scripts, each a file run as `sh FILE` in the worktree. */
const SCRIPTS: Record<string, string> = {
  plain: `if ${HAS_BUG}; then echo "CRASH: BUG: planted regression"; exit 1; fi; exit 0\n`,
  // One run in three loses its connection, whatever the commit: no evidence either way.
  lossy: `if [ "$MULTISECT_RUN" = 2 ]; then echo "CRASH: lost connection to test machine"; exit 1; fi\nif ${HAS_BUG}; then echo "CRASH: BUG: planted regression"; exit 1; fi; exit 0\n`,
  // On the commit carrying PARTIAL, only the first 4 runs of 10 complete (and pass).
  partial: `if [ -e PARTIAL ]; then [ "$MULTISECT_RUN" -lt 4 ] && exit 0; exit 125; fi\nif ${HAS_BUG}; then echo "CRASH: BUG: planted regression"; exit 1; fi; exit 0\n`,
};

interface Row {
  name: string;
  args: (t: Tree) => string[];
  script: keyof typeof SCRIPTS;
  check: (t: Tree, job: AnswerJson, log: string) => void;
}

const rows: Row[] = [
  {
    name: 'cause without a good commit: walks v3.0 (crashes) to v2.0 (clean), across a merged topic branch, lost connections not counted',
    args: (t) => ['--bad', t.at.m10!, '--runs', '3'],
    script: 'lossy',
    check: (t, job) => {
      assert.equal(job.state, 'succeeded', job.reason);
      assert.equal(job.culprit?.hash, t.at.m5);
      assert.deepEqual(job.releases?.map((r) => `${r.tag}:${r.outcome}`).slice(0, 2), ['v3.0:crashed', 'v2.0:clean']);
    },
  },
  {
    name: 'fix: one run in three loses its connection: the fix is found, not "the tip still crashes"',
    args: (t) => ['--mode', 'fix', '--good', t.at.m9!, '--bad', t.at.m13!, '--runs', '3'],
    script: 'lossy',
    check: (t, job) => {
      assert.equal(job.state, 'succeeded', job.reason);
      assert.equal(job.culprit?.hash, t.at.m11);
    },
  },
  {
    name: 'untestable: the oldest release allowed cannot be built: an error naming it, not "already had the bug"',
    args: (t) => ['--bad', t.at.m10!, '--oldest-release', 'v3.0', '--build', 'sh -c "test ! -e V3"'],
    script: 'plain',
    check: (t, job) => {
      assert.equal(job.state, 'failed', job.reason);
      assert.match(job.reason ?? '', /the oldest release v3\.0 \(\w{12}\) could not be tested .*logs: multisect logs \S+ --probe /);
      assert.equal(job.untestable?.role, 'release');
      assert.equal(job.untestable?.tag, 'v3.0');
      assert.equal(job.untestable?.commit, t.at.m6);
    },
  },
  {
    name: 'untestable: a fix job whose tip cannot be built ends at once',
    args: (t) => ['--mode', 'fix', '--good', t.at.m5!, '--bad', t.at.m6!, '--build', 'sh -c "test ! -e V3"'],
    script: 'plain',
    check: (t, job) => {
      assert.equal(job.state, 'failed', job.reason);
      assert.match(job.reason ?? '', /the tip \w{12} cannot be tested: it cannot be built/);
      assert.deepEqual({ commit: job.untestable?.commit, role: job.untestable?.role }, { commit: t.at.m6, role: 'tip' });
    },
  },
  {
    name: 'partial: the culprit completes 4 runs of 10: no evidence, tested again, then a skip (not taken as clean)',
    args: (t) => ['--good', t.at.m3!, '--bad', t.at.m8!, '--runs', '10'],
    script: 'partial',
    check: (t, job, log) => {
      assert.notEqual(job.culprit?.hash, t.at.m6, 'the commit after the partial one is not named');
      assert.equal(job.state, 'inconclusive', job.reason);
      assert.ok(job.suspects?.some((s) => s.hash === t.at.m5), 'the partial commit is among the suspects');
      assert.match(log, /only 4 of 10 runs completed/);
    },
  },
  {
    name: 'cross-tree: a bug on a stable branch off v3.0 is fixed upstream by m11',
    args: () => ['--mode', 'fix', '--good', 'stable', '--bad', 'main', '--cross-tree'],
    script: 'plain',
    check: (t, job) => {
      assert.equal(job.state, 'succeeded', job.reason);
      assert.equal(job.culprit?.hash, t.at.m11);
      assert.deepEqual(job.crossTree, { mergeBase: t.at.m6, outcome: 'crashed' });
      assert.deepEqual(job.goods, [t.at.s2]);
    },
  },
  {
    name: 'cross-tree: a bug that came with a vendor branch off v1.0: no upstream fix to find',
    args: (t) => ['--mode', 'fix', '--good', t.at.w3!, '--bad', t.at.m13!, '--cross-tree'],
    script: 'plain',
    check: (t, job) => {
      assert.equal(job.state, 'not_in_range', job.reason);
      assert.match(job.reason ?? '', /the bug came with the branch: no upstream fix to find/);
      assert.deepEqual(job.crossTree, { mergeBase: t.at.m0, outcome: 'clean' });
    },
  },
  {
    name: 'same binary: the culprit builds the same artifact as its parent: named, and flagged as doubtful',
    args: (t) => ['--good', t.at.m3!, '--bad', t.at.m8!, '--build', 'sh -c "echo same > out.bin"', '--param', 'artifact=out.bin'],
    script: 'plain',
    check: (t, job) => {
      assert.equal(job.state, 'succeeded', job.reason);
      assert.equal(job.culprit?.hash, t.at.m5);
      assert.ok(job.flags?.some((f) => /same artifact as its parent/.test(f)), JSON.stringify(job.flags));
    },
  },
  {
    name: 'rewritten: the bad hash is gone, the commit is found by its title',
    args: (t) => ['--good', t.at.m3!, '--bad', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', '--bad-title', 'm8'],
    script: 'plain',
    check: (t, job, log) => {
      assert.equal(job.state, 'succeeded', job.reason);
      assert.equal(job.culprit?.hash, t.at.m5);
      assert.match(job.refNotes?.join('\n') ?? '', /found by its title "m8" as \w{12}/);
      assert.match(log, /found by its title "m8"/);
    },
  },
];

describe('answers: a table of jobs through the CLI on a local farm', { timeout: 240_000 }, () => {
  let farm: TestFarm;
  let work: string;
  let tree: Tree;
  const results = new Map<string, Promise<{ job: AnswerJson; log: string }>>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'multisect-answers-'));
    const dir = join(work, 'repo');
    execFileSync('mkdir', ['-p', dir]);
    tree = makeTree(dir);
    for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(join(work, `${name}.sh`), text);
    // The coordinator and agents agent-1, agent-2 (2 slots each) start with the farm.
    farm = await startTestFarm({ agents: 2, slots: 2 });
    // All at once: the farm interleaves them (and each row waits for its own).
    for (const row of rows) {
      const args = ['bisect', '--repo', tree.dir, ...row.args(tree), '--test', `sh ${join(work, `${row.script}.sh`)}`];
      const p = bisectToEnd(farm, args, row.name.split(':')[0]!, 200_000) as Promise<{ job: AnswerJson; log: string }>;
      p.catch(() => undefined); // reported by its own row
      results.set(row.name, p);
    }
  });

  after(async () => {
    await farm?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses an ambiguous title with a clear error', async () => {
    const r = await runCli(['bisect', '--repo', tree.dir, '--bad', 'feedfacefeedfacefeedfacefeedfacefeedface', '--bad-title', 'm2', '--good', tree.at.m0!, '--test', 'true', '--no-wait', '--json', '--coordinator', farm.address]);
    assert.notEqual(r.code, 0);
    const error = (JSON.parse(r.stdout) as { error: { field: string; message: string; hint: string } }).error;
    assert.equal(error.field, 'bad_title');
    assert.match(error.message, /the title "m2" names 2 commits \(\w{12}, \w{12}\): it does not say which one is meant/);
    assert.match(error.hint, /current hash/);
  });

  for (const row of rows) {
    it(row.name, async () => {
      const { job, log } = await results.get(row.name)!;
      row.check(tree, job, log);
    });
  }
});
