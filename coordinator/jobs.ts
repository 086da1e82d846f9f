/**
 * Jobs: submission, the verdict fold, scheduling across agents, leases, cancellation, recovery.
 *
 * State lives in JetStream only. A job's engine state is a pure fold of its spec and its
 * verdicts; the KV record holds the spec, a status summary and the probes in flight (so that a
 * restarted coordinator recognises the assignments agents still hold). Every mutation of a job
 * happens synchronously between awaits, so handlers running concurrently see consistent state.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { JobNotFoundError, JobStateError } from '../shared/errors.js';
import { git } from '../shared/git.js';
import { compileJobSpec } from '../shared/job-spec.js';
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
  RunOutcome,
  type JobSpec,
  type Verdict,
} from '../shared/proto.js';
import type { AgentEntry, AgentRegistry } from './agent-registry.js';
import { loadCandidateDag } from './dag-loader.js';
import { Bisection, type CandidateDag, type Decision } from './engine/index.js';
import type { EventPublisher } from './events.js';
import { FINAL_STATES, headerLines, renderJobLog, resultLines, short, verdictLines } from '../shared/job-log.js';
import type { InFlightRecord, JobStore } from './job-store.js';
import { pickJob } from './scheduler.js';
import { readJobVerdicts, toEngineVerdict } from './verdicts.js';

interface JobRuntime {
  job: Job;
  dag: CandidateDag;
  engine: Bisection;
  mirror: string;
  inFlight: Map<string, InFlightRecord>;
  verdicts: Verdict[];
  seen: Set<string>;
  lastServedMs: number;
  /** When the coordinator (re)started tracking it: the lease clock for agents not seen yet. */
  trackedSinceMs: number;
  persistChain: Promise<void>;
}

export interface JobManagerDeps {
  store: Store;
  jobStore: JobStore;
  events: EventPublisher;
  mirrors: MirrorSet;
  registry: AgentRegistry;
  leaseMs: number;
  logger: Logger;
}

