/**
 * What a verdict says, read off its runs (pure): the engine's evidence, a release's outcome, the
 * representative crash. `verdicts.ts` and `run-facts.ts` (which do I/O) use the same rules.
 */
import { completedRun, incompleteReason } from '../../shared/run-evidence.js';
import { RunOutcome, type Verdict } from '../../shared/proto.js';
import type { EngineVerdict } from '../engine/index.js';

export { completedRun, incompleteReason };

/**
 * A verdict as evidence: the runs that completed (ok or crash) and the crashes that match the
 * job's crash policy. A failed build, or fewer than half the runs completed, is a skip.
 */
export function toEngineVerdict(v: Verdict): EngineVerdict {
  if (v.build && !v.build.ok) return { probeId: v.probeId, commit: v.commit, skipped: true, reason: v.build.error || 'build failed' };
  const completed = v.runs.filter(completedRun);
  const incomplete = completed.length === 0 ? (v.runs.find((r) => r.title)?.title ?? 'no run completed') : incompleteReason(v);
  if (incomplete !== undefined) return { probeId: v.probeId, commit: v.commit, skipped: true, reason: incomplete };
  const crashes = completed.filter((r) => r.outcome === RunOutcome.RUN_OUTCOME_CRASH && r.matches).length;
  return { probeId: v.probeId, commit: v.commit, runs: completed.length, crashes };
}

export function isSkip(v: Verdict): boolean {
  return 'skipped' in toEngineVerdict(v);
}

export type WalkOutcome = 'crashed' | 'clean' | 'skipped';

export function verdictOutcome(v: Verdict): WalkOutcome {
  const e = toEngineVerdict(v);
  if ('skipped' in e) return 'skipped';
  return e.crashes > 0 ? 'crashed' : 'clean';
}

/** The first crash that counts (matches the crash policy) on `commit` (or on any commit). */
export function crashOf(verdicts: readonly Verdict[], commit?: string): { title: string; logKey: string } | undefined {
  for (const v of verdicts) {
    if (commit && v.commit !== commit) continue;
    const r = v.runs.find((x) => x.outcome === RunOutcome.RUN_OUTCOME_CRASH && x.matches);
    if (r) return { title: r.title, logKey: r.logKey };
  }
  return undefined;
}
