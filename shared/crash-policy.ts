/**
 * Crash policy: which crashes count against a commit.
 *
 * - `any`: every crash of the kernel counts. Choose it when the reproducer is specific (it only
 *   ever triggers the bug under bisection) or when any crash at all is the regression (a boot
 *   test). Crashes that say nothing about the kernel (a lost connection to the test machine, an
 *   executor failure: syzkaller's transient kinds, `transientKind`) do not count, unless the
 *   original crash (`originalTitles`) is of that kind: then that kind is the bug.
 * - `same`: a crash counts when its title, or one of its alternative titles, equals one of
 *   the original crash's titles. Choose it for syzbot-style bisections: old commits often
 *   crash differently first (an unrelated bug the reproducer also hits), and counting those
 *   is how bisections end on the wrong commit. Give every title the original crash was
 *   reported under (syzbot lists them).
 * - a regular expression: a crash counts when its title or an alternative title matches.
 *   Choose it when the title drifts across the range (the guilty function was renamed or
 *   inlined): `^KASAN: use-after-free Read in (tcp|inet)_` keeps the class and the area.
 *
 * Whatever the policy, a run that crashed is reported with its title, so a crash that did not
 * count still shows in the job log. See docs/crash-policy.md.
 */
import { InvalidOptionError } from './errors.js';
import { parse, transientKind } from './report/index.js';
import type { CrashReport } from './report/index.js';

export type CrashPolicy =
  | { kind: 'any'; originalTitles?: readonly string[] }
  | { kind: 'same'; titles: readonly string[] }
  | { kind: 'regex'; pattern: RegExp };

/** How one run went under a policy. */
export interface RunVerdict {
  /** The console shows a crash (any crash). */
  crashed: boolean;
  /** The crash counts against the commit under the policy. */
  matches: boolean;
  /** The crash title ('' when none). */
  title: string;
  /** The crash class ('' when none or unclassified). */
  type: string;
}

/** Titles are short; a user pattern is refused beyond this length rather than trusted. */
const MAX_PATTERN_LENGTH = 1024;

/**
 * Build a policy from its command-line spelling: "any", "same" (with the original titles)
 * or a regular expression.
 */
export function parseCrashPolicy(spec: string, originalTitles: readonly string[] = []): CrashPolicy {
  if (spec === 'any') return { kind: 'any', originalTitles };
  if (spec === 'same') {
    const titles = originalTitles.map((t) => t.trim()).filter((t) => t !== '');
    if (titles.length === 0) {
      throw new InvalidOptionError('crash', 'policy "same" needs the original crash titles', {
        hint: 'pass --original-title "<title>" (repeatable)',
      });
    }
    return { kind: 'same', titles };
  }
  if (spec === '') throw new InvalidOptionError('crash', 'empty policy', { hint: 'use any, same or a regular expression' });
  if (spec.length > MAX_PATTERN_LENGTH) throw new InvalidOptionError('crash', `regular expression longer than ${MAX_PATTERN_LENGTH} characters`);
  try {
    return { kind: 'regex', pattern: new RegExp(spec) };
  } catch (err) {
    throw new InvalidOptionError('crash', `not a regular expression: ${(err as Error).message}`, { cause: err });
  }
}

/** Does this crash count under the policy? */
export function crashMatches(policy: CrashPolicy, report: Pick<CrashReport, 'title' | 'altTitles'>): boolean {
  const titles = [report.title, ...report.altTitles];
  switch (policy.kind) {
    case 'any': {
      const kind = transientKind(report.title);
      return kind === undefined || (policy.originalTitles ?? []).some((t) => transientKind(t) === kind);
    }
    case 'same':
      return titles.some((t) => policy.titles.includes(t));
    case 'regex':
      return titles.some((t) => policy.pattern.test(t));
  }
}

/** Classify a run from its parse result (undefined: no crash in the console). */
export function classifyRun(policy: CrashPolicy, report: CrashReport | undefined): RunVerdict {
  if (!report) return { crashed: false, matches: false, title: '', type: '' };
  return { crashed: true, matches: crashMatches(policy, report), title: report.title, type: report.type };
}

/** Parse a console log and classify the run in one step. */
export function classifyConsole(policy: CrashPolicy, console: string | Uint8Array): RunVerdict {
  return classifyRun(policy, parse(console));
}
