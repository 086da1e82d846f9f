/**
 * The job as a pure state machine (coordinator/job-run/): a table of jobs, each a generated
 * history (release tags, merges, side branches), an oracle (which commits crash and how often,
 * which cannot be built or booted, which agents are broken), the job's options, the farm, a script
 * of trouble (duplicate and late verdicts, leases running out, hand-backs, cancellation, restarts),
 * and the expected end with the probes it may use. A restart rebuilds the run by replaying the
 * stored verdicts; the replayed state must equal the live one. No server: it runs in seconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobState } from '../../../shared/proto.js';
import { generateHistory, Oracle, type GeneratedHistory, type HistorySpec, type OracleSpec } from '../../helpers/job-histories.js';
import { runFarm, type FarmOutcome, type FarmSpec, type JobOptions, type Script } from '../../helpers/job-run-farm.js';

type Expect =
  | { state: 'succeeded'; culprit: 'planted' | number; flags?: RegExp[]; rounds?: number }
  | { state: 'inconclusive'; reason: RegExp; suspectsInclude?: 'planted' }
  | { state: 'not-in-range'; reason: RegExp }
  | { state: 'failed'; reason: RegExp }
  | { state: 'cancelled' }
  | { error: RegExp };

interface Row {
  name: string;
  history: HistorySpec;
  /** `planted` may be given as a function of the history (a node on a topic branch...). */
  oracle: Omit<OracleSpec, 'planted'> & { planted?: number | ((h: GeneratedHistory) => number) };
  /** Oracle fields that depend on the history (nodes picked from it), merged over `oracle`. */
  oracleFor?: (h: GeneratedHistory) => Partial<OracleSpec>;
  job?: (h: GeneratedHistory) => JobOptions;
  farm?: FarmSpec;
  script?: Script;
  expect: Expect;
  /** Probes the job may dispatch in all (bad commit, release tags, bisection, verification). */
  maxProbes: number;
  /** More to check on the outcome (result fields, the probes of one commit...). */
  check?: (h: GeneratedHistory, r: FarmOutcome) => void;
}

const L40: HistorySpec = { shape: 'linear', commits: 40 };
const L200: HistorySpec = { shape: 'linear', commits: 200 };
const L60T: HistorySpec = { shape: 'linear', commits: 60, tagEvery: 10, sideBranch: 5 };
const M120: HistorySpec = { shape: 'merges', commits: 120, seed: 2, tagEvery: 10 };
const M300: HistorySpec = { shape: 'merges', commits: 300, seed: 5, tagEvery: 25 };

/** The i-th mainline commit from the root. */
const main = (i: number) => (h: GeneratedHistory) => h.mainline[i]!;
/** A commit on a topic branch (not on the mainline), the n-th one from the root. */
const topic = (n: number) => (h: GeneratedHistory) => h.hashes.map((_, i) => i).filter((i) => !h.mainline.includes(i) && !h.side.includes(h.hashes[i]!))[n]!;
/** A merge commit on the mainline, the n-th one from the root. */
const merge = (n: number) => (h: GeneratedHistory) => h.mainline.filter((i) => h.repo.history.commits[i]!.parents.length > 1)[n]!;
const noGood = () => ({ goods: [] });
const two: FarmSpec = { agents: 2, slots: 2 };
/** Dispatched probes of a node. */
const probesOf = (h: GeneratedHistory, r: FarmOutcome, node: number) => r.commands.filter((c) => c.type === 'dispatch' && c.probe.commit === h.hashes[node]).length;
const LOST = 'lost connection to test machine';
const untestable = (role: string, node: (h: GeneratedHistory) => number, tag = '') => (h: GeneratedHistory, r: FarmOutcome) => {
  const u = r.job?.result?.untestable;
  assert.ok(u, 'the result says which end could not be tested');
  assert.deepEqual({ commit: u.commit, role: u.role, tag: u.tag }, { commit: h.hashes[node(h)], role, tag });
  assert.ok(u.reason.length > 0 && u.probeIds.length > 0, JSON.stringify(u));
};

