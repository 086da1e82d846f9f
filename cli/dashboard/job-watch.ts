/**
 * One WatchJob stream per job, shared by every page and server-sent-event listener of that job:
 * the events are folded into what the job page shows (probes in flight with their phase and
 * start, tested commits with their verdicts, the engine's top suspects), and after each event
 * the job record and its log are read again. Listeners hear of every change; the stream is
 * opened again after a break (a coordinator restart) until the job ends.
 */
import type { Logger } from 'pino';
import { FINAL_STATES } from '../../shared/job-log.js';
import type { Job, JobEvent, Suspect } from '../../shared/proto.js';
import type { OperatorClient } from '../client.js';

/** What a verdict showed, read from its log lines (the event carries no structured outcome). */
export type VerdictKind = 'crash' | 'clean' | 'skip' | 'no-evidence';

export interface ProbeInFlight {
  probeId: string;
  commit: string;
  agent: string;
  slot: string;
  phase: string;
  run: number;
  runs: number;
  startedMs: number;
}

export interface ProbeDone {
  probeId: string;
  commit: string;
  agent: string;
  verdict: VerdictKind;
  summary: string;
  finishedMs: number;
}

/** A verdict event's outcome (typed since the coordinator sends it) and its summary line. */
export function verdictOf(ev: JobEvent): { kind: VerdictKind; summary: string } {
  const lines = ev.message.split('\n');
  const summary = lines.slice(1).find((l) => l.startsWith('all runs:')) ?? lines.slice(1).join('; ');
  if (isVerdictKind(ev.outcome)) return { kind: ev.outcome, summary };
  // A coordinator from before the typed outcome: read it off the log lines.
  const message = ev.message;
  if (/^(aborted:|build failed:)/m.test(message)) return { kind: 'skip', summary };
  if (/^no evidence:/m.test(message)) return { kind: 'no-evidence', summary };
  if (/^run #\d+: crashed: /m.test(message)) return { kind: 'crash', summary };
  if (/^run #\d+: OK$/m.test(message)) return { kind: 'clean', summary };
  if (/^run #\d+: skipped:/m.test(message)) return { kind: 'skip', summary };
  return { kind: 'no-evidence', summary };
}

function isVerdictKind(s: string): s is VerdictKind {
  return s === 'crash' || s === 'clean' || s === 'skip' || s === 'no-evidence';
}

export class JobWatch {
  job: Job;
  log = '';
  readonly inFlight = new Map<string, ProbeInFlight>();
  readonly done: ProbeDone[] = [];
  suspects: Suspect[] = [];
  /** The engine's posterior as last read (kept after the job ends, when the coordinator has none). */
  posterior: { commits: string[]; mass: number[] } | undefined;
  candidatesLeft: number;
  /** Bumped on every change (listeners compare it). */
  version = 0;
  lastUsedMs = Date.now();
  private readonly listeners = new Set<() => void>();
  private closed = false;
  private lastEventMs = 0;
  private refreshing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly client: OperatorClient,
    job: Job,
    private readonly logger: Logger,
  ) {
    this.job = job;
    this.candidatesLeft = job.candidatesLeft || job.candidatesTotal;
    this.suspects = job.result?.suspects ?? [];
    void this.run();
  }

  get ended(): boolean {
    return FINAL_STATES.has(this.job.state);
  }

  /** Resolves once the past events are in (no event for a moment), at most after `maxMs`. */
  async settled(maxMs = 2000): Promise<void> {
    const start = Date.now();
    while (Date.now() - start < maxMs) {
      if (this.lastEventMs && Date.now() - this.lastEventMs > 250 && !this.refreshing) return;
      if (!this.lastEventMs && Date.now() - start > 500 && !this.refreshing) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    this.lastUsedMs = Date.now();
    return () => {
      this.listeners.delete(fn);
      this.lastUsedMs = Date.now();
    };
  }

  get listening(): number {
    return this.listeners.size;
  }

  /** Stop at the next event (closing the client ends the stream at once). */
  close(): void {
    this.closed = true;
  }

  private async run(): Promise<void> {
    await this.refresh();
    while (!this.closed && !this.ended) {
      try {
        // Past events first, then live ones: start from nothing each time.
        const stream = this.client.watch(this.job.id);
        this.inFlight.clear();
        this.done.length = 0;
        for await (const ev of stream) {
          if (this.closed) break;
          this.apply(ev);
          this.lastEventMs = Date.now();
          this.scheduleRefresh();
        }
      } catch (err) {
        if (this.closed) return;
        this.logger.warn({ job: this.job.id, err: (err as Error).message }, 'watching the job failed; watching again in 2 s');
      }
      await this.refresh();
      if (!this.ended && !this.closed) await new Promise((r) => setTimeout(r, 2000));
    }
  }

  private apply(ev: JobEvent): void {
    const t = Number(ev.timeMs);
    switch (ev.kind) {
      case 'probe-started': {
        const slot = String(ev.slot);
        this.inFlight.set(ev.probeId, { probeId: ev.probeId, commit: ev.commit, agent: ev.agentId, slot, phase: 'starting', run: 0, runs: 0, startedMs: t });
        break;
      }
      case 'probe-progress': {
        const p = this.inFlight.get(ev.probeId);
        if (!p) break;
        p.phase = ev.phase;
        p.run = ev.run;
        if (ev.runsTotal) p.runs = ev.runsTotal;
        break;
      }
      case 'verdict': {
        this.inFlight.delete(ev.probeId);
        const { kind, summary } = verdictOf(ev);
        this.done.push({ probeId: ev.probeId, commit: ev.commit, agent: ev.agentId, verdict: kind, summary, finishedMs: t });
        this.candidatesLeft = ev.candidatesLeft;
        this.suspects = ev.suspects;
        break;
      }
      case 'probe-cancelled':
        this.inFlight.delete(ev.probeId);
        break;
      case 'finished':
        this.inFlight.clear();
        break;
      default:
        break;
    }
    this.version++;
  }

  /** Read the job and its log again (one refresh at a time; events during one ask for another). */
  private scheduleRefresh(): void {
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = this.refresh().finally(() => {
      this.refreshing = undefined;
      if (this.again) {
        this.again = false;
        this.scheduleRefresh();
      }
    });
  }

  private async refresh(): Promise<void> {
    try {
      const [job, log, posterior] = await Promise.all([
        this.client.getJob(this.job.id),
        this.client.getLog(this.job.id).then((r) => r.text),
        // A coordinator without GetPosterior (older) leaves the chart to the estimate.
        this.client.getPosterior(this.job.id).catch(() => undefined),
      ]);
      this.job = job;
      this.log = log;
      if (posterior?.commits.length) this.posterior = { commits: posterior.commits, mass: posterior.mass };
      if (this.ended) this.inFlight.clear();
      if (!this.done.length && job.result?.suspects.length) this.suspects = job.result.suspects;
    } catch (err) {
      this.logger.warn({ job: this.job.id, err: (err as Error).message }, 'could not read the job');
    }
    this.version++;
    for (const fn of this.listeners) fn();
  }
}

/** The watches of a dashboard, by job id; finished ones nobody looks at are dropped. */
export class JobWatches {
  private readonly watches = new Map<string, JobWatch>();

  constructor(
    private readonly client: OperatorClient,
    private readonly logger: Logger,
  ) {}

  async get(jobId: string): Promise<JobWatch> {
    this.sweep();
    let w = this.watches.get(jobId);
    if (!w) {
      const job = await this.client.getJob(jobId);
      w = this.watches.get(jobId) ?? new JobWatch(this.client, job, this.logger);
      this.watches.set(jobId, w);
    }
    w.lastUsedMs = Date.now();
    return w;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, w] of this.watches) {
      if (w.listening === 0 && now - w.lastUsedMs > (w.ended ? 60_000 : 600_000)) {
        w.close();
        this.watches.delete(id);
      }
    }
  }

  close(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }
}
