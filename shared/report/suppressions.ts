/**
 * Output that means "not a kernel bug": the fuzzer or sshd killed by the OOM killer, init
 * crashing. A report is still returned (it did crash) but flagged `suppressed`.
 * Each entry: a literal to find fast with indexOf, and the rule checked on that line.
 */
import { literalsRegexp, type Source } from './source.js';

const SUPPRESSIONS: readonly [needle: string, rule: RegExp][] = [
  ['panic: failed to start executor binary', /panic: failed to start executor binary/],
  ['panic: executor failed: pthread_create failed', /panic: executor failed: pthread_create failed/],
  ['panic: error decoding prog', /panic: error decoding prog/],
  ['fatal error: runtime: ', /fatal error: runtime: (?:out of memory|cannot allocate memory)/],
  ['fatal error: unexpected signal during runtime execution', /fatal error: unexpected signal during runtime execution/],
  ['signal SIGBUS: bus error', /signal SIGBUS: bus error/],
  ['Out of memory: Kill', /Out of memory: Kill(?:ed)? process .{0,64}\((?:syz-executor|sshd|syz-fuzzer)[^)]{0,16}\)/],
  ['Killed process', /Killed process .{0,64}\((?:syz-executor|sshd|syz-fuzzer)[^)]{0,16}\)/],
  ['lowmemorykiller: Killing', /lowmemorykiller: Killing '(?:syz-executor|sshd|syz-fuzzer)/],
  ['INIT: PANIC: segmentation violation!', /INIT: PANIC: segmentation violation!/],
  ['*** stack smashing detected ***: terminated', /\*\*\* stack smashing detected \*\*\*: terminated/],
];

const NEEDLES = literalsRegexp(SUPPRESSIONS.map(([needle]) => needle));

/** The first suppression rule the output matches, if any (one scan for all needles). */
export function findSuppression(text: Source): RegExp | undefined {
  for (let at = text.find(NEEDLES, 0); at !== -1; at = text.find(NEEDLES, text.lineEnd(at))) {
    const start = text.lineStart(at);
    const line = text.text(start, Math.min(text.lineEnd(at), start + 1024));
    for (const [needle, rule] of SUPPRESSIONS) if (line.includes(needle) && rule.test(line)) return rule;
  }
  return undefined;
}