const rows: Row[] = [
  // ---- cause jobs with a good commit ----
  { name: 'linear, one slot, culprit in the middle', history: L40, oracle: { planted: 20 }, farm: { agents: 1, slots: 1 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 16 },
  { name: 'linear, culprit right above the good commit', history: L40, oracle: { planted: 1 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 20 },
  { name: 'linear, the bad commit is the culprit', history: L40, oracle: { planted: 39 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 25 },
  { name: 'linear 200, 2 agents x 2 slots', history: L200, oracle: { planted: 133 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 40 },
  { name: 'merges, culprit on the mainline', history: M120, oracle: { planted: main(30) }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'merges, culprit on a topic branch', history: M120, oracle: { planted: topic(40) }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'merges 300, 3 agents x 2 slots', history: M300, oracle: { planted: topic(120) }, farm: { agents: 3, slots: 2 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 60 },
  { name: 'merges, the culprit is a merge commit (flagged)', history: M120, oracle: { planted: merge(5) }, expect: { state: 'succeeded', culprit: 'planted', flags: [/merge commit/] }, maxProbes: 45 },
  {
    name: 'first parent: a topic culprit is reported as its merge',
    history: M120,
    oracle: { planted: topic(40) },
    job: (h) => ({ goods: [h.root], policy: { firstParent: true } }),
    expect: { state: 'succeeded', culprit: -1 },
    maxProbes: 40,
  },
  { name: 'no verification asked', history: L40, oracle: { planted: 12 }, job: (h) => ({ goods: [h.root], policy: { skipVerification: true } }), expect: { state: 'succeeded', culprit: 'planted', rounds: 0 }, maxProbes: 20 },
  { name: 'the reproducer is said to be reliable', history: M120, oracle: { planted: main(20) }, job: (h) => ({ goods: [h.root], policy: { reproRate: 1 } }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 30 },
  { name: 'parallelism cap 1 on 4 slots', history: L40, oracle: { planted: 25 }, job: (h) => ({ goods: [h.root], policy: { parallelismCap: 1 } }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 16 },
  { name: 'the culprit built the same binary as its parent (flagged)', history: L40, oracle: { planted: 17, sameBinary: [17] }, expect: { state: 'succeeded', culprit: 'planted', flags: [/same artifact/] }, maxProbes: 20 },
  // ---- fix jobs ----
  { name: 'fix, linear', history: L40, oracle: { planted: 22, mode: 'fix' }, job: (h) => ({ goods: [h.root], mode: 'fix' }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 25 },
  { name: 'fix, merges', history: M120, oracle: { planted: main(18), mode: 'fix' }, job: (h) => ({ goods: [h.root], mode: 'fix' }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'fix without a commit that crashes is refused', history: L40, oracle: { planted: 22, mode: 'fix' }, job: () => ({ goods: [], mode: 'fix' }), expect: { error: /at least one good commit/ }, maxProbes: 0 },
  { name: 'fix, the tip still crashes', history: L40, oracle: { planted: 22 }, job: (h) => ({ goods: [h.root], mode: 'fix' }), expect: { state: 'not-in-range', reason: /tip still crashes|does not crash/ }, maxProbes: 12 },
  // ---- release walks ----
  { name: 'walk: a clean release, then bisect', history: M120, oracle: { planted: main(34) }, job: noGood, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'walk on a linear history with a side branch', history: L60T, oracle: { planted: 44 }, job: noGood, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 30 },
  { name: 'walk: every release down to the oldest allowed crashes', history: M120, oracle: { planted: main(3) }, job: () => ({ goods: [], policy: { oldestRelease: 'v1.2' } }), expect: { state: 'not-in-range', reason: /oldest tested release already had the bug \(v1\.2\)/ }, maxProbes: 8 },
  { name: 'walk: the bug is older than every release', history: L60T, oracle: { planted: 0 }, job: noGood, expect: { state: 'not-in-range', reason: /oldest tested release already had the bug \(v1\.0\)/ }, maxProbes: 10 },
  { name: 'walk: no release tag to start from', history: L40, oracle: { planted: 10 }, job: noGood, expect: { error: /no release tag/ }, maxProbes: 0 },
  { name: 'walk: an unknown oldest release', history: M120, oracle: { planted: 10 }, job: () => ({ goods: [], policy: { oldestRelease: 'v9.9' } }), expect: { error: /not a release tag/ }, maxProbes: 0 },
  { name: 'walk: the newest release cannot be built', history: L60T, oracle: { planted: 44, unbuildable: [40] }, job: noGood, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 30 },
  { name: 'walk: a restart in the middle of the walk', history: M120, oracle: { planted: main(34) }, job: noGood, script: { restartAfter: [1, 2, 3] }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'walk: cancelled while walking', history: M120, oracle: { planted: main(34) }, job: noGood, script: { cancelAfter: 1 }, expect: { state: 'cancelled' }, maxProbes: 6 },
  // ---- skips and host faults ----
  { name: 'unbuildable commits around the culprit: inconclusive', history: L40, oracle: { planted: 20, unbuildable: [18, 19, 20, 21] }, expect: { state: 'inconclusive', reason: /skipped/, suspectsInclude: 'planted' }, maxProbes: 25 },
  { name: 'a few unbuildable commits elsewhere', history: L200, oracle: { planted: 140, unbuildable: [50, 99, 100, 101, 170] }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'too many skips in a row', history: L200, oracle: { planted: 140, unbuildable: Array.from({ length: 150 }, (_, i) => i + 20) }, job: (h) => ({ goods: [h.root], policy: { maxSkips: 3 } }), expect: { state: 'inconclusive', reason: /3 probes in a row could not be tested/ }, maxProbes: 12 },
  { name: 'the bad commit cannot be built', history: L40, oracle: { planted: 20, unbuildable: [39] }, expect: { state: 'failed', reason: /the bad commit \w+ cannot be built \(agent a\d, step: build: error: x\.c:1/ }, maxProbes: 4 },
  { name: 'the bad commit boots on no agent', history: L40, oracle: { planted: 20, unbootable: [39] }, expect: { state: 'failed', reason: /cannot be tested \(agents a\d, a\d, step: boot/ }, maxProbes: 10 },
  { name: 'commits that boot nowhere count as skips', history: L40, oracle: { planted: 20, unbootable: [9, 30] }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 24 },
  { name: 'an agent that boots nothing is found out', history: M120, oracle: { planted: main(30), deadHost: 'a2' }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 50 },
  { name: 'an agent with infrastructure failures only', history: L40, oracle: { planted: 20, infraHost: 'a2' }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 30 },
  { name: 'infrastructure failures on every agent', history: L40, oracle: { planted: 20, infraHost: 'a1' }, farm: { agents: 1, slots: 2 }, expect: { state: 'failed', reason: /infrastructure failure on every agent able to run the job \(a1: qemu failed to start\)/ }, maxProbes: 3 },
  { name: 'the recipe aborts on the first probe', history: L40, oracle: { planted: 20, abortOn: 39 }, expect: { state: 'failed', reason: /exited 127/ }, maxProbes: 4 },
  // ---- flaky reproducers ----
  { name: 'flaky: crashes half the time, 4 runs a probe', history: L200, oracle: { planted: 77, repro: 0.5 }, job: (h) => ({ goods: [h.root], policy: { runsPerProbe: 4 } }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 50 },
  { name: 'flaky: 30% with false crashes, 8 runs', history: M120, oracle: { planted: main(25), repro: 0.3, falseCrash: 0.01, seed: 4 }, job: (h) => ({ goods: [h.root], policy: { runsPerProbe: 8 } }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 60 },
  { name: 'flaky: one run a probe, said to be 60%', history: L40, oracle: { planted: 15, repro: 0.6, seed: 9 }, job: (h) => ({ goods: [h.root], policy: { reproRate: 0.6 } }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 60 },
  // ---- verification ----
  { name: 'verification disagrees once, the second round confirms', history: L40, oracle: { planted: 20, cleanVerifyRound: 1 }, expect: { state: 'succeeded', culprit: 'planted', rounds: 2 }, maxProbes: 45 },
  {
    name: 'verification disagrees, restart in the second round keeps the round',
    history: L40,
    oracle: { planted: 20, cleanVerifyRound: 1 },
    script: { restartAfter: Array.from({ length: 30 }, (_, i) => i + 1) },
    expect: { state: 'succeeded', culprit: 'planted', rounds: 2 },
    maxProbes: 45,
  },
  { name: 'verification with 6 runs given', history: L40, oracle: { planted: 30 }, job: (h) => ({ goods: [h.root], policy: { verificationRuns: 6 } }), expect: { state: 'succeeded', culprit: 'planted', rounds: 1 }, maxProbes: 20 },
  // ---- not in range ----
  // With the engine's weak default priors a bad commit that never crashes takes >100 probes to
  // give up on (an engine matter); the operator saying the reproducer is reliable settles it fast.
  { name: 'nothing crashes: the bad commit does not crash', history: L40, oracle: {}, job: (h) => ({ goods: [h.root], policy: { reproRate: 1 } }), expect: { state: 'not-in-range', reason: /the bad commit does not crash/ }, maxProbes: 12 },
  { name: 'the good commit crashes too', history: L40, oracle: { planted: 0 }, expect: { state: 'not-in-range', reason: /good commit crashes too/ }, maxProbes: 30 },
  // ---- refused at submission ----
  { name: 'a good commit on a side branch', history: L60T, oracle: { planted: 30 }, job: (h) => ({ goods: [h.side[2]!] }), expect: { error: /not an ancestor of bad/ }, maxProbes: 0 },
  { name: 'good is bad', history: L40, oracle: { planted: 30 }, job: (h) => ({ goods: [h.tip] }), expect: { error: /the bad commit itself/ }, maxProbes: 0 },
  { name: 'good and bad swapped', history: L40, oracle: { planted: 30 }, job: (h) => ({ goods: [h.tip], bad: h.hashes[10]! }), expect: { error: /descendant of bad/ }, maxProbes: 0 },
  { name: 'an unknown ref', history: L40, oracle: { planted: 30 }, job: () => ({ goods: ['no-such-branch'] }), expect: { error: /unknown revision "no-such-branch"/ }, maxProbes: 0 },
  // ---- cancellation, leases, duplicates, late and forged verdicts ----
  { name: 'cancelled while bisecting', history: M120, oracle: { planted: main(30) }, script: { cancelAfter: 3 }, expect: { state: 'cancelled' }, maxProbes: 8 },
  { name: 'leases run out, the verdicts come late', history: M120, oracle: { planted: main(30) }, script: { silentEvery: 3 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 70 },
  { name: 'leases run out, the verdicts never come', history: L40, oracle: { planted: 11 }, script: { silentEvery: 4, lost: true }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 30 },
  { name: 'agents hand probes back', history: L40, oracle: { planted: 27 }, script: { handBackEvery: 3 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 30 },
  { name: 'every verdict delivered twice', history: M120, oracle: { planted: topic(40) }, script: { duplicates: true }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'cancelled probes answer late', history: M120, oracle: { planted: topic(40) }, script: { late: true }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  { name: 'a forged verdict is ignored', history: L40, oracle: { planted: 5 }, script: { forged: true }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 20 },
  { name: 'verdicts in random order', history: M300, oracle: { planted: main(40) }, farm: { agents: 3, slots: 2 }, script: { order: 'random', seed: 11 }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 60 },
  // ---- runs that did not complete (fewer than half: no evidence, once more elsewhere, then a skip) ----
  {
    name: 'partial: 4 clean runs of 10 do not make the culprit clean',
    history: L40,
    oracle: { planted: 20, partial: [20] },
    job: (h) => ({ goods: [h.root], policy: { runsPerProbe: 10 } }),
    expect: { state: 'inconclusive', reason: /skipped|could not be tested/, suspectsInclude: 'planted' },
    maxProbes: 30,
    check: (h, r) => assert.equal(probesOf(h, r, 20), 2, 'the partial probe ran once more on another agent'),
  },
  {
    name: 'partial: an agent where most runs skip is no evidence; the other agent decides',
    history: M120,
    oracle: { planted: main(30), partialHost: 'a2' },
    job: (h) => ({ goods: [h.root], policy: { runsPerProbe: 10 } }),
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 90,
    check: (_h, r) => assert.ok(r.run!.state().discounted.length > 0, 'the partial verdicts did not count'),
  },
  {
    name: 'partial: the bad commit completes too few runs on both agents',
    history: L40,
    oracle: { planted: 20, partial: [39] },
    job: (h) => ({ goods: [h.root], policy: { runsPerProbe: 10 } }),
    expect: { state: 'failed', reason: /the bad commit \w+ cannot be tested \(agents a\d, a\d, step: test: only 4 of 10 runs completed/ },
    maxProbes: 10,
    check: untestable('bad', (h) => h.index.get(h.tip)!),
  },
  {
    name: 'partial: verdicts in random order with restarts',
    history: L40,
    oracle: { planted: 25, partial: [12, 30] },
    job: (h) => ({ goods: [h.root], policy: { runsPerProbe: 10 } }),
    script: { order: 'random', seed: 5, restartAfter: [2, 4, 6, 8] },
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 30,
  },
  // ---- crashes that say nothing about the kernel do not count by default ----
  {
    name: 'unrelated: fix, one run in three loses its connection: not "the tip still crashes"',
    history: L40,
    oracle: { planted: 22, mode: 'fix', unrelated: { every: 3, title: LOST } },
    job: (h) => ({ goods: [h.root], mode: 'fix', policy: { runsPerProbe: 3 } }),
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 25,
  },
  {
    name: 'unrelated: cause, executor failures on clean commits do not make them bad',
    history: L200,
    oracle: { planted: 133, unrelated: { every: 2, title: 'SYZFATAL: executor failed 11 times' } },
    job: (h) => ({ goods: [h.root], policy: { runsPerProbe: 4 } }),
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 40,
  },
  {
    name: 'unrelated: the original crash is a lost connection: it counts',
    history: L40,
    oracle: { planted: 20, crashTitle: LOST },
    job: (h) => ({ goods: [h.root], policy: { originalTitles: [LOST] } }),
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 20,
  },
  {
    name: 'unrelated: a bug seen only as lost connections, not named the original crash, is not seen',
    history: L40,
    oracle: { planted: 20, crashTitle: LOST },
    expect: { state: 'failed', reason: /the bad commit \w+ cannot be tested \(agents a\d, a\d, step: test: lost connection to test machine\)/ },
    maxProbes: 10,
  },
  // ---- untestable ends ----
  {
    name: 'untestable: the oldest release cannot be built: an error, not "already had the bug"',
    history: L60T,
    oracle: { planted: 0, unbuildable: [0] },
    job: noGood,
    expect: { state: 'failed', reason: /the oldest release v1\.0 \(\w+\) could not be tested \(error: x\.c:1: expected ;\).*logs: multisect logs j1 --probe j1-r-/ },
    maxProbes: 10,
    check: untestable('release', () => 0, 'v1.0'),
  },
  {
    name: 'untestable: the oldest allowed release boots on no agent',
    history: M120,
    oracle: { planted: main(3) },
    oracleFor: (h) => ({ unbootable: [h.mainline[20]!] }),
    job: () => ({ goods: [], policy: { oldestRelease: 'v1.2' } }),
    expect: { state: 'failed', reason: /the oldest release v1\.2 \(\w+\) could not be tested \(could not boot: no-output\)/ },
    maxProbes: 10,
    check: untestable('release', (h) => h.mainline[20]!, 'v1.2'),
  },
  {
    name: 'untestable: fix, the tip cannot be built: ends at once',
    history: L40,
    oracle: { planted: 22, mode: 'fix', unbuildable: [39] },
    job: (h) => ({ goods: [h.root], mode: 'fix' }),
    expect: { state: 'failed', reason: /the tip \w+ cannot be tested: it cannot be built \(agent a\d, step: build: error: x\.c:1/ },
    maxProbes: 4,
    check: untestable('tip', (h) => h.index.get(h.tip)!),
  },
  {
    name: 'untestable: fix, the tip boots on no agent: ends at once',
    history: M120,
    oracle: { planted: main(18), mode: 'fix', unbootable: [119] },
    job: (h) => ({ goods: [h.root], mode: 'fix' }),
    expect: { state: 'failed', reason: /the tip \w+ cannot be tested \(agents a\d, a\d, step: boot/ },
    maxProbes: 10,
    check: untestable('tip', (h) => h.index.get(h.tip)!),
  },
  // ---- commits rewritten since the report: found by their title ----
  {
    name: 'rewritten: the bad commit is found by its title',
    history: L40,
    oracle: { planted: 20 },
    job: (h) => ({ goods: [h.root], bad: 'f'.repeat(40), badTitle: 'commit 39' }),
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 22,
    check: (h, r) => {
      assert.equal(r.job!.badHash, h.tip);
      assert.match(r.job!.refNotes.join('\n'), /bad "f{40}" is not in the repository \(rewritten since\?\): found by its title "commit 39" as \w{12}/);
    },
  },
  {
    name: 'rewritten: a good commit is found by its title, with restarts',
    history: M120,
    oracle: { planted: main(30) },
    job: () => ({ goods: ['0123456789abcdef0123456789abcdef01234567'], goodTitles: ['commit 0'] }),
    script: { restartAfter: [1, 3, 6] },
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 45,
    check: (h, r) => {
      assert.deepEqual(r.job!.goodHashes, [h.root]);
      assert.equal(r.job!.refNotes.length, 1, 'noted once, not again at each restart');
    },
  },
  { name: 'rewritten: an ambiguous title is refused', history: { ...L40, sameSubject: [5, 20] }, oracle: { planted: 20 }, job: (h) => ({ goods: [h.root], bad: 'f'.repeat(40), badTitle: 'commit 5' }), expect: { error: /bad_title: the title "commit 5" names 2 commits \(\w{12}, \w{12}\)/ }, maxProbes: 0 },
  { name: 'rewritten: a title no commit has is refused', history: L40, oracle: { planted: 20 }, job: (h) => ({ goods: [h.root], bad: 'f'.repeat(40), badTitle: 'nope' }), expect: { error: /no commit titled "nope"/ }, maxProbes: 0 },
  { name: 'rewritten: an unknown ref without a title says to name it', history: L40, oracle: { planted: 20 }, job: (h) => ({ goods: [h.root], bad: 'f'.repeat(40) }), expect: { error: /unknown revision "f{40}"/ }, maxProbes: 0, check: (_h, r) => assert.match((r.error as { hint?: string }).hint ?? '', /--bad-title/) },
  { name: 'rewritten: a known ref wins over its title', history: L40, oracle: { planted: 20 }, job: (h) => ({ goods: [h.root], badTitle: 'commit 30' }), expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 22, check: (h, r) => assert.equal(r.job!.badHash, h.tip) },
  // ---- cross-tree fix jobs: a bug seen on a branch, is it fixed upstream? ----
  {
    name: 'cross-tree: the merge base still crashes: the upstream fix is found',
    history: L60T,
    oracle: { planted: 45, mode: 'fix' },
    job: (h) => ({ goods: [h.side[4]!], mode: 'fix', crossTree: true }),
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 25,
    check: (h, r) => {
      assert.deepEqual(r.job!.result!.crossTree, { mergeBase: h.hashes[30], outcome: 'crashed' });
      assert.deepEqual(r.job!.goodHashes, [h.side[4]], 'the branch commit stays the good commit');
    },
  },
  {
    name: 'cross-tree: the merge base does not crash: the bug came with the branch',
    history: L60T,
    oracle: { planted: 10, mode: 'fix' },
    oracleFor: (h) => ({ branchBug: h.index.get(h.side[0]!)! }),
    job: (h) => ({ goods: [h.side[4]!], mode: 'fix', crossTree: true }),
    expect: { state: 'not-in-range', reason: /merge base \w+ of the branch commit and the upstream tip does not crash: the bug came with the branch: no upstream fix to find/ },
    maxProbes: 6,
    check: (h, r) => assert.deepEqual(r.job!.result!.crossTree, { mergeBase: h.hashes[30], outcome: 'clean' }),
  },
  {
    name: 'cross-tree: the merge base cannot be built',
    history: L60T,
    oracle: { planted: 45, mode: 'fix', unbuildable: [30] },
    job: (h) => ({ goods: [h.side[4]!], mode: 'fix', crossTree: true }),
    expect: { state: 'failed', reason: /the merge base \w+ of the branch commit and the upstream tip could not be tested \(error: x\.c:1: expected ;\)/ },
    maxProbes: 6,
    check: untestable('merge-base', () => 30),
  },
  {
    name: 'cross-tree: restarts before and after the merge base',
    history: L60T,
    oracle: { planted: 50, mode: 'fix' },
    job: (h) => ({ goods: [h.side[2]!], mode: 'fix', crossTree: true }),
    script: { restartAfter: [1, 2, 3, 5, 8] },
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 25,
    check: (h, r) => assert.deepEqual(r.job!.result!.crossTree, { mergeBase: h.hashes[30], outcome: 'crashed' }),
  },
  {
    name: 'cross-tree: a good commit upstream after all is an ordinary fix job',
    history: L60T,
    oracle: { planted: 45, mode: 'fix' },
    job: (h) => ({ goods: [h.hashes[20]!], mode: 'fix', crossTree: true }),
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 25,
    check: (_h, r) => assert.equal(r.job!.result!.crossTree, undefined),
  },
  { name: 'cross-tree: without --cross-tree a branch commit is refused', history: L60T, oracle: { planted: 45, mode: 'fix' }, job: (h) => ({ goods: [h.side[4]!], mode: 'fix' }), expect: { error: /not an ancestor of bad/ }, maxProbes: 0 },
  // ---- restarts ----
  { name: 'restarts while bisecting', history: M120, oracle: { planted: topic(40) }, script: { restartAfter: [2, 5, 9] }, expect: { state: 'succeeded', culprit: 'planted' }, maxProbes: 45 },
  {
    name: 'a restart after every verdict, with trouble',
    history: M120,
    oracle: { planted: main(30), unbuildable: [50, 51], deadHost: 'a2' },
    job: noGood,
    script: { restartAfter: Array.from({ length: 60 }, (_, i) => i + 1), duplicates: true, late: true },
    expect: { state: 'succeeded', culprit: 'planted' },
    maxProbes: 60,
  },
];

function check(row: Row, h: GeneratedHistory, planted: number | undefined, r: FarmOutcome): void {
  const e = row.expect;
  if ('error' in e) {
    assert.ok(r.error, `expected a refusal, the job ran: ${r.job ? JobState[r.job.state] : ''}`);
    assert.match(r.error.message, e.error);
    return;
  }
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.stalled, false, 'the job stalled with nothing in flight');
  const job = r.job!;
  const result = job.result!;
  const want = { succeeded: JobState.JOB_STATE_SUCCEEDED, inconclusive: JobState.JOB_STATE_INCONCLUSIVE, 'not-in-range': JobState.JOB_STATE_NOT_IN_RANGE, failed: JobState.JOB_STATE_FAILED, cancelled: JobState.JOB_STATE_CANCELLED }[e.state];
  assert.equal(JobState[job.state], JobState[want], `ended ${JobState[job.state]}: ${result.reason}`);
  assert.equal(job.probesInFlight, 0);
  if (e.state === 'succeeded') {
    const expected = e.culprit === 'planted' ? h.hashes[planted!] : mergeOf(h, planted!);
    assert.equal(result.culprit?.hash, expected, `culprit ${h.index.get(result.culprit?.hash ?? '')} instead of ${h.index.get(expected ?? '')}`);
    assert.ok(result.culprit?.subject.startsWith('commit '), 'the culprit comes with its facts');
    for (const f of e.flags ?? []) assert.ok(result.flags.some((x) => f.test(x)), `flag ${f} in ${JSON.stringify(result.flags)}`);
    if (e.rounds !== undefined) {
      assert.equal(result.verification.length > 0, e.rounds > 0);
      const rounds = new Set(r.commands.flatMap((c) => (c.type === 'dispatch' ? (/-v(\d+)-/.exec(c.probe.id)?.[1] ?? []) : [])));
      assert.equal(rounds.size, e.rounds, `verification rounds ${[...rounds]}`);
    }
  } else if (e.state !== 'cancelled') {
    assert.match(result.reason, e.reason);
  }
  if (e.state === 'inconclusive' && e.suspectsInclude) assert.ok(result.suspects.some((s) => s.hash === h.hashes[planted!]), 'the planted culprit is among the suspects');
  if (e.state === 'cancelled') assert.ok(!r.commands.some((c) => c.type === 'dispatch' && r.run?.isInFlight(c.probe.id)));
  if (row.job?.(h).goods?.length === 0 && (e.state === 'succeeded' || e.state === 'not-in-range')) assert.ok(result.releases.length > 0, 'the report lists the releases tested');
}

/** With --first-parent, a culprit on a topic branch is found as the mainline merge that brought it. */
function mergeOf(h: GeneratedHistory, node: number): string | undefined {
  const desc = h.descendantsOf(node);
  return h.hashes[h.mainline.find((m) => desc.has(m))!];
}

describe('JobRun: jobs from start to end, on generated histories', () => {
  it('has at least 40 rows', () => assert.ok(rows.length >= 40, `${rows.length} rows`));
  for (const row of rows) {
    it(row.name, async () => {
      const h = generateHistory(row.history);
      const planted = typeof row.oracle.planted === 'function' ? row.oracle.planted(h) : row.oracle.planted;
      const oracle = new Oracle(h, { ...row.oracle, planted, ...row.oracleFor?.(h) });
      const r = await runFarm(h, oracle, row.job?.(h) ?? { goods: [h.root] }, row.farm ?? two, row.script ?? {});
      check(row, h, planted, r);
      assert.ok(r.probes <= row.maxProbes, `${r.probes} probes, at most ${row.maxProbes} expected`);
      for (const [i, s] of r.restarts.entries()) assert.deepEqual(s.replayed, s.live, `restart ${i + 1}: the replay gives the same state`);
      if (row.script?.restartAfter) assert.ok(r.restarts.length > 0, 'the job restarted');
      row.check?.(h, r);
    });
  }
});
