/**
 * Jobs: the executor around each job's state machine (job-run/). It feeds events in (verdicts
 * from the stream, free slots, agents' reports, the operator's requests, answers from the Repo
 * port) and carries the commands out, in order: job records in the KV bucket, job events on
 * NATS, assignments and cancels through Dispatch. All job logic is in JobRun.
 *
 * Ordering: a verdict is acknowledged once the record it changed is persisted; events are
 * published in order per job but never awaited on that path (a NATS outage delays watchers,
 * not verdicts). A job's record writes coalesce (see persist): at most one is under way and one
 * waits, whatever the rate of changes. A failed write fails only the callers whose change it
 * carried (a verdict is then not acknowledged and comes back); later writes go on.
 *
 * Which job is offered which free slot is the scheduling pass's (scheduling-pass.ts); this file
 * only hosts the jobs it offers slots to and carries out their answers.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { JobNotFoundError, JobStateError } from '../shared/errors.js';
import { compileJobSpec } from '../shared/job-spec.js';
import { FINAL_STATES, renderJobLog, short } from '../shared/job-log.js';
import { Job, JobResult, JobState, type JobEvent, type JobSpec, type Verdict } from '../shared/proto.js';
import type { Store } from '../shared/nats.js';
import type { AgentEntry, AgentRegistry } from './agent-registry.js';
import { Dispatch } from './dispatch.js';
import type { JobRecord } from './job-store.js';
import { answer, JobRun, replay, startOf, type AgentView, type Command, type RunEvent, type RunPorts } from './job-run/index.js';
import type { NatsCredentials } from './nats-credentials.js';
import type { Repo, RepoSource } from './repo.js';
import { crashReportText } from './run-facts.js';
import { SchedulingPass } from './scheduling-pass.js';
import { readJobVerdicts } from './verdicts.js';

export { DEFAULT_MAX_SKIPS } from './job-run/index.js';

/** Job records: the KV bucket (job-store.ts) or a map in tests. */
export interface JobRecords {
  put(record: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  list(): Promise<JobRecord[]>;
}

/** Job events: the EVENTS stream (events.ts) or a list in tests. */
export interface JobEvents {
  publish(event: Partial<JobEvent> & { jobId: string; kind: string }): Promise<void>;
}

/** What the stores say about a job's runs: its verdicts (stream order) and crash reports. */
export interface RunFacts {
  verdicts(jobId: string): Promise<Verdict[]>;
  crashReport(logKey: string): Promise<string>;
}

/** RunFacts from JetStream: the VERDICTS stream and the log object store. */
export function storeRunFacts(store: Store, logger: Logger): RunFacts {
  return { verdicts: (jobId) => readJobVerdicts(store, jobId, logger), crashReport: (key) => crashReportText(store, key) };
}

export interface JobManagerDeps {
  jobStore: JobRecords;
  events: JobEvents;
  facts: RunFacts;
  repos: RepoSource;
  registry: AgentRegistry;
  leaseMs: number;
  /** With NATS JWT authentication: mints each assignment's verdict credential. */
  credentials?: NatsCredentials;
  /** Give each probe the free slot that built nearest to it (job-run/affinity.ts). Default true. */
  buildAffinity?: boolean;
  logger: Logger;
}

export function newJobId(): string {
  return `j${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A running job: its state machine, its repository, its record writes and the chain that keeps its events in order. */
interface Hosted {
  run: JobRun;
  repo: Repo;
  /** The last record write asked for (it never rejects); undefined when none is under way. */
  writing: Promise<void> | undefined;
  /** The write waiting for `writing` to end: it takes its snapshot when it starts, so it carries every change made until then. */
  queued: Promise<void> | undefined;
  publishChain: Promise<void>;
}

export class JobManager {
  private readonly running = new Map<string, Hosted>();
  private readonly dispatch: Dispatch;
  private readonly logger: Logger;
  /** Work started by commands (range loads, facts, final records): close() waits for it. */
  private readonly tasks = new Set<Promise<void>>();
  private readonly scheduling: SchedulingPass<Hosted>;
  private closed: Promise<void> | undefined;

  constructor(private readonly deps: JobManagerDeps) {
    this.logger = deps.logger.child({ component: 'jobs' });
    this.dispatch = new Dispatch(deps.registry, deps.leaseMs, deps.logger, deps.credentials);
    this.scheduling = new SchedulingPass<Hosted>(
      { freeSlots: (now) => this.dispatch.freeSlots(now), jobs: () => this.running.values(), execute: (h, commands) => this.execute(h, commands) },
      { buildAffinity: deps.buildAffinity !== false },
    );
  }

  // ---- lifecycle of a job ----

  /** Rebuild every running job by replaying its verdicts through its state machine (after a restart). */
  async recover(): Promise<void> {
    for (const rec of await this.deps.jobStore.list()) {
      if (FINAL_STATES.has(rec.job.state)) continue;
      try {
        const spec = rec.job.spec;
        if (!spec) throw new JobStateError('the record has no spec');
        const repo = await this.deps.repos.open(spec.repo, { refresh: false, wanted: [rec.job.badHash, ...rec.job.goodHashes] });
        const run = JobRun.create(rec.job, await startOf(rec.job, repo), [...(rec.issued ?? []), ...rec.inFlight.map((r) => r.probeId)]);
        const h = this.host(run, repo);
        const verdicts = await this.deps.facts.verdicts(rec.job.id);
        await replay(run, verdicts, this.ports(h));
        this.logger.info({ jobId: rec.job.id, verdicts: verdicts.length, inFlight: rec.inFlight.length, phase: run.phaseName }, 'job recovered');
        await this.feed(h, { type: 'resumed', inFlight: rec.inFlight });
        // Ended during the replay (its last verdicts decided it before the crash): record written.
        if (!run.active) this.running.delete(rec.job.id);
      } catch (err) {
        this.running.delete(rec.job.id);
        this.logger.error({ err, jobId: rec.job.id }, 'job could not be recovered');
        rec.job.state = JobState.JOB_STATE_FAILED;
        rec.job.result = JobResult.fromPartial({ ...rec.job.result, reason: `could not be recovered: ${(err as Error).message}` });
        await this.deps.jobStore.put({ job: rec.job, inFlight: [] });
      }
    }
  }

  async submit(input: JobSpec): Promise<Job> {
    const spec = compileJobSpec(input);
    const now = Date.now();
    const job = Job.fromPartial({ id: newJobId(), spec, state: JobState.JOB_STATE_QUEUED, createdMs: now, updatedMs: now });
    job.slotsAtStart = this.deps.registry.all().reduce((n, a) => n + (a.stream ? a.slots.length : 0), 0);
    const repo = await this.deps.repos.open(spec.repo, { refresh: true, wanted: [] });
    const start = await startOf(job, repo);
    job.state = JobState.JOB_STATE_RUNNING;
    const run = JobRun.create(job, start);
    const h = this.host(run, repo);
    await this.persist(h);
    this.publish(h, run.submittedEvent(Date.now()));
    this.logger.info({ jobId: job.id, candidates: run.snapshot(now).candidatesTotal, phase: run.phaseName, repo: spec.repo }, 'job submitted');
    this.schedule();
    return run.snapshot(Date.now());
  }

  private host(run: JobRun, repo: Repo): Hosted {
    const h: Hosted = { run, repo, writing: undefined, queued: undefined, publishChain: Promise.resolve() };
    this.running.set(run.jobId, h);
    return h;
  }

  async get(jobId: string): Promise<Job> {
    const h = this.running.get(jobId);
    if (h) return h.run.snapshot(Date.now());
    const rec = await this.deps.jobStore.get(jobId);
    if (!rec) throw new JobNotFoundError(jobId);
    return rec.job;
  }

  /** The running job's posterior over its range (empty when it has none); JobNotFoundError for an unknown job. */
  async posterior(jobId: string): Promise<{ commits: string[]; mass: number[] }> {
    const h = this.running.get(jobId);
    if (!h) await this.get(jobId);
    return h?.run.posterior() ?? { commits: [], mass: [] };
  }

  async list(activeOnly: boolean): Promise<Job[]> {
    const jobs = (await this.deps.jobStore.list()).map((r) => this.running.get(r.job.id)?.run.snapshot(Date.now()) ?? r.job);
    return jobs.filter((j) => !activeOnly || !FINAL_STATES.has(j.state)).sort((a, b) => a.createdMs - b.createdMs);
  }

  async cancel(jobId: string, reason: string): Promise<Job> {
    const h = this.running.get(jobId);
    if (!h || !h.run.active) {
      const job = await this.get(jobId);
      throw new JobStateError(`job ${jobId} has already ended (${JobState[job.state]})`);
    }
    await this.feed(h, { type: 'cancel-requested', reason });
    return h.run.snapshot(Date.now());
  }

  /** The bisection log of a job (rendered from its verdicts). */
  async jobLog(jobId: string): Promise<string> {
    const h = this.running.get(jobId);
    if (h) return renderJobLog(h.run.snapshot(Date.now()), h.run.takenVerdicts());
    const job = await this.get(jobId);
    const seen = new Set<string>();
    const verdicts = (await this.deps.facts.verdicts(jobId)).filter((v) => !seen.has(v.probeId) && seen.add(v.probeId));
    return renderJobLog(job, verdicts);
  }

  /** Stop taking work and wait for what is under way (final records, range loads). Safe to call twice. */
  close(): Promise<void> {
    this.scheduling.close();
    this.closed ??= (async () => {
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
      await Promise.allSettled([...this.running.values()].flatMap((h) => [h.writing, h.publishChain]));
    })();
    return this.closed;
  }

  // ---- events in ----

  /** A verdict from the stream: resolves once the record it changed is persisted (then it is acked). */
  async onVerdict(v: Verdict): Promise<void> {
    const h = this.running.get(v.jobId);
    if (!h) return; // finished or unknown job: the verdict stays in the stream as a fact.
    await this.feed(h, { type: 'verdict', verdict: v, agents: this.agentsFor(h) });
  }

  /** An agent (re)connected and says which probes it still runs. */
  onAgentHello(agent: AgentEntry, running: readonly string[]): void {
    for (const p of this.dispatch.hello(agent, running)) {
      const h = this.running.get(this.jobOfProbe(p.probeId) ?? '');
      if (h) void this.feed(h, { type: 'probe-lost', probeId: p.probeId }).catch(() => undefined);
    }
    this.schedule();
  }

  onProbeDone(probeId: string): void {
    this.dispatch.release(probeId);
    this.schedule();
  }

  onHandBack(probeId: string, reason: string): void {
    this.dispatch.release(probeId);
    const h = this.running.get(this.jobOfProbe(probeId) ?? '');
    if (h) void this.feed(h, { type: 'probe-handed-back', probeId, reason }).catch(() => undefined);
    this.schedule();
  }

  /** An agent could not run a probe because of its host (it threw InfraError): run it elsewhere. */
  async onInfra(agentId: string, probeId: string, reason: string): Promise<void> {
    this.dispatch.release(probeId);
    const h = this.running.get(this.jobOfProbe(probeId) ?? '');
    if (h) await this.feed(h, { type: 'infra-reported', probeId, agentId, reason, agents: this.agentsFor(h) });
    this.schedule();
  }

  onProgress(probeId: string, phase: string, run: number, runs: number): void {
    const h = this.running.get(this.jobOfProbe(probeId) ?? '');
    const p = h?.run.inFlightProbe(probeId);
    if (!h || !p) return;
    this.publish(h, { kind: 'probe-progress', probeId, commit: p.commit, agentId: p.agentId, phase, run, runsTotal: runs, message: `${p.agentId}: ${short(p.commit)} ${phase}${run ? ` run ${run}/${runs}` : ''}` });
  }

  /** Release assignments whose agent has not been heard from within the lease. */
  checkLeases(now: number): void {
    const expired = this.dispatch.expired(now);
    for (const e of expired) {
      const h = this.running.get(e.jobId);
      if (h) void this.feed(h, { type: 'lease-expired', probeId: e.probeId }).catch(() => undefined);
    }
    if (expired.length > 0) this.schedule();
  }

  private jobOfProbe(probeId: string): string | undefined {
    const known = this.dispatch.jobOf(probeId);
    if (known) return known;
    for (const [id, h] of this.running) if (h.run.isInFlight(probeId)) return id;
    return undefined;
  }

  private agentsFor(h: Hosted): AgentView {
    const kind = h.run.config.recipeKind;
    const able = this.deps.registry.all().filter((a) => a.stream && (a.info.recipeKinds.length === 0 || a.info.recipeKinds.includes(kind)));
    return { healthyAble: this.deps.registry.healthyCount(kind), able: able.map((a) => a.info.agentId) };
  }

  // ---- commands out ----

  /** Apply an event and carry out its commands; resolves when the record it changed is written. */
  private feed(h: Hosted, event: RunEvent): Promise<void> {
    const done = this.execute(h, h.run.apply(event, Date.now()));
    this.schedule();
    return done;
  }

  private execute(h: Hosted, commands: readonly Command[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const unsent: string[] = [];
    for (const c of commands) {
      switch (c.type) {
        case 'dispatch':
          this.dispatch.reserve(c.probe, c.agentId, c.slot, Date.now());
          unsent.push(c.probe.id);
          break;
        case 'persist': {
          const written = this.persist(h);
          for (const id of unsent.splice(0)) this.sendWhenPersisted(h, id, written);
          waits.push(written);
          break;
        }
        case 'cancel-probe':
          this.dispatch.cancel(c.probe.probeId, c.reason);
          break;
        case 'release-slot':
          this.dispatch.release(c.probeId);
          break;
        case 'adopt-probe':
          this.dispatch.adopt(h.run.jobId, c.probe, c.runs, Date.now());
          break;
        case 'publish':
          this.publish(h, c.event);
          break;
        case 'agent-unhealthy': {
          const agent = this.deps.registry.markUnhealthy(c.agentId, c.reason, Date.now());
          const retry = agent?.health.state === 'unhealthy' ? Math.round((agent.health.retryAtMs - Date.now()) / 1000) : 0;
          this.publish(h, { kind: 'log', message: `agent ${c.agentId} is unhealthy: ${c.reason}; it gets no work until a health check passes (in ${retry} s), and its failures are tested again elsewhere` });
          break;
        }
        case 'agent-healthy':
          this.deps.registry.markHealthy(c.agentId);
          break;
        case 'agent-problem': {
          const agent = this.deps.registry.get(c.agentId);
          if (agent) agent.problem = c.reason;
          break;
        }
        case 'note':
          this.logger[c.level](c.fields, c.message);
          break;
        case 'finish':
          // The final record waits for the crash report; whoever ended the job waits for both.
          waits.push(this.track(h, c, true));
          break;
        case 'resolve-range':
        case 'load-commit-facts':
          this.track(h, c, false);
          break;
      }
    }
    // A dispatch always comes with its persist; if not, send once a write that holds it is done.
    if (unsent.length > 0) {
      const written = this.persist(h);
      for (const id of unsent) this.sendWhenPersisted(h, id, written);
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** Ask the Repo (or the log store) and feed the answer back, in the background. */
  private track(h: Hosted, c: Command, ending: boolean): Promise<void> {
    const task = (async () => {
      const reply = await answer(h.run, c, this.ports(h));
      if (reply) await this.feed(h, reply);
      if (ending && !h.run.active && this.running.get(h.run.jobId) === h) this.running.delete(h.run.jobId);
    })().catch((err: unknown) => this.logger.error({ err, jobId: h.run.jobId, command: c.type }, 'job command failed'));
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
    return task;
  }

  private ports(h: Hosted): RunPorts {
    return { repo: h.repo, crashReport: (key) => this.deps.facts.crashReport(key), now: () => Date.now() };
  }

  /** Send the assignment once the record holding it is written; the agent never hears of a probe a restart would forget. */
  private sendWhenPersisted(h: Hosted, probeId: string, written: Promise<void>): void {
    written.then(
      () => {
        const p = h.run.inFlightProbe(probeId);
        if (!p) {
          this.dispatch.cancel(probeId, 'cancelled before it was sent');
          return;
        }
        const sent = this.dispatch.send(probeId, Date.now());
        if (sent === 'sent') this.publish(h, { kind: 'probe-started', probeId, commit: p.commit, agentId: p.agentId, slot: p.slot, message: `testing ${short(p.commit)} on agent ${p.agentId} (slot ${p.slot})` });
        else if (sent === 'unreachable') void this.feed(h, { type: 'dispatch-failed', probeId, reason: 'agent unreachable' }).catch(() => undefined);
      },
      () => {
        this.dispatch.cancel(probeId, 'assignment not persisted');
        void this.feed(h, { type: 'dispatch-failed', probeId, reason: 'assignment not persisted' }).catch(() => undefined);
      },
    );
  }

  /**
   * Have the job's record written with every change made so far; resolves once it is. A record is
   * whole and the bucket keeps only the last one, so writes coalesce: with no write under way one
   * starts now (its snapshot taken now); otherwise one write waits for it, takes its snapshot
   * when it starts, and serves every caller until then. So a job writes at most one record per
   * write's round trip, however many verdicts and assignments come in meanwhile, and a verdict
   * waits for at most two writes, not for one write per assignment made before it. The promise
   * fails with the write that carries the caller's change; later writes go on.
   */
  private persist(h: Hosted): Promise<void> {
    if (h.queued) return h.queued;
    // Set below; a write that starts at once runs before that, and there is nothing queued then.
    const self: { written?: Promise<void> } = {};
    const write = async (): Promise<void> => {
      if (h.queued === self.written) h.queued = undefined;
      await this.deps.jobStore.put(h.run.record(Date.now()));
    };
    const before = h.writing;
    const written = before ? before.then(write) : write();
    self.written = written;
    if (before) h.queued = written;
    const settled = written.catch((err: unknown) => this.logger.error({ err, jobId: h.run.jobId }, 'job record not written'));
    h.writing = settled;
    void settled.then(() => {
      if (h.writing === settled) h.writing = undefined;
    });
    return written;
  }

  /** Publish in order, never awaited by the caller (EventPublisher retries and logs what it loses). */
  private publish(h: Hosted, event: RunEventData): void {
    const jobId = h.run.jobId;
    h.publishChain = h.publishChain
      .then(() => this.deps.events.publish({ ...event, jobId }))
      .catch((err: unknown) => this.logger.warn({ err, jobId, kind: event.kind }, 'event lost'));
  }

  // ---- scheduling ----

  /** Ask for a scheduling pass soon; the calls of one turn of the event loop share one (scheduling-pass.ts). */
  schedule(): void {
    this.scheduling.schedule();
  }
}

type RunEventData = Extract<Command, { type: 'publish' }>['event'];
