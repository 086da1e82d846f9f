/**
 * Jobs: submission, the verdict fold, scheduling across agents, leases, cancellation, recovery.
 *
 * State lives in JetStream only. A job's state is a pure fold of its spec and its verdicts; the
 * KV record holds the spec, a status summary, the phase and the probes in flight (so that a
 * restarted coordinator recognises the assignments agents still hold). Every mutation of a job
 * happens synchronously between awaits, so handlers running concurrently see consistent state.
 *
 * A job goes through phases: `release-walk` (cause job without a good commit: find a clean
 * release), `bisecting` (the engine), `verifying` (the culprit and its parents tested again with
 * more runs before the job ends). Probe ids carry the phase (`-r-`, `-b-`, `-v-`), so a replay
 * after a restart puts every verdict back where it belongs.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { InvalidJobError, JobNotFoundError, JobStateError } from '../shared/errors.js';
import { git, resolveCommit } from '../shared/git.js';
import { compileJobSpec } from '../shared/job-spec.js';
import { FINAL_STATES, headerLines, renderJobLog, resultLines, short, verdictLines } from '../shared/job-log.js';
import type { MirrorSet } from '../shared/mirror.js';
import type { Store } from '../shared/nats.js';
import {
  CommitInfo,
  CoordinatorMessage,
  Job,
  JobResult,
  JobState,
  Mode,
  Probe,
  type JobSpec,
  type Verdict,
} from '../shared/proto.js';
import type { AgentEntry, AgentRegistry } from './agent-registry.js';
import { bisectionFlags, culpritFacts } from './culprit-facts.js';
import { loadCandidateDag } from './dag-loader.js';
import { Bisection, type CandidateDag, type Decision } from './engine/index.js';
import type { EventPublisher } from './events.js';
import type { InFlightRecord, JobStore } from './job-store.js';
import { releaseTags, ReleaseWalk } from './release-walk.js';
import { crashOf, crashReportText, verdictOutcome } from './run-facts.js';
import { pickJob } from './scheduler.js';
import { HostFaults, type FaultJudgement } from './host-faults.js';
import { readJobVerdicts, toEngineVerdict } from './verdicts.js';
import type { NatsCredentials } from './nats-credentials.js';

type Phase = 'release-walk' | 'bisecting' | 'verifying';

interface VerifyState {
  culprit: string;
  parents: string[];
}

interface JobRuntime {
  job: Job;
  mirror: string;
  phase: Phase;
  walk: ReleaseWalk | undefined;
  dag: CandidateDag | undefined;
  engine: Bisection | undefined;
  verify: VerifyState | undefined;
  verifyRounds: number;
  inFlight: Map<string, InFlightRecord>;
  /** Probe ids this job assigned; a verdict for any other id is not counted. */
  issued: Set<string>;
  verdicts: Verdict[];
  seen: Set<string>;
  lastServedMs: number;
  /** When the coordinator (re)started tracking it: the lease clock for agents not seen yet. */
  trackedSinceMs: number;
  persistChain: Promise<void>;
  /** Boot failures and infrastructure runs: the host's fault or the commit's (host-faults.ts). */
  faults: HostFaults;
  /** Verdicts that are not evidence (yet): held boot failures, infrastructure runs. */
  discounted: Set<string>;
  /** Skips in a row since the last informative verdict, once the bad commit is confirmed. */
  skipRun: { count: number; last: string };
}

/** Skips in a row (after the bad commit is confirmed) that end a job inconclusive, by default. */
export const DEFAULT_MAX_SKIPS = 10;

export interface JobManagerDeps {
  store: Store;
  jobStore: JobStore;
  events: EventPublisher;
  mirrors: MirrorSet;
  registry: AgentRegistry;
  leaseMs: number;
  /** With NATS JWT authentication: mints each assignment's verdict credential. */
  credentials?: NatsCredentials;
  logger: Logger;
}

/** Verification rounds before a job ends anyway (a culprit that keeps moving is reported as is). */
const MAX_VERIFY_ROUNDS = 2;

/**
 * What the operator says of the reproducer becomes a strong prior (worth 200 runs, as
 * `multisect simulate` does); unsaid, the engine's weak defaults let the verdicts speak.
 */
function reproducerPrior(policy: JobSpec['policy']): Record<string, number> {
  const prior: Record<string, number> = {};
  if (policy?.reproRate) Object.assign(prior, { repro: Math.min(policy.reproRate, 0.999), reproWeight: 200 });
  if (policy?.reproRate === 1 || policy?.falseCrashRate) Object.assign(prior, { falseCrash: Math.max(policy?.falseCrashRate ?? 0, 0.0001), falseCrashWeight: 200 });
  return prior;
}

