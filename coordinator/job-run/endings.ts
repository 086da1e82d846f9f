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
    return { state: JobState.JOB_STATE_FAILED, result: { reason: untestableStart(f, untestable) } };
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

/** "The bad commit cannot be built/booted": which commit, on which agents, at which step, where the logs are. */
function untestableStart(f: FaultFacts, v: Verdict): string {
  const what = f.mode === 'fix' ? 'the tip' : 'the bad commit';
  const probes = (list: readonly Verdict[]) => list.map((x) => `multisect logs ${f.jobId} --probe ${x.probeId}`).join(', ');
  if (v.build && !v.build.ok) {
    const line = (v.build.error || 'build failed').trim().split('\n').slice(-1)[0];
    return `${what} ${short(v.commit)} cannot be built (agent ${v.agentId}, step: build: ${line}); build log: ${probes([v])}`;
  }
  const failed = [...f.verdicts.filter((x) => x.commit === v.commit && x.probeId !== v.probeId && f.discounted.has(x.probeId)), v];
  const agents = [...new Set(failed.map((x) => x.agentId))].join(', ');
  const why = v.runs.find((r) => r.title)?.title ?? 'no run completed';
  const step = v.runs.some((r) => r.bootFailed) ? 'boot' : 'test';
  return `${what} ${short(v.commit)} cannot be tested (agent${failed.length > 1 ? 's' : ''} ${agents}, step: ${step}: ${why}); logs: ${probes(failed)}`;
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
