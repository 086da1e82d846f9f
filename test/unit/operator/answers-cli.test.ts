/**
 * The CLI's side of issue 15: --bad-title / --good-title (a commit found by its title when a
 * rebase rewrote its hash), --cross-tree (a fix job from a stable or vendor branch), and the
 * result fields `untestable`, `crossTree`, `refNotes` in `multisect job --json`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSpec } from '../../../cli/actions/jobs.js';
import { jobToJson } from '../../../cli/render.js';
import { InvalidJobError, InvalidOptionError } from '../../../shared/errors.js';
import { compileJobSpec } from '../../../shared/job-spec.js';
import { resultLines, headerLines } from '../../../shared/job-log.js';
import { Job, JobResult, JobSpec, JobState, Mode } from '../../../shared/proto.js';

const base = { repo: '/tmp', bad: 'master', goods: ['v6.1.y'], test: './t.sh' };
const flagError = (flag: string, message: RegExp) => (e: unknown) => e instanceof InvalidOptionError && e.field === flag && message.test(e.message);

describe('bisect flags: commit titles', () => {
  it('--bad-title and --good-title travel in the spec, paired with their refs', () => {
    const s = buildSpec({ ...base, goods: ['a1', 'b2'], badTitle: 'net: fix a leak', goodTitles: ['mm: one', ''] });
    assert.equal(s.badTitle, 'net: fix a leak');
    assert.deepEqual(s.goodTitles, ['mm: one', '']);
  });
  it('more --good-title than --good is refused', () => {
    assert.throws(() => buildSpec({ ...base, goodTitles: ['a', 'b'] }), flagError('--good-title', /2 given for 1 --good/));
  });
  it('a title of more than one line is refused, naming the flag', () => {
    assert.throws(() => buildSpec({ ...base, badTitle: 'subject\nbody' }), flagError('--bad-title', /one line/));
    assert.throws(() => buildSpec({ ...base, goodTitles: ['x'.repeat(600)] }), flagError('--good-title', /at most 512/));
  });
  it('the coordinator checks the same (a spec sent without the CLI)', () => {
    assert.throws(() => compileJobSpec(JobSpec.fromPartial({ repo: '/tmp', bad: 'x', goods: [], goodTitles: ['t'], recipe: { kind: 'script', test: { argv: ['t'] } } })), (e: unknown) => e instanceof InvalidJobError && e.field === 'good_titles');
  });
});

describe('bisect flags: --cross-tree', () => {
  it('a fix job from a branch commit', () => {
    const s = buildSpec({ ...base, mode: 'fix', crossTree: true });
    assert.equal(s.crossTree, true);
    assert.equal(s.mode, Mode.MODE_FIX);
    assert.deepEqual(s.goods, ['v6.1.y']);
  });
  it('is for fix jobs', () => assert.throws(() => buildSpec({ ...base, crossTree: true }), flagError('--cross-tree', /is for fix jobs/)));
  it('needs exactly one --good', () => {
    assert.throws(() => buildSpec({ ...base, mode: 'fix', goods: [], crossTree: true }), flagError('--cross-tree', /exactly one --good .* got 0/));
    assert.throws(() => buildSpec({ ...base, mode: 'fix', goods: ['a', 'b'], crossTree: true }), flagError('--cross-tree', /got 2/));
  });
  it('the coordinator checks the same', () => {
    const spec = (mode: Mode, goods: string[]) => JobSpec.fromPartial({ repo: '/tmp', bad: 'x', goods, mode, crossTree: true, recipe: { kind: 'script', test: { argv: ['t'] } } });
    assert.throws(() => compileJobSpec(spec(Mode.MODE_CAUSE, ['g'])), (e: unknown) => e instanceof InvalidJobError && e.field === 'cross_tree');
    assert.throws(() => compileJobSpec(spec(Mode.MODE_FIX, [])), /cross_tree: needs exactly one good commit/);
    assert.equal(compileJobSpec(spec(Mode.MODE_FIX, ['g'])).crossTree, true);
  });
});

describe('result fields in multisect job --json', () => {
  const job = (result: Partial<JobResult>, extra: Partial<Job> = {}) =>
    Job.fromPartial({ id: 'j1', state: JobState.JOB_STATE_FAILED, badHash: 'b'.repeat(40), spec: { mode: Mode.MODE_FIX, repo: '/r' }, result, ...extra });
  it('untestable: which end, its role and why, with the probes that show it', () => {
    const j = jobToJson(job({ reason: 'the tip bbbbbbbbbbbb cannot be tested: it cannot be built', untestable: { commit: 'b'.repeat(40), role: 'tip', reason: 'build: error', tag: '', probeIds: ['j1-b-1'] } }));
    assert.deepEqual(j.untestable, { commit: 'b'.repeat(40), role: 'tip', reason: 'build: error', tag: undefined, probes: ['j1-b-1'] });
    assert.equal(j.reason, 'the tip bbbbbbbbbbbb cannot be tested: it cannot be built', 'the old fields stay');
    assert.equal(jobToJson(job({ reason: 'x' })).untestable, undefined);
  });
  it('crossTree: the merge base and what it showed, also in the text', () => {
    const j = job({ reason: 'the bug came with the branch: no upstream fix to find', crossTree: { mergeBase: 'c'.repeat(40), outcome: 'clean' } }, { state: JobState.JOB_STATE_NOT_IN_RANGE });
    assert.deepEqual(jobToJson(j).crossTree, { mergeBase: 'c'.repeat(40), outcome: 'clean' });
    assert.ok(resultLines(j).includes('cross-tree: merge base cccccccccccc clean'), resultLines(j).join('\n'));
  });
  it('refNotes: how a rewritten commit was found, also in the log header', () => {
    const note = 'bad "deadbeef" is not in the repository (rewritten since?): found by its title "m8" as 0123456789ab';
    const j = job({}, { refNotes: [note] });
    assert.deepEqual(jobToJson(j).refNotes, [note]);
    assert.ok(headerLines(j).includes(note));
  });
});