export function newJobId(): string {
  return `j${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export class JobManager {
  private readonly running = new Map<string, JobRuntime>();
  private readonly logger: Logger;
  private scheduling = false;
  private rescheduled = false;

  constructor(private readonly deps: JobManagerDeps) {
    this.logger = deps.logger.child({ component: 'jobs' });
  }

  /** Rebuild every running job from its spec and its verdicts (after a restart). */
  async recover(): Promise<void> {
    const records = await this.deps.jobStore.list();
    for (const rec of records) {
      if (FINAL_STATES.has(rec.job.state)) continue;
      try {
        const rt = await this.startRuntime(rec.job);
        for (const r of rec.inFlight) rt.inFlight.set(r.probeId, r);
        const verdicts = await readJobVerdicts(this.deps.store, rec.job.id);
        for (const v of verdicts) this.fold(rt, v);
        // In-flight probes whose verdict was already stored are done.
        for (const v of verdicts) rt.inFlight.delete(v.probeId);
        this.logger.info({ jobId: rec.job.id, verdicts: verdicts.length, inFlight: rt.inFlight.size }, 'job recovered');
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
    const rt = await this.startRuntime(job, { refresh: true });
    job.state = JobState.JOB_STATE_RUNNING;
    await this.persist(rt);
    await this.deps.events.publish({ jobId: job.id, kind: 'submitted', state: job.state, message: headerLines(job).join('\n'), candidatesLeft: job.candidatesLeft });
    this.logger.info({ jobId: job.id, candidates: job.candidatesTotal, repo: spec.repo }, 'job submitted');
    this.schedule();
    return job;
  }

  private async startRuntime(job: Job, opts: { refresh?: boolean } = {}): Promise<JobRuntime> {
    const spec = job.spec!;
    const mirror = await this.deps.mirrors.ensure(spec.repo, { refresh: opts.refresh, wanted: [job.badHash, ...job.goodHashes].filter(Boolean) });
    const dag = await loadCandidateDag(mirror, job.badHash || spec.bad, job.goodHashes.length ? job.goodHashes : spec.goods, {
      firstParent: spec.policy?.firstParent ?? false,
    });
    const engine = Bisection.create(dag, {
      mode: spec.mode === Mode.MODE_FIX ? 'fix' : 'cause',
      confidenceTarget: spec.policy?.confidenceTarget ?? 0.99,
      seed: spec.policy?.seed ?? 0,
    });
    job.badHash = dag.hashes[dag.bad]!;
    job.goodHashes = dag.goods;
    job.candidatesTotal = dag.hashes.length;
    job.candidatesLeft = dag.hashes.length;
    const rt: JobRuntime = {
      job,
      dag,
      engine,
      mirror,
      inFlight: new Map(),
      verdicts: [],
      seen: new Set(),
      lastServedMs: 0,
      trackedSinceMs: Date.now(),
      persistChain: Promise.resolve(),
    };
    this.running.set(job.id, rt);
    return rt;
  }

  async get(jobId: string): Promise<Job> {
    const rt = this.running.get(jobId);
    if (rt) return this.snapshot(rt);
    const rec = await this.deps.jobStore.get(jobId);
    if (!rec) throw new JobNotFoundError(jobId);
    return rec.job;
  }

  async list(activeOnly: boolean): Promise<Job[]> {
    const records = await this.deps.jobStore.list();
    const jobs = records.map((r) => {
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
    return this.snapshot(rt);
  }

  /** The bisection log of a job (rendered from its verdicts). */
  async jobLog(jobId: string): Promise<string> {
    const rt = this.running.get(jobId);
    if (rt) return renderJobLog(this.snapshot(rt), rt.verdicts);
    const job = await this.get(jobId);
    const verdicts = await readJobVerdicts(this.deps.store, jobId);
    const seen = new Set<string>();
    return renderJobLog(job, verdicts.filter((v) => (seen.has(v.probeId) ? false : (seen.add(v.probeId), true))));
  }

  /** Apply a verdict from the stream, persist what changed, then resolve (the caller acks). */
  async onVerdict(v: Verdict): Promise<void> {
    const rt = this.running.get(v.jobId);
    if (!rt) return; // finished or unknown job: the verdict stays in the stream as a fact.
    const wasInFlight = rt.inFlight.delete(v.probeId);
    if (!this.fold(rt, v)) return;
    this.deps.registry.releaseProbe(v.probeId);
    const status = rt.engine.status();
    await this.deps.events.publish({
      jobId: v.jobId,
      kind: 'verdict',
      probeId: v.probeId,
      commit: v.commit,
      agentId: v.agentId,
      message: verdictLines(v).join('\n'),
      candidatesLeft: status.candidatesLeft,
      topProbability: status.top[0]?.probability ?? 0,
      suspects: status.top.slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
    });
    this.logger.debug({ jobId: v.jobId, probeId: v.probeId, wasInFlight }, 'verdict applied');
    if (v.abortReason) {
      await this.finish(rt, JobState.JOB_STATE_FAILED, { reason: v.abortReason });
      return;
    }
    await this.afterEvidence(rt);
  }

  /** Fold one verdict into a job; false when it was seen before. */
  private fold(rt: JobRuntime, v: Verdict): boolean {
    if (rt.seen.has(v.probeId)) return false;
    rt.seen.add(v.probeId);
    rt.verdicts.push(v);
    if (!v.abortReason) rt.engine.apply(toEngineVerdict(v));
    return true;
  }

  /** After new evidence: cancel probes that stopped being useful, decide, persist, schedule. */
  private async afterEvidence(rt: JobRuntime): Promise<void> {
    const decision = rt.engine.decide();
    if (decision.kind !== 'continue') {
      await this.finishWithDecision(rt, decision);
      return;
    }
    const useless = new Set(rt.engine.useless([...rt.inFlight.values()].map((p) => p.commit)));
    for (const p of [...rt.inFlight.values()]) {
      if (useless.has(p.commit)) this.cancelProbe(rt, p, 'no longer useful');
    }
    await this.persist(rt);
    this.schedule();
  }

  private cancelProbe(rt: JobRuntime, p: InFlightRecord, reason: string): void {
    rt.inFlight.delete(p.probeId);
    const agent = this.deps.registry.get(p.agentId);
    if (agent) this.deps.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'cancel', value: { probeId: p.probeId, reason } } }));
    void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-cancelled', probeId: p.probeId, commit: p.commit, agentId: p.agentId, message: `cancelled ${short(p.commit)} on ${p.agentId}: ${reason}` });
  }

  private async finishWithDecision(rt: JobRuntime, d: Exclude<Decision, { kind: 'continue' }>): Promise<void> {
    const top = rt.engine.status().top;
    if (d.kind === 'culprit') {
      const culprit = await this.commitInfo(rt.mirror, d.commit);
      const flags: string[] = [];
      if (culprit.merge) flags.push('the culprit is a merge commit');
      await this.finish(rt, JobState.JOB_STATE_SUCCEEDED, { culprit, confidence: d.confidence, flags, suspects: top.slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })) });
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
    this.running.delete(rt.job.id);
    for (const p of [...rt.inFlight.values()]) this.cancelProbe(rt, p, 'job ended');
    const now = Date.now();
    const job = this.snapshot(rt);
    job.probesInFlight = 0;
    job.updatedMs = now;
    job.state = state;
    job.finishedMs = now;
    const crash = this.representativeCrash(rt, result.culprit?.hash);
    job.result = JobResult.fromPartial({
      ...result,
      crashTitle: crash?.title ?? '',
      crashLogKey: crash?.logKey ?? '',
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

  private representativeCrash(rt: JobRuntime, culprit: string | undefined): { title: string; logKey: string } | undefined {
    const order = [culprit, rt.job.badHash];
    for (const c of order) {
      for (const v of rt.verdicts) {
        if (c && v.commit !== c) continue;
        const r = v.runs.find((x) => x.outcome === RunOutcome.RUN_OUTCOME_CRASH && x.matches);
        if (r) return { title: r.title, logKey: r.logKey };
      }
    }
    return undefined;
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

  /** The job as clients see it: the stored record plus live counts (and, while running, suspects). */
  private snapshot(rt: JobRuntime): Job {
    const job = Job.fromPartial(rt.job);
    const status = rt.engine.status();
    job.candidatesLeft = status.candidatesLeft;
    job.probesDone = rt.verdicts.length;
    job.probesInFlight = rt.inFlight.size;
    if (this.running.has(job.id)) {
      job.updatedMs = Date.now();
      job.result = JobResult.fromPartial({
        confidence: status.top[0]?.probability ?? 0,
        suspects: status.top.slice(0, 5).map((t) => ({ hash: t.commit, probability: t.probability })),
        revisionsTested: new Set(rt.verdicts.map((v) => v.commit)).size,
      });
    }
    return job;
  }

  private persist(rt: JobRuntime): Promise<void> {
    const record = { job: this.running.has(rt.job.id) ? this.snapshot(rt) : rt.job, inFlight: [...rt.inFlight.values()] };
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
    const exhausted = new Set<string>();
    for (const free of this.deps.registry.freeSlots(now)) {
      const kinds = free.agent.info.recipeKinds;
      for (;;) {
        const candidates = [...this.running.values()].filter(
          (rt) =>
            !exhausted.has(rt.job.id) &&
            (kinds.length === 0 || kinds.includes(rt.job.spec?.recipe?.kind ?? 'script')) &&
            (!(rt.job.spec?.policy?.parallelismCap) || rt.inFlight.size < rt.job.spec.policy.parallelismCap),
        );
        const rt = pickJob(candidates.map((c) => ({ id: c.job.id, inFlight: c.inFlight.size, lastServedMs: c.lastServedMs, createdMs: c.job.createdMs })));
        if (!rt) break;
        const job = this.running.get(rt)!;
        const commit = job.engine.propose([...job.inFlight.values()].map((p) => p.commit));
        if (!commit) {
          exhausted.add(rt);
          continue;
        }
        this.assign(job, free.agent, free.slot, commit, now);
        break;
      }
    }
  }

  private assign(rt: JobRuntime, agent: AgentEntry, slot: number, commit: string, now: number): void {
    const spec = rt.job.spec!;
    const probe = Probe.fromPartial({
      id: `${rt.job.id}-${randomBytes(4).toString('hex')}`,
      jobId: rt.job.id,
      commit,
      runs: spec.policy?.runsPerProbe ?? 1,
      repo: spec.repo,
      recipe: spec.recipe,
      policy: spec.policy,
      first: rt.verdicts.length === 0,
    });
    agent.slots[slot] = { probe, status: undefined };
    rt.inFlight.set(probe.id, { probeId: probe.id, commit, agentId: agent.info.agentId, slot, startedMs: now });
    rt.lastServedMs = now;
    const sent = this.deps.registry.send(
      agent,
      CoordinatorMessage.fromPartial({ msg: { $case: 'assign', value: { probe, slot, leaseDeadlineMs: now + this.deps.leaseMs } } }),
    );
    if (!sent) {
      agent.slots[slot] = { probe: undefined, status: undefined };
      rt.inFlight.delete(probe.id);
      return;
    }
    void this.persist(rt);
    void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-started', probeId: probe.id, commit, agentId: agent.info.agentId, message: `testing ${short(commit)} on agent ${agent.info.agentId} (slot ${slot})` });
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
      const inSlot = agent.slots.some((s) => s.probe?.id === id);
      if (!inSlot) this.deps.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'cancel', value: { probeId: id, reason: 'unknown probe' } } }));
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
      if (p) {
        rt.inFlight.delete(probeId);
        void this.persist(rt);
        void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-cancelled', probeId, commit: p.commit, agentId: p.agentId, message: `${p.agentId} handed back ${short(p.commit)}: ${reason}` });
      }
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
        rt.inFlight.delete(p.probeId);
        if (agent) {
          const slot = agent.slots[p.slot];
          if (slot?.probe?.id === p.probeId) agent.slots[p.slot] = { probe: undefined, status: undefined };
          this.deps.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'cancel', value: { probeId: p.probeId, reason: 'lease expired' } } }));
        }
        this.logger.warn({ jobId: rt.job.id, probeId: p.probeId, agentId: p.agentId }, 'lease expired; proposing the probe again');
        void this.deps.events.publish({ jobId: rt.job.id, kind: 'probe-cancelled', probeId: p.probeId, commit: p.commit, agentId: p.agentId, message: `lease of ${p.agentId} on ${short(p.commit)} expired` });
        void this.persist(rt);
        changed = true;
      }
    }
    if (changed) this.schedule();
  }

  /** Jobs that can still use agents of a kind (for tests and status). */
  activeJobIds(): string[] {
    return [...this.running.keys()];
  }
}
