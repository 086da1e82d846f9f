/**
 * How the agent judges a run: the console goes through the crash-report parser, and the crash
 * through the job's crash policy (shared/crash-policy.ts).
 */
import { classifyConsole, crashMatches, type CrashPolicy } from '../shared/crash-policy.js';
import { CrashMatch, type Policy } from '../shared/proto.js';
import type { RunClassification } from './recipes/types.js';

/** The job's policy as the crash-policy module wants it. The spec was validated on submission. */
export function crashPolicyOf(policy: Policy | undefined): CrashPolicy {
  switch (policy?.crashMatch ?? CrashMatch.CRASH_MATCH_ANY) {
    case CrashMatch.CRASH_MATCH_SAME:
      return { kind: 'same', titles: policy?.originalTitles ?? [] };
    case CrashMatch.CRASH_MATCH_REGEX:
      return { kind: 'regex', pattern: new RegExp(policy?.crashRegex ?? '') };
    default:
      // The original titles tell whether a transient kind (lost connection...) is the bug itself.
      return { kind: 'any', originalTitles: policy?.originalTitles ?? [] };
  }
}

/** For recipes that know a crash only by its title (the script recipe's CRASH: line). */
export function titleMatchesPolicy(policy: Policy | undefined, title: string): boolean {
  return crashMatches(crashPolicyOf(policy), { title, altTitles: [] });
}

export function classifyOutput(policy: Policy | undefined, output: string): RunClassification {
  return classifyConsole(crashPolicyOf(policy), output);
}
