/**
 * How a job ends because of its evidence rather than the engine's decision (pure): the bad
 * commit cannot be tested, infrastructure fails on every agent, too many skips in a row. And the
 * flags of a culprit that come from the bisection itself.
 */
import { short } from '../../shared/job-log.js';
import { JobState, type JobResult, type Verdict } from '../../shared/proto.js';
import { isSkip, toEngineVerdict } from './evidence.js';
import type { AgentView } from './types.js';

export interface Ending {
  state: JobState;
  result: Partial<JobResult>;
}

export interface FaultFacts {
  jobId: string;
  mode: 'cause' | 'fix';
  badHash: string;
  /** Every verdict the job took, in order. */
  verdicts: readonly Verdict[];
  /** Probe ids whose verdicts do not count (held boot failures, the host's faults). */
  discounted: ReadonlySet<string>;
  infraFailures: ReadonlyMap<string, string>;
  skipRun: { count: number; last: string };
  maxSkips: number;
  top: readonly { commit: string; probability: number }[];
}

/**
 * Host faults that end a job: the bad commit (the first probe) cannot be built or booted, an
 * infrastructure failure on every agent able to run the job, or too many skips in a row.
 */
export function hostFaultEnding(f: FaultFacts, agents: AgentView): Ending | undefined {
  const counted = f.verdicts.filter((v) => v.commit === f.badHash && !f.discounted.has(v.probeId) && !v.abortReason);
  const untestable = counted.find(isSkip);
  if (untestable && !counted.some((v) => !isSkip(v))) {
    const end = untestableStart(f, untestable);
    const role = f.mode === 'fix' ? 'tip' : 'bad';
    return { state: JobState.JOB_STATE_FAILED, result: { reason: end.reason, untestable: { commit: f.badHash, role, reason: end.why, tag: '', probeIds: end.probeIds } } };
  }
  if (agents.able.length > 0 && agents.able.every((a) => f.infraFailures.has(a))) {
    const reasons = agents.able.map((a) => `${a}: ${f.infraFailures.get(a)}`).join('; ');
    return { state: JobState.JOB_STATE_FAILED, result: { reason: `infrastructure failure on every agent able to run the job (${reasons}); fix the hosts and submit again` } };
  }
  if (f.skipRun.count >= f.maxSkips) {
    return {
      state: JobState.JOB_STATE_INCONCLUSIVE,
      result: {
        reason: `${f.skipRun.count} probes in a row could not be tested (last: ${f.skipRun.last}); the culprit is among the suspects (raise --max-skips to go on)`,
        confidence: f.top[0]?.probability ?? 0,
        suspects: f.top.slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
      },
    };
  }
  return undefined;
}

/**
 * "The bad commit cannot be built/booted": which commit, on which agents, at which step, where the
 * logs are. In fix mode the tip (the commit that must not crash) "cannot be tested": a fix job
 * cannot say anything about a range whose fixed end it cannot run.
 */
function untestableStart(f: FaultFacts, v: Verdict): { reason: string; why: string; probeIds: string[] } {
  const what = f.mode === 'fix' ? 'the tip' : 'the bad commit';
  const probes = (list: readonly Verdict[]) => list.map((x) => `multisect logs ${f.jobId} --probe ${x.probeId}`).join(', ');
  if (v.build && !v.build.ok) {
    const line = (v.build.error || 'build failed').trim().split('\n').slice(-1)[0] ?? 'build failed';
    const where = `agent ${v.agentId}, step: build: ${line}`;
    const reason = f.mode === 'fix' ? `${what} ${short(v.commit)} cannot be tested: it cannot be built (${where}); build log: ${probes([v])}` : `${what} ${short(v.commit)} cannot be built (${where}); build log: ${probes([v])}`;
    return { reason, why: `build: ${line}`, probeIds: [v.probeId] };
  }
  const failed = [...f.verdicts.filter((x) => x.commit === v.commit && x.probeId !== v.probeId && f.discounted.has(x.probeId)), v];
  const agents = [...new Set(failed.map((x) => x.agentId))].join(', ');
  const e = toEngineVerdict(v);
  const why = 'skipped' in e ? (e.reason ?? 'no run completed') : 'no run completed';
  const step = v.runs.some((r) => r.bootFailed) ? 'boot' : 'test';
  return {
    reason: `${what} ${short(v.commit)} cannot be tested (agent${failed.length > 1 ? 's' : ''} ${agents}, step: ${step}: ${why}); logs: ${probes(failed)}`,
    why: `${step}: ${why}`,
    probeIds: failed.map((x) => x.probeId),
  };
}

/**
 * A release walk that reached its oldest release without a clean one, and that release could not
 * be built or booted: nothing says whether the bug is older, so this is an error, not an answer.
 */
export function untestableRelease(jobId: string, tag: { tag: string; commit: string }, verdicts: readonly Verdict[], discounted: ReadonlySet<string>): Ending {
  const mine = verdicts.filter((v) => v.commit === tag.commit);
  const counted = mine.filter((v) => !discounted.has(v.probeId));
  const last = counted[counted.length - 1] ?? mine[mine.length - 1];
  const e = last ? toEngineVerdict(last) : undefined;
  const why = e && 'skipped' in e ? (e.reason ?? 'skipped').trim().split('\n').slice(-1)[0] ?? 'skipped' : 'skipped';
  const logs = mine.map((v) => `multisect logs ${jobId} --probe ${v.probeId}`).join(', ');
  return {
    state: JobState.JOB_STATE_FAILED,
    result: {
      reason: `the oldest release ${tag.tag} (${short(tag.commit)}) could not be tested (${why}), and every newer one crashed or could not be tested: no clean release to bisect from; logs: ${logs}; give --good REF (a commit known not to crash) or --oldest-release`,
      untestable: { commit: tag.commit, role: 'release', reason: why, tag: tag.tag, probeIds: mine.map((v) => v.probeId) },
    },
  };
}

/** The next skip count: a skip after the bad commit is confirmed adds one, any evidence resets it. */
export function nextSkipRun(run: { count: number; last: string }, v: Verdict, badConfirmed: boolean, badHash: string): { count: number; last: string } {
  const e = toEngineVerdict(v);
  if (!('skipped' in e)) return { count: 0, last: '' };
  if (!badConfirmed || v.commit === badHash) return run;
  return { count: run.count + 1, last: `${short(v.commit)}: ${(e.reason ?? 'skipped').split('\n')[0]}` };
}

/** Flags that come from the bisection itself rather than from the commit (culprit-facts.ts has the commit's). */
export function bisectionFlags(f: { confidence: number; target: number; originalTitle?: string; culpritTitle?: string }): string[] {
  const flags: string[] = [];
  if (f.confidence < f.target) flags.push(`confidence ${f.confidence.toFixed(3)} is below the target ${f.target}`);
  if (f.originalTitle && f.culpritTitle && f.culpritTitle !== f.originalTitle) {
    flags.push(`the crash at the culprit ("${f.culpritTitle}") differs from the original ("${f.originalTitle}")`);
  }
  return flags;
}
