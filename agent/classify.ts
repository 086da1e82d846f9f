/**
 * How the agent judges a run: the crash title against the job's crash policy. Console logs of
 * the kernel recipe go through the crash-report parser first.
 */
import { CrashMatch, type Policy } from '../shared/proto.js';
import type { RunClassification } from './recipes/types.js';

export function titleMatchesPolicy(policy: Policy | undefined, title: string): boolean {
  switch (policy?.crashMatch ?? CrashMatch.CRASH_MATCH_ANY) {
    case CrashMatch.CRASH_MATCH_SAME:
      return (policy?.originalTitles ?? []).includes(title);
    case CrashMatch.CRASH_MATCH_REGEX:
      try {
        return new RegExp(policy?.crashRegex ?? '').test(title);
      } catch {
        return false;
      }
    default:
      return true;
  }
}

export function classifyOutput(policy: Policy | undefined, output: string): RunClassification {
  // Replaced by the crash-report parser (shared/report) when it lands.
  const m = /^(?:.*\] )?((?:BUG|WARNING|INFO|general protection fault|Kernel panic|kernel BUG)[^\n]*)$/m.exec(output);
  if (!m) return { crashed: false, matches: false, title: '', type: '' };
  const title = m[1]!.trim();
  return { crashed: true, matches: titleMatchesPolicy(policy, title), title, type: '' };
}
