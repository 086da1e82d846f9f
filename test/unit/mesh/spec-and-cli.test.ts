import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCommand } from '../../../cli/argv.js';
import { buildSpec } from '../../../cli/actions/jobs.js';
import { InvalidJobError, InvalidOptionError } from '../../../shared/errors.js';
import { compileJobSpec } from '../../../shared/job-spec.js';
import { CrashMatch, JobSpec, Mode } from '../../../shared/proto.js';

describe('job specs', () => {
  const base = { repo: '/tmp', bad: 'HEAD', goods: ['v1.0'], recipe: { kind: 'script', test: { argv: ['./t.sh'], env: {}, timeoutSeconds: 0 }, params: {} } };

  it('fills the defaults', () => {
    const s = compileJobSpec(JobSpec.fromPartial(base));
    assert.equal(s.mode, Mode.MODE_CAUSE);
    assert.equal(s.policy?.runsPerProbe, 1);
    assert.equal(s.policy?.confidenceTarget, 0.99);
    assert.equal(s.policy?.crashMatch, CrashMatch.CRASH_MATCH_ANY);
  });

  it('names the bad field', () => {
    const bad = (patch: object, field: RegExp) =>
      assert.throws(() => compileJobSpec(JobSpec.fromPartial({ ...base, ...patch })), (e: unknown) => e instanceof InvalidJobError && field.test(e.field));
    bad({ repo: 'relative/path' }, /^repo$/);
    bad({ repo: 'ext::sh -c evil' }, /^repo$/);
    bad({ bad: '--output=/etc/passwd' }, /^bad$/);
    bad({ bad: '' }, /^bad$/);
    bad({ goods: ['a..b'] }, /^goods\[0\]$/);
    bad({ recipe: { kind: 'script', params: {} } }, /^recipe\.test$/);
    bad({ recipe: { kind: 'nope', params: {} } }, /^recipe\.kind$/);
    bad({ policy: { confidenceTarget: 1.5 } }, /^policy\.confidence_target$/);
    bad({ policy: { crashMatch: CrashMatch.CRASH_MATCH_REGEX, crashRegex: '(' } }, /^policy\.crash_regex$/);
    bad({ policy: { crashMatch: CrashMatch.CRASH_MATCH_SAME } }, /^policy\.original_titles$/);
    bad({ policy: { runsPerProbe: 100000 } }, /^policy\.runs_per_probe$/);
  });

  it('turns flags into a spec and names the flag that is wrong', () => {
    const s = buildSpec({ repo: '.', bad: 'HEAD', goods: [], test: './t.sh "a b"', build: 'make -j8', runs: 3, crash: 'same', originalTitles: ['x'] }, '/tmp');
    assert.equal(s.repo, '/tmp');
    assert.deepEqual(s.recipe?.test?.argv, ['./t.sh', 'a b']);
    assert.deepEqual(s.recipe?.build?.argv, ['make', '-j8']);
    assert.equal(s.policy?.crashMatch, CrashMatch.CRASH_MATCH_SAME);
    assert.throws(() => buildSpec({ repo: '/nonexistent-x', bad: 'HEAD', goods: [], test: 't' }), (e: unknown) => e instanceof InvalidOptionError && e.field === '--repo');
    assert.throws(() => buildSpec({ repo: '/tmp', bad: 'HEAD', goods: [] }), (e: unknown) => e instanceof InvalidOptionError && e.field === '--test');
    assert.throws(() => buildSpec({ repo: '/tmp', bad: 'HEAD', goods: [], test: 't', mode: 'both' }), /--mode/);
  });
});

describe('splitCommand', () => {
  it('splits words and keeps quoted groups, expanding nothing', () => {
    assert.deepEqual(splitCommand('--test', `./t.sh 'a b' "c \\"d\\"" $HOME \\;`), ['./t.sh', 'a b', 'c "d"', '$HOME', ';']);
    assert.deepEqual(splitCommand('--test', `x ''`), ['x', '']);
  });
  it('refuses unbalanced quotes and empty commands', () => {
    assert.throws(() => splitCommand('--test', `a 'b`), /--test: unbalanced/);
    assert.throws(() => splitCommand('--build', '   '), /--build: the command is empty/);
  });
});