export function newJobId(): string {
  return `j${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

const PHASE_TAG: Record<Phase, string> = { 'release-walk': 'r', bisecting: 'b', verifying: 'v' };

export class JobManager {
  private readonly running = new Map<string, JobRuntime>();
  private readonly logger: Logger;
  private scheduling = false;
  private rescheduled = false;

  constructor(private readonly deps: JobManagerDeps) {
    this.logger = deps.logger.child({ component: 'jobs' });
  }

  // ---- lifecycle of a job ----

  /** Rebuild every running job from its spec and its verdicts (after a restart). */
  async recover(): Promise<void> {
    for (const rec of await this.deps.jobStore.list()) {
      if (FINAL_STATES.has(rec.job.state)) continue;
      try {
        const rt = await this.startRuntime(rec.job);
        for (const r of rec.inFlight) rt.inFlight.set(r.probeId, r);
        for (const id of [...(rec.issued ?? []), ...rec.inFlight.map((r) => r.probeId)]) rt.issued.add(id);
        const verdicts = await readJobVerdicts(this.deps.store, rec.job.id, this.logger);
        for (const v of verdicts) {
          this.fold(rt, v);
          rt.inFlight.delete(v.probeId);
        }
        this.logger.info({ jobId: rec.job.id, verdicts: verdicts.length, inFlight: rt.inFlight.size, phase: rt.phase }, 'job recovered');
        await this.afterEvidence(rt);
      } catch (err) {
        this.logger.error({ err, jobId: rec.job.id }, 'job could not be recovered');
        rec.job.state = JobState.JOB_STATE_FAILED;
        rec.job.result = JobResult.fromPartial({ reason: `could not be recovered: ${(err as Error).message}` });
        await this.deps.jobStore.put({ job: rec.job, inFlight: [] });
      }
    }
  }

  async submit(input: JobSpec): Promise<Job> {
    const spec = compileJobSpec(input);
    const now = Date.now();
    const job = Job.fromPartial({ id: newJobId(), spec, state: JobState.JOB_STATE_QUEUED, createdMs: now, updatedMs: now });
    job.slotsAtStart = this.deps.registry.all().reduce((n, a) => n + (a.stream ? a.slots.length : 0), 0);
    const rt = await this.startRuntime(job, { refresh: true });
    job.state = JobState.JOB_STATE_RUNNING;
    await this.persist(rt);
    await this.deps.events.publish({ jobId: job.id, kind: 'submitted', state: job.state, message: headerLines(this.snapshot(rt)).join('\n'), candidatesLeft: job.candidatesLeft });
    this.logger.info({ jobId: job.id, candidates: job.candidatesTotal, phase: rt.phase, repo: spec.repo }, 'job submitted');
    this.schedule();
    return this.snapshot(rt);
  }

  private async startRuntime(job: Job, opts: { refresh?: boolean } = {}): Promise<JobRuntime> {
    const spec = job.spec!;
    const mirror = await this.deps.mirrors.ensure(spec.repo, { refresh: opts.refresh, wanted: [job.badHash, ...job.goodHashes].filter(Boolean) });
    job.badHash = job.badHash || (await resolveCommit(mirror, spec.bad, 'bad'));
    const rt: JobRuntime = {
      job,
      mirror,
      phase: 'bisecting',
      walk: undefined,
      dag: undefined,
      engine: undefined,
      verify: undefined,
      verifyRounds: 0,
      inFlight: new Map(),
      issued: new Set(),
      verdicts: [],
      seen: new Set(),
      lastServedMs: 0,
      trackedSinceMs: Date.now(),
      persistChain: Promise.resolve(),
      faults: new HostFaults(),
      discounted: new Set(),
      skipRun: { count: 0, last: '' },
    };
    const goods = job.goodHashes.length ? job.goodHashes : spec.goods;
    if (goods.length === 0 && spec.mode !== Mode.MODE_FIX) {
      const tags = await releaseTags(mirror, job.badHash, spec.policy?.oldestRelease ?? '');
      if (tags.length === 0) {
        throw new InvalidJobError('good', 'no good commit given and no release tag (vX.Y) older than bad to start from', {
          hint: 'give --good REF: the last commit known not to crash',
        });
      }
      rt.walk = new ReleaseWalk(tags);
      rt.phase = 'release-walk';
    } else {
      await this.startBisecting(rt, goods);
    }
    job.phase = rt.phase;
    this.running.set(job.id, rt);
    return rt;
  }

  /** Build the candidate DAG and the engine, and feed it the verdicts seen so far. */
  private async startBisecting(rt: JobRuntime, goods: readonly string[]): Promise<void> {
    const spec = rt.job.spec!;
    const dag = await loadCandidateDag(rt.mirror, rt.job.badHash, [...goods], { firstParent: spec.policy?.firstParent ?? false });
    rt.dag = dag;
    rt.engine = Bisection.create(dag, {
      mode: spec.mode === Mode.MODE_FIX ? 'fix' : 'cause',
      confidenceTarget: spec.policy?.confidenceTarget ?? 0.99,
      seed: Number(spec.policy?.seed ?? 0) || 1,
      runsPerProbe: spec.policy?.runsPerProbe || 1,
      ...reproducerPrior(spec.policy),
    });
    rt.job.badHash = dag.hashes[dag.bad]!;
    rt.job.goodHashes = dag.goods;
    rt.job.candidatesTotal = dag.hashes.length;
    rt.job.candidatesLeft = dag.hashes.length;
    rt.phase = 'bisecting';
    rt.job.phase = rt.phase;
    for (const v of rt.verdicts) if (!rt.discounted.has(v.probeId)) this.applyToEngine(rt, v);
  }

  async get(jobId: string): Promise<Job> {
    const rt = this.running.get(jobId);
    if (rt) return this.snapshot(rt);
    const rec = await this.deps.jobStore.get(jobId);
    if (!rec) throw new JobNotFoundError(jobId);
    return rec.job;
  }

  async list(activeOnly: boolean): Promise<Job[]> {
    const jobs = (await this.deps.jobStore.list()).map((r) => {
      const rt = this.running.get(r.job.id);
      return rt ? this.snapshot(rt) : r.job;
    });
    return jobs.filter((j) => !activeOnly || !FINAL_STATES.has(j.state)).sort((a, b) => a.createdMs - b.createdMs);
  }

  async cancel(jobId: string, reason: string): Promise<Job> {
    const rt = this.running.get(jobId);
    if (!rt) {
      const job = await this.get(jobId);
      throw new JobStateError(`job ${jobId} has already ended (${JobState[job.state]})`);
    }
    await this.finish(rt, JobState.JOB_STATE_CANCELLED, { reason: reason || 'cancelled by the operator' });
    return rt.job;
  }

  /** The bisection log of a job (rendered from its verdicts). */
  async jobLog(jobId: string): Promise<string> {
    const rt = this.running.get(jobId);
    if (rt) return renderJobLog(this.snapshot(rt), rt.verdicts);
    const job = await this.get(jobId);
    const seen = new Set<string>();
    const verdicts = (await readJobVerdicts(this.deps.store, jobId, this.logger)).filter((v) => !seen.has(v.probeId) && seen.add(v.probeId));
    return renderJobLog(job, verdicts);
  }

  // ---- evidence ----

  /** Apply a verdict from the stream, persist what changed, then resolve (the caller acks). */
  async onVerdict(v: Verdict): Promise<void> {
    const rt = this.running.get(v.jobId);
    if (!rt) return; // finished or unknown job: the verdict stays in the stream as a fact.
    rt.inFlight.delete(v.probeId);
    const judged = this.fold(rt, v);
    if (!judged) return;
    this.deps.registry.releaseProbe(v.probeId);
    const status = rt.engine?.status();
    await this.deps.events.publish({
      jobId: v.jobId,
      kind: 'verdict',
      probeId: v.probeId,
      commit: v.commit,
      agentId: v.agentId,
      message: verdictLines(v).join('\n'),
      candidatesLeft: status?.candidatesLeft ?? rt.job.candidatesTotal,
      topProbability: status?.top[0]?.probability ?? 0,
      suspects: (status?.top ?? []).slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
    });
    if (v.abortReason) {
      await this.finish(rt, JobState.JOB_STATE_FAILED, { reason: v.abortReason });
      return;
    }
    await this.reportFaults(rt, judged);
    if (await this.endedByHostFaults(rt)) return;
    await this.afterEvidence(rt);
  }

  /** Say in the job's log what a verdict did not count for, and which agents are now unhealthy. */
  private async reportFaults(rt: JobRuntime, j: FaultJudgement): Promise<void> {
    if (j.discounted) await this.log(rt, j.discounted);
    for (const u of j.unhealthy) {
      const agent = this.deps.registry.get(u.agentId);
      const retry = agent?.health.state === 'unhealthy' ? Math.round((agent.health.retryAtMs - Date.now()) / 1000) : 0;
      await this.log(rt, `agent ${u.agentId} is unhealthy: ${u.reason}; it gets no work until a health check passes (in ${retry} s), and its failures are tested again elsewhere`);
    }
  }

  /**
   * Host faults that end a job: the bad commit (the first probe) cannot be built or booted, an
   * infrastructure failure on every agent able to run the job, or too many skips in a row.
   */
  private async endedByHostFaults(rt: JobRuntime): Promise<boolean> {
    const counted = this.countedVerdicts(rt, rt.job.badHash).filter((v) => !v.abortReason);
    const untestable = counted.find((v) => 'skipped' in toEngineVerdict(v));
    if (untestable && !counted.some((v) => !('skipped' in toEngineVerdict(v)))) {
      await this.finish(rt, JobState.JOB_STATE_FAILED, { reason: this.untestableStart(rt, untestable) });
      return true;
    }
    const kind = rt.job.spec?.recipe?.kind ?? 'script';
    const able = this.deps.registry.all().filter((a) => a.stream && (a.info.recipeKinds.length === 0 || a.info.recipeKinds.includes(kind)));
    const infra = rt.faults.infraFailures();
    if (able.length > 0 && able.every((a) => infra.has(a.info.agentId))) {
      const reasons = able.map((a) => `${a.info.agentId}: ${infra.get(a.info.agentId)}`).join('; ');
      await this.finish(rt, JobState.JOB_STATE_FAILED, { reason: `infrastructure failure on every agent able to run the job (${reasons}); fix the hosts and submit again` });
      return true;
    }
    const max = rt.job.spec?.policy?.maxSkips || DEFAULT_MAX_SKIPS;
    if (rt.skipRun.count >= max) {
      const top = rt.engine?.status().top ?? [];
      await this.finish(rt, JobState.JOB_STATE_INCONCLUSIVE, {
        reason: `${rt.skipRun.count} probes in a row could not be tested (last: ${rt.skipRun.last}); the culprit is among the suspects (raise --max-skips to go on)`,
        confidence: top[0]?.probability ?? 0,
        suspects: top.slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
      });
      return true;
    }
    return false;
  }

  /** "The bad commit cannot be built/booted": which commit, on which agents, at which step, where the logs are. */
  private untestableStart(rt: JobRuntime, v: Verdict): string {
    const what = rt.job.spec?.mode === Mode.MODE_FIX ? 'the tip' : 'the bad commit';
    const probes = (list: Verdict[]) => list.map((x) => `multisect logs ${rt.job.id} --probe ${x.probeId}`).join(', ');
    if (v.build && !v.build.ok) {
      const line = (v.build.error || 'build failed').trim().split('\n').slice(-1)[0];
      return `${what} ${short(v.commit)} cannot be built (agent ${v.agentId}, step: build: ${line}); build log: ${probes([v])}`;
    }
    const failed = [...rt.verdicts.filter((x) => x.commit === v.commit && x.probeId !== v.probeId && rt.discounted.has(x.probeId)), v];
    const agents = [...new Set(failed.map((x) => x.agentId))].join(', ');
    const why = v.runs.find((r) => r.title)?.title ?? 'no run completed';
    const step = v.runs.some((r) => r.bootFailed) ? 'boot' : 'test';
    return `${what} ${short(v.commit)} cannot be tested (agent${failed.length > 1 ? 's' : ''} ${agents}, step: ${step}: ${why}); logs: ${probes(failed)}`;
  }

  /** An agent could not run a probe because of its host (it threw InfraError): run it elsewhere. */
  async onInfra(agentId: string, probeId: string, reason: string): Promise<void> {
    for (const rt of this.running.values()) {
      const p = rt.inFlight.get(probeId);
      if (!p) continue;
      rt.faults.recordInfra(p.commit, agentId, reason);
      await this.log(rt, `infrastructure failure on ${agentId} while testing ${short(p.commit)}: ${reason}; testing it again elsewhere`);
      this.onHandBack(probeId, `infrastructure problem: ${reason}`);
      await this.endedByHostFaults(rt);
      return;
    }
    this.onHandBack(probeId, `infrastructure problem: ${reason}`);
  }

  /**
   * Fold one verdict into a job; undefined when it was seen before or was never asked for. What
   * counts as evidence is decided by the host-fault policy: a verdict may be held (a boot failure
   * not yet known to be the commit's) or discounted (the host's fault), and a held one may count
   * later, when the commit fails to boot elsewhere too.
   */
  private fold(rt: JobRuntime, v: Verdict): FaultJudgement | undefined {
    if (rt.seen.has(v.probeId)) return undefined;
    if (!rt.issued.has(v.probeId)) {
      // Anyone allowed to publish verdicts could make one up: only assigned probes count.
      this.logger.warn({ jobId: rt.job.id, probeId: v.probeId, agentId: v.agentId }, 'verdict for a probe this job never assigned: ignored');
      return undefined;
    }
    rt.seen.add(v.probeId);
    rt.verdicts.push(v);
    if (v.abortReason) return { apply: [v], unhealthy: [] };
    const kind = rt.job.spec?.recipe?.kind ?? 'script';
    const j = rt.faults.judge(v, Math.max(1, this.deps.registry.healthyCount(kind)));
    const now = Date.now();
    for (const u of j.unhealthy) this.deps.registry.markUnhealthy(u.agentId, u.reason, now);
    if (j.infra) {
      const agent = this.deps.registry.get(j.infra.agentId);
      if (agent) agent.problem = j.infra.reason;
    }
    if (!j.apply.includes(v)) rt.discounted.add(v.probeId);
    for (const a of j.apply) {
      rt.discounted.delete(a.probeId);
      const e = toEngineVerdict(a);
      if (!('skipped' in e) && !j.unhealthy.some((u) => u.agentId === a.agentId)) {
        this.deps.registry.markHealthy(a.agentId);
        rt.faults.recordHealthy(a.agentId);
      }
      this.countSkips(rt, a);
      rt.walk?.record(a.commit, verdictOutcome(a));
      this.applyToEngine(rt, a);
    }
    return j;
  }

  /** The verdicts of `commit` that count as evidence (not held, not discounted as the host's fault). */
  private countedVerdicts(rt: JobRuntime, commit: string): Verdict[] {
    return rt.verdicts.filter((v) => v.commit === commit && !rt.discounted.has(v.probeId));
  }

  /** Skips in a row once the bad commit is confirmed (a job must not run on for ever on skips). */
  private countSkips(rt: JobRuntime, v: Verdict): void {
    const e = toEngineVerdict(v);
    const confirmed = this.countedVerdicts(rt, rt.job.badHash).some((x) => !('skipped' in toEngineVerdict(x)));
    if (!('skipped' in e)) rt.skipRun = { count: 0, last: '' };
    else if (confirmed && v.commit !== rt.job.badHash) rt.skipRun = { count: rt.skipRun.count + 1, last: `${short(v.commit)}: ${(e.reason ?? 'skipped').split('\n')[0]}` };
  }

  private applyToEngine(rt: JobRuntime, v: Verdict): void {
    if (!rt.engine || v.abortReason) return;
    try {
      rt.engine.apply(toEngineVerdict(v));
    } catch (err) {
      // A release tag older than the range, or a parent outside it: a fact, not evidence here.
      if (!(err instanceof InvalidJobError)) throw err;
      this.logger.debug({ jobId: rt.job.id, commit: v.commit }, 'verdict outside the candidate range');
    }
  }

  /** After new evidence: move between phases, decide, cancel useless probes, persist, schedule. */
  private async afterEvidence(rt: JobRuntime): Promise<void> {
    if (rt.phase === 'release-walk') {
      const d = rt.walk!.decide();
      if (d.kind === 'exhausted') {
        await this.finish(rt, JobState.JOB_STATE_NOT_IN_RANGE, { reason: `the oldest tested release already had the bug (${d.oldest?.tag ?? 'none'})` });
        return;
      }
      if (d.kind === 'good') {
        for (const p of [...rt.inFlight.values()]) this.cancelProbe(rt, p, 'a clean release was found');
        await this.startBisecting(rt, [d.tag.commit]);
        await this.log(rt, `release ${d.tag.tag} (${short(d.tag.commit)}) is clean: bisecting ${rt.job.candidatesTotal} revisions between it and ${short(rt.job.badHash)}`);
      } else {
        await this.persist(rt);
        this.schedule();
        return;
      }
    }
    const engine = rt.engine!;
    const decision = engine.decide();
    if (rt.phase === 'verifying') {
      const v = rt.verify!;
      const pending = [v.culprit, ...v.parents].filter((c) => !this.verificationOf(rt, c));
      if (pending.length > 0) {
        await this.persist(rt);
        this.schedule();
        return;
      }
      if (decision.kind === 'culprit' && decision.commit === v.culprit) {
        await this.finishWithDecision(rt, decision);
        return;
      }
      rt.phase = 'bisecting';
      rt.verify = undefined;
      await this.log(rt, `verification did not confirm ${short(v.culprit)}; bisecting on`);
    }
    if (decision.kind === 'culprit' && !rt.job.spec?.policy?.skipVerification && rt.verifyRounds < MAX_VERIFY_ROUNDS) {
      await this.startVerifying(rt, decision.commit);
      return;
    }
    if (decision.kind !== 'continue') {
      await this.finishWithDecision(rt, decision);
      return;
    }
    const useless = new Set(engine.useless([...rt.inFlight.values()].map((p) => p.commit)));
    for (const p of [...rt.inFlight.values()]) if (useless.has(p.commit)) this.cancelProbe(rt, p, 'no longer useful');
    await this.persist(rt);
    this.schedule();
  }

  private async startVerifying(rt: JobRuntime, culprit: string): Promise<void> {
    const parents = (await git(rt.mirror, ['rev-list', '--parents', '-n', '1', culprit, '--'])).stdout.trim().split(/\s+/).slice(1);
    rt.phase = 'verifying';
    rt.job.phase = rt.phase;
    rt.verify = { culprit, parents };
    rt.verifyRounds += 1;
    for (const p of [...rt.inFlight.values()]) this.cancelProbe(rt, p, 'verifying the culprit');
    await this.log(rt, `verifying ${short(culprit)} and its parent${parents.length > 1 ? 's' : ''} ${parents.map(short).join(' ')} with ${this.verifyRuns(rt)} runs each`);
    await this.afterEvidence(rt);
  }

  private verifyRuns(rt: JobRuntime): number {
    const p = rt.job.spec?.policy;
    return p?.verificationRuns || Math.max(2, 2 * (p?.runsPerProbe || 1));
  }

  /** The verification verdict of a commit in the current round, if any. */
  private verificationOf(rt: JobRuntime, commit: string): Verdict | undefined {
    return rt.verdicts.find((x) => x.commit === commit && x.probeId.includes(`-v${rt.verifyRounds}-`) && !rt.discounted.has(x.probeId));
  }

  // ---- ending ----

  private async finishWithDecision(rt: JobRuntime, d: Exclude<Decision, { kind: 'continue' }>): Promise<void> {
    const top = rt.engine?.status().top ?? [];
    const target = rt.job.spec?.policy?.confidenceTarget ?? 0.99;
    if (d.kind === 'culprit') {
      const culprit = await this.commitInfo(rt.mirror, d.commit);
      const facts = await culpritFacts(rt.mirror, culprit, rt.verdicts);
      const flags = [
        ...facts.flags,
        ...bisectionFlags({ confidence: d.confidence, target, originalTitle: crashOf(rt.verdicts, rt.job.badHash)?.title, culpritTitle: crashOf(rt.verdicts, d.commit)?.title }),
      ];
      const verification = rt.verify
        ? [rt.verify.culprit, ...rt.verify.parents].map((c) => {
            const v = this.verificationOf(rt, c);
            const o = v ? toEngineVerdict(v) : undefined;
            const skipped = !o || 'skipped' in o;
            return {
              commit: c,
              role: c === rt.verify!.culprit ? 'culprit' : 'parent',
              runs: o && !('skipped' in o) ? o.runs : 0,
              crashes: o && !('skipped' in o) ? o.crashes : 0,
              skipped,
              crashTitle: v ? (crashOf([v], c)?.title ?? '') : '',
            };
          })
        : [];
      await this.finish(rt, JobState.JOB_STATE_SUCCEEDED, {
        culprit,
        confidence: d.confidence,
        flags,
        recipients: facts.recipients,
        verification,
        suspects: top.filter((t) => t.commit !== d.commit).slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
      });
    } else if (d.kind === 'inconclusive') {
      await this.finish(rt, JobState.JOB_STATE_INCONCLUSIVE, {
        reason: d.reason,
        confidence: d.confidence,
        suspects: d.commits.map((c) => ({ hash: c, probability: top.find((t) => t.commit === c)?.probability ?? 0 })),
      });
    } else {
      await this.finish(rt, JobState.JOB_STATE_NOT_IN_RANGE, { reason: d.reason, confidence: d.confidence });
    }
  }

  private async finish(rt: JobRuntime, state: JobState, result: Partial<JobResult>): Promise<void> {
    if (!this.running.has(rt.job.id)) return;
    const job = this.snapshot(rt);
    this.running.delete(rt.job.id);
    for (const p of [...rt.inFlight.values()]) this.cancelProbe(rt, p, 'job ended');
    const now = Date.now();
    job.state = state;
    job.finishedMs = now;
    job.updatedMs = now;
    job.probesInFlight = 0;
    job.phase = '';
    const crash = crashOf(rt.verdicts, result.culprit?.hash) ?? crashOf(rt.verdicts, rt.job.badHash) ?? crashOf(rt.verdicts);
    job.result = JobResult.fromPartial({
      ...result,
      crashTitle: crash?.title ?? '',
      crashLogKey: crash?.logKey ?? '',
      crashReport: crash ? await crashReportText(this.deps.store, crash.logKey) : '',
      originalCrashTitle: crashOf(rt.verdicts, rt.job.badHash)?.title ?? '',
      releases: rt.walk?.summary() ?? [],
      revisionsTested: new Set(rt.verdicts.map((v) => v.commit)).size,
      wallMs: now - job.createdMs,
      buildMs: rt.verdicts.reduce((s, v) => s + (v.build?.durationMs ?? 0), 0),
      testMs: rt.verdicts.reduce((s, v) => s + v.runs.reduce((t, r) => t + r.durationMs, 0), 0),
    });
    rt.job = job;
    await this.persist(rt);
    await this.deps.events.publish({ jobId: job.id, kind: 'finished', state, message: resultLines(job).join('\n') });
    this.logger.info({ jobId: job.id, state: JobState[state], culprit: result.culprit?.hash }, 'job finished');
    this.schedule();
  }

  private async commitInfo(mirror: string, hash: string): Promise<CommitInfo> {
    const r = await git(mirror, ['log', '-1', '--format=%H%x00%s%x00%an%x00%ae%x00%at%x00%P', hash, '--']);
    const [h, subject, author, email, at, parents] = r.stdout.replace(/\n$/, '').split('\0');
    return CommitInfo.fromPartial({
      hash: h ?? hash,
      subject: subject ?? '',
      author: author ?? '',
      authorEmail: email ?? '',
      dateMs: Number(at ?? 0) * 1000,
      merge: (parents ?? '').trim().split(/\s+/).length > 1,
    });
  }

  private async log(rt: JobRuntime, message: string): Promise<void> {
    await this.deps.events.publish({ jobId: rt.job.id, kind: 'log', message, candidatesLeft: rt.engine?.status().candidatesLeft ?? rt.job.candidatesTotal });
  }

  /** The job as clients see it: the stored record plus live counts (and, while running, suspects). */
  private snapshot(rt: JobRuntime): Job {
    const job = Job.fromPartial(rt.job);
    const status = rt.engine?.status();
    if (status) job.candidatesLeft = status.candidatesLeft;
    job.probesDone = rt.verdicts.length;
    job.probesInFlight = rt.inFlight.size;
    if (this.running.has(job.id)) {
      job.phase = rt.phase;
      job.updatedMs = Date.now();
      job.result = JobResult.fromPartial({
        confidence: status?.top[0]?.probability ?? 0,
        suspects: (status?.top ?? []).slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
        revisionsTested: new Set(rt.verdicts.map((v) => v.commit)).size,
        releases: rt.walk?.summary() ?? [],
      });
    }
    return job;
  }

  private persist(rt: JobRuntime): Promise<void> {
    const record = { job: this.running.has(rt.job.id) ? this.snapshot(rt) : rt.job, inFlight: [...rt.inFlight.values()], issued: [...rt.issued] };
    rt.persistChain = rt.persistChain.then(() => this.deps.jobStore.put(record));
    return rt.persistChain;
  }

  // ---- scheduling ----

  /** Give free slots the next probes. Re-entrant calls coalesce into one more pass. */
  schedule(): void {
    if (this.scheduling) {
      this.rescheduled = true;
      return;
    }
    this.scheduling = true;
    try {
      do {
        this.rescheduled = false;
        this.schedulePass();
      } while (this.rescheduled);
    } finally {
      this.scheduling = false;
    }
  }

  private schedulePass(): void {
    const now = Date.now();
    const free = this.deps.registry.freeSlots(now);
    const exhausted = new Set<string>();
    // Bisection probes planned jointly for the slots free in this pass (the engine places k
    // probes together better than k greedy picks), handed out one by one as jobs take turns.
    const planned = new Map<string, string[]>();
    for (let i = 0; i < free.length; i++) {
      const slot = free[i]!;
      const kinds = slot.agent.info.recipeKinds;
      for (;;) {
        const candidates = [...this.running.values()].filter(
          (rt) =>
            !exhausted.has(`${slot.agent.info.agentId}/${rt.job.id}`) &&
            (kinds.length === 0 || kinds.includes(rt.job.spec?.recipe?.kind ?? 'script')) &&
            (!rt.job.spec?.policy?.parallelismCap || rt.inFlight.size < rt.job.spec.policy.parallelismCap),
        );
        const id = pickJob(candidates.map((c) => ({ id: c.job.id, inFlight: c.inFlight.size, lastServedMs: c.lastServedMs, createdMs: c.job.createdMs })));
        if (!id) break;
        const rt = this.running.get(id)!;
        const commit = this.nextCommit(rt, planned, free.length - i, slot.agent.info.agentId);
        if (!commit) {
          // Per agent: a commit barred for this agent (host faults) may still go to another.
          exhausted.add(`${slot.agent.info.agentId}/${id}`);
          continue;
        }
        this.assign(rt, slot.agent, slot.slot, commit, now);
        break;
      }
    }
  }

  /** What the job wants tested next, in its current phase. */
  private nextCommit(rt: JobRuntime, planned: Map<string, string[]>, slotsLeft: number, agentId: string): string | undefined {
    const inFlight = [...rt.inFlight.values()].map((p) => p.commit);
    // Commits this agent could not boot or had infrastructure failures on go to other agents.
    const barred = rt.faults.excludedFor(agentId);
    const allowed = (c: string) => !barred.includes(c);
    // The bad commit first, in every phase: it confirms the crash and tells how reliably it
    // reproduces, and a bad commit that cannot be built or booted ends the job before it bisects.
    const bad = rt.job.badHash;
    const badCounted = this.countedVerdicts(rt, bad).length > 0;
    if (rt.phase !== 'verifying' && !badCounted && !inFlight.includes(bad) && allowed(bad)) return bad;
    // Then a commit that failed to boot on another agent: it counts (or its agent is at fault) only once tried here.
    const recheck = rt.faults.heldCommits().find((c) => allowed(c) && !inFlight.includes(c));
    if (recheck && rt.phase !== 'verifying') return recheck;
    switch (rt.phase) {
      case 'release-walk':
        return rt.walk!.next([...inFlight, ...barred]);
      case 'verifying': {
        const v = rt.verify!;
        return [v.culprit, ...v.parents].find((c) => !inFlight.includes(c) && !this.verificationOf(rt, c) && allowed(c));
      }
      default: {
        let queue = planned.get(rt.job.id);
        if (!queue) {
          const cap = rt.job.spec?.policy?.parallelismCap || Infinity;
          const count = Math.max(1, Math.min(slotsLeft, cap - rt.inFlight.size));
          queue = count > 1 ? rt.engine!.proposeMany(inFlight, count) : [rt.engine!.propose(inFlight)].filter((c): c is string => c !== undefined);
          planned.set(rt.job.id, queue);
        }
        const at = queue.findIndex(allowed);
        if (at >= 0) return queue.splice(at, 1)[0];
        if (barred.length === 0) return undefined;
        // Everything planned is barred for this agent: its own best probe, the barred ones aside.
        const own = rt.engine!.propose([...inFlight, ...queue, ...barred]);
        return own !== undefined && allowed(own) ? own : undefined;
      }
    }
  }

  private assign(rt: JobRuntime, agent: AgentEntry, slot: number, commit: string, now: number): void {
    const spec = rt.job.spec!;
    const tag = rt.phase === 'verifying' ? `v${rt.verifyRounds}` : PHASE_TAG[rt.phase];
    const probe = Probe.fromPartial({
      // 64 random bits: a probe id is also the name of its logs and its verdict subject; no agent
      // can guess one it was not given.
      id: `${rt.job.id}-${tag}-${randomBytes(8).toString('hex')}`,
      jobId: rt.job.id,
      commit,
      runs: rt.phase === 'verifying' ? this.verifyRuns(rt) : spec.policy?.runsPerProbe || 1,
      repo: spec.repo,
      recipe: spec.recipe,
      policy: spec.policy,
      first: rt.verdicts.length === 0,
    });
    agent.slots[slot] = { probe, status: undefined };
    rt.inFlight.set(probe.id, { probeId: probe.id, commit, agentId: agent.info.agentId, slot, startedMs: now });
    rt.issued.add(probe.id);
    rt.lastServedMs = now;
    // Persist the assignment before the agent hears of it: after a crash, the verdict of any
    // probe an agent ran is then recognised as one this job asked for.
    void this.persist(rt).then(() => {
      if (!rt.inFlight.has(probe.id)) {
        // Cancelled before the agent heard of it (the job ended, a clean release was found...):
        // no agent will ever report on it, so its slot is free again now.
        if (agent.slots[slot]?.probe?.id === probe.id) agent.slots[slot] = { probe: undefined, status: undefined };
        this.schedule();
        return;
      }
      const verdictJwt = this.deps.credentials?.forVerdicts(agent.info.agentId, agent.info.natsUserKey, rt.job.id, probe.id) ?? '';
      const sent = this.deps.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'assign', value: { probe, slot, leaseDeadlineMs: Date.now() + this.deps.leaseMs, verdictJwt } } }));
      if (!sent) {
        if (agent.slots[slot]?.probe?.id === probe.id) agent.slots[slot] = { probe: undefined, status: undefined };
        rt.inFlight.delete(probe.id);
        this.schedule();
        return;
      }
      void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-started', probeId: probe.id, commit, agentId: agent.info.agentId, message: `testing ${short(commit)} on agent ${agent.info.agentId} (slot ${slot})` });
    });
  }

  private cancelProbe(rt: JobRuntime, p: InFlightRecord, reason: string): void {
    rt.inFlight.delete(p.probeId);
    const agent = this.deps.registry.get(p.agentId);
    if (agent) this.deps.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'cancel', value: { probeId: p.probeId, reason } } }));
    void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-cancelled', probeId: p.probeId, commit: p.commit, agentId: p.agentId, message: `cancelled ${short(p.commit)} on ${p.agentId}: ${reason}` });
  }

  // ---- agent-side events ----

  /** An agent (re)connected and says which probes it still runs. */
  onAgentHello(agent: AgentEntry, running: readonly string[]): void {
    const runningSet = new Set(running);
    for (const rt of this.running.values()) {
      for (const p of [...rt.inFlight.values()]) {
        if (p.agentId !== agent.info.agentId) continue;
        if (runningSet.has(p.probeId)) {
          // Re-adopt the assignment after a coordinator restart.
          if (!agent.slots[p.slot]?.probe) {
            agent.slots[p.slot] = { probe: Probe.fromPartial({ id: p.probeId, jobId: rt.job.id, commit: p.commit, runs: rt.job.spec?.policy?.runsPerProbe ?? 1 }), status: undefined };
          }
          runningSet.delete(p.probeId);
        } else {
          rt.inFlight.delete(p.probeId);
          agent.slots[p.slot] = { probe: undefined, status: undefined };
          this.logger.info({ jobId: rt.job.id, probeId: p.probeId, agentId: p.agentId }, 'agent no longer runs the probe; proposing again');
          void this.persist(rt);
        }
      }
    }
    // Probes the agent runs that no running job expects (job ended meanwhile): cancel them.
    for (const id of runningSet) {
      if (!agent.slots.some((s) => s.probe?.id === id)) {
        this.deps.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'cancel', value: { probeId: id, reason: 'unknown probe' } } }));
      }
    }
    this.schedule();
  }

  onProbeDone(probeId: string): void {
    this.deps.registry.releaseProbe(probeId);
    this.schedule();
  }

  onHandBack(probeId: string, reason: string): void {
    this.deps.registry.releaseProbe(probeId);
    for (const rt of this.running.values()) {
      const p = rt.inFlight.get(probeId);
      if (!p) continue;
      rt.inFlight.delete(probeId);
      void this.persist(rt);
      void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-cancelled', probeId, commit: p.commit, agentId: p.agentId, message: `${p.agentId} handed back ${short(p.commit)}: ${reason}` });
    }
    this.schedule();
  }

  onProgress(probeId: string, phase: string, run: number, runs: number): void {
    for (const rt of this.running.values()) {
      const p = rt.inFlight.get(probeId);
      if (!p) continue;
      void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-progress', probeId, commit: p.commit, agentId: p.agentId, phase, run, message: `${p.agentId}: ${short(p.commit)} ${phase}${run ? ` run ${run}/${runs}` : ''}` });
    }
  }

  /** Release assignments whose agent has not been heard from within the lease. */
  checkLeases(now: number): void {
    let changed = false;
    for (const rt of this.running.values()) {
      for (const p of [...rt.inFlight.values()]) {
        const agent = this.deps.registry.get(p.agentId);
        const lastSeen = Math.max(agent?.lastSeenMs ?? 0, rt.trackedSinceMs);
        if (now - lastSeen <= this.deps.leaseMs) continue;
        if (agent?.slots[p.slot]?.probe?.id === p.probeId) agent.slots[p.slot] = { probe: undefined, status: undefined };
        this.cancelProbe(rt, p, 'lease expired');
        this.logger.warn({ jobId: rt.job.id, probeId: p.probeId, agentId: p.agentId }, 'lease expired; proposing the probe again');
        void this.persist(rt);
        changed = true;
      }
    }
    if (changed) this.schedule();
  }
}
