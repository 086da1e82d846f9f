/** Crash policies: any, same (title or alternative title), regular expression. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyConsole, classifyRun, crashMatches, parseCrashPolicy } from '../../../shared/crash-policy.js';
import { InvalidOptionError } from '../../../shared/errors.js';
import { transientKind, type CrashReport } from '../../../shared/report/index.js';
import { crashPolicyOf, titleMatchesPolicy } from '../../../agent/classify.js';
import { CrashMatch, Policy } from '../../../shared/proto.js';

const report = (title: string, altTitles: string[] = []): CrashReport => ({
  title,
  altTitles,
  type: 'DoS',
  corrupted: false,
  corruptedReason: '',
  suppressed: false,
  report: '',
  startPos: 0,
  endPos: 0,
  frames: [],
  guiltyFrame: '',
  guiltyFile: '',
});

describe('crash policy', () => {
  it('any: every crash counts, no crash is not a match', () => {
    const p = parseCrashPolicy('any');
    assert.deepEqual(classifyRun(p, report('general protection fault in f')), { crashed: true, matches: true, title: 'general protection fault in f', type: 'DoS' });
    assert.deepEqual(classifyRun(p, undefined), { crashed: false, matches: false, title: '', type: '' });
  });

  it('same: the title or an alternative title equals an original title', () => {
    const p = parseCrashPolicy('same', ['general protection fault in sys_mremap', ' KASAN: use-after-free Read in g ']);
    assert.equal(crashMatches(p, report('general protection fault in mremap', ['general protection fault in sys_mremap'])), true);
    assert.equal(crashMatches(p, report('KASAN: use-after-free Read in g')), true);
    assert.equal(crashMatches(p, report('WARNING in h')), false);
    // A different crash is still reported with its title.
    assert.deepEqual(classifyRun(p, report('WARNING in h')), { crashed: true, matches: false, title: 'WARNING in h', type: 'DoS' });
  });

  it('same needs titles', () => {
    assert.throws(() => parseCrashPolicy('same'), (e: unknown) => e instanceof InvalidOptionError && e.field === 'crash');
  });

  it('regex: matched against the title and the alternative titles', () => {
    const p = parseCrashPolicy('^KASAN: use-after-free (Read|Write) in tcp_');
    assert.equal(crashMatches(p, report('KASAN: use-after-free Read in tcp_sendmsg')), true);
    assert.equal(crashMatches(p, report('bad-access in x', ['KASAN: use-after-free Write in tcp_close'])), true);
    assert.equal(crashMatches(p, report('KASAN: use-after-free Read in udp_sendmsg')), false);
  });

  it('rejects a broken or empty pattern', () => {
    assert.throws(() => parseCrashPolicy('('), InvalidOptionError);
    assert.throws(() => parseCrashPolicy(''), InvalidOptionError);
    assert.throws(() => parseCrashPolicy('a'.repeat(2000)), InvalidOptionError);
  });

  it('classifies a console log directly', () => {
    const log = '[ 1.0] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!\n';
    assert.deepEqual(classifyConsole(parseCrashPolicy('^BUG: workqueue'), log), { crashed: true, matches: true, title: 'BUG: workqueue lockup', type: '' });
    assert.deepEqual(classifyConsole(parseCrashPolicy('any'), 'all fine\n'), { crashed: false, matches: false, title: '', type: '' });
  });

  // Crashes that say nothing about the kernel (syzkaller's transient kinds) do not count by default.
  const transient: [string, string | undefined][] = [
    ['lost connection to test machine', 'lost-connection'],
    ['SYZFAIL: failed to recv rpc', 'executor-failure'],
    ['SYZFATAL: executor failed 11 times', 'executor-failure'],
    ['unexpected kernel reboot', 'unexpected-reboot'],
    ['general protection fault in tcp_sendmsg', undefined],
    ['no output from test machine', undefined],
    ['BUG: lost connection handling in foo', undefined],
  ];
  for (const [title, kind] of transient) it(`transient kind of ${JSON.stringify(title)}: ${kind ?? 'none'}`, () => assert.equal(transientKind(title), kind));

  it('any: a transient crash does not count, a kernel crash does', () => {
    const p = parseCrashPolicy('any');
    assert.equal(crashMatches(p, report('lost connection to test machine')), false);
    assert.equal(crashMatches(p, report('SYZFATAL: executor failed 11 times')), false);
    assert.equal(crashMatches(p, report('SYZFAIL: wrong response')), false);
    assert.equal(crashMatches(p, report('KASAN: use-after-free Read in g')), true);
    assert.deepEqual(classifyConsole(p, '[ 2.0] SYZFAIL: failed to recv rpc\n').matches, false);
  });

  it('any: a transient crash counts when the original crash is of that kind', () => {
    assert.equal(crashMatches(parseCrashPolicy('any', ['lost connection to test machine']), report('lost connection to test machine')), true);
    assert.equal(crashMatches(parseCrashPolicy('any', ['SYZFATAL: executor failed 11 times']), report('SYZFAIL: wrong response')), true);
    // Another transient kind than the original's still does not count.
    assert.equal(crashMatches(parseCrashPolicy('any', ['lost connection to test machine']), report('SYZFAIL: wrong response')), false);
    assert.equal(crashMatches(parseCrashPolicy('any', ['WARNING in f']), report('lost connection to test machine')), false);
  });

  it('the agent applies it: the job policy any with and without original titles', () => {
    const any = Policy.fromPartial({ crashMatch: CrashMatch.CRASH_MATCH_ANY });
    assert.deepEqual(crashPolicyOf(any), { kind: 'any', originalTitles: [] });
    assert.equal(titleMatchesPolicy(any, 'lost connection to test machine'), false);
    assert.equal(titleMatchesPolicy(undefined, 'lost connection to test machine'), false);
    assert.equal(titleMatchesPolicy(any, 'BUG: planted regression'), true);
    assert.equal(titleMatchesPolicy(Policy.fromPartial({ originalTitles: ['lost connection to test machine'] }), 'lost connection to test machine'), true);
    // "same" and regular expressions already say exactly what counts.
    assert.equal(titleMatchesPolicy(Policy.fromPartial({ crashMatch: CrashMatch.CRASH_MATCH_REGEX, crashRegex: '^lost' }), 'lost connection to test machine'), true);
  });
});
