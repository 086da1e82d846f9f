/**
 * Which runs of a verdict say something about the commit (pure). The job reducer
 * (coordinator/job-run/evidence.ts) and the job log (job-log.ts) read verdicts by the same rule.
 */
import { transientKind } from './report/crash-type.js';
import { RunOutcome, type RunResult, type Verdict } from './proto.js';

/**
 * A run that says something about the commit: ok, or a crash, but not a crash of a transient
 * kind that does not count (a lost connection to the test machine says nothing either way).
 */
export function completedRun(r: RunResult): boolean {
  if (r.outcome === RunOutcome.RUN_OUTCOME_OK) return true;
  return r.outcome === RunOutcome.RUN_OUTCOME_CRASH && (r.matches || transientKind(r.title) === undefined);
}

/**
 * Fewer than half the runs completed (the others skipped, infra, transient): as in syzkaller, the
 * few that passed are no evidence. Undefined when enough completed; else why not.
 */
export function incompleteReason(v: Verdict): string | undefined {
  if (v.runs.length === 0) return undefined;
  const completed = v.runs.filter(completedRun).length;
  if (completed * 2 >= v.runs.length) return undefined;
  const why = v.runs.find((r) => !completedRun(r) && r.title)?.title;
  return completed === 0 ? (why ?? 'no run completed') : `only ${completed} of ${v.runs.length} runs completed${why ? ` (${why})` : ''}`;
}
