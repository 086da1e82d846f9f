/**
 * The scheduling pass: free slots are offered to running jobs (fair share and slot choice in
 * scheduler.ts, the placement of a job's commits in job-run/affinity.ts). It decides who is
 * offered what; carrying out a job's answer (reserve, persist, then send) is the executor's
 * (jobs.ts), reached only through SchedulingHost.
 */
import { randomBytes } from 'node:crypto';
import type { FreeSlot } from './agent-registry.js';
import type { Command, JobRun, SlotView } from './job-run/index.js';
import { pickJob, pickSlot } from './scheduler.js';

/** A job the pass can offer slots to: the executor's handle on it, which it gets back in execute. */
export interface SchedulableRun {
  readonly run: JobRun;
}

/** What the pass needs from the executor, and all it gets. */
export interface SchedulingHost<J extends SchedulableRun> {
  /** The slots free now (Dispatch). */
  freeSlots(now: number): FreeSlot[];
  /** The running jobs. */
  jobs(): Iterable<J>;
  /** Carry out the commands a job answered an offer with; the pass does not wait for them. */
  execute(job: J, commands: readonly Command[]): Promise<void>;
}

export interface SchedulingOptions {
  /** Give each probe the free slot that built nearest to it (job-run/affinity.ts). */
  buildAffinity: boolean;
}

export class SchedulingPass<J extends SchedulableRun> {
  /** The pass schedule() asked for, not yet run. */
  private pending: NodeJS.Immediate | undefined;
  private pass = 0;
  private closed = false;

  constructor(
    private readonly host: SchedulingHost<J>,
    private readonly options: SchedulingOptions,
  ) {}

  /**
   * Give free slots the next probes, soon: every call until the pass runs (the verdicts, freed
   * slots and hand-backs that arrived in the same turn of the event loop) coalesces into one pass
   * after the pending I/O callbacks (setImmediate). Under load, one pass then sees many free slots
   * and each job plans its share of them jointly, instead of one engine proposal per event.
   */
  schedule(): void {
    if (this.closed || this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      if (!this.closed) this.run();
    });
  }

  /** No pass runs from now on, not even one already asked for. Safe to call twice. */
  close(): void {
    this.closed = true;
    if (this.pending) clearImmediate(this.pending);
  }

  /**
   * One pass over the free slots: the job whose turn it is (fair share, scheduler.ts) takes the
   * free slot that suits its builds best (pickSlot), and places its probes on the pass's slots by
   * what they built (job-run/affinity.ts), until every slot is taken or no job wants one.
   */
  private run(): void {
    const remaining = this.host.freeSlots(Date.now());
    // Agents a job declined in this pass (a commit barred there may go elsewhere), and jobs that
    // want nothing more in this pass on any agent.
    const exhausted = new Map<J, Set<string>>();
    const full = new Set<J>();
    const pass = ++this.pass;
    const affinity = this.options.buildAffinity;
    const usable = (h: J, f: FreeSlot) => {
      const kinds = f.agent.info.recipeKinds;
      return !exhausted.get(h)?.has(f.agent.info.agentId) && (kinds.length === 0 || kinds.includes(h.run.config.recipeKind));
    };
    while (remaining.length > 0) {
      const candidates = [...this.host.jobs()].filter((h) => !full.has(h) && h.run.wantsWork() && remaining.some((f) => usable(h, f)));
      const id = pickJob(candidates.map((c) => ({ id: c.run.jobId, inFlight: c.run.inFlightCount, lastServedMs: c.run.lastServedMs, createdMs: c.run.createdMs })));
      const h = id === undefined ? undefined : candidates.find((c) => c.run.jobId === id);
      if (!h) break;
      const eligible = remaining.filter((f) => usable(h, f));
      const at = affinity ? Math.max(0, pickSlot(eligible.map((f) => f.agent.builds.lastBuilt[f.slot] ?? NOTHING_BUILT), h.run.config.buildKey)) : 0;
      const slot = eligible[at]!;
      const agentId = slot.agent.info.agentId;
      const pool = affinity ? [slot, ...eligible.filter((f) => f !== slot)].map(slotView) : undefined;
      // The job plans its share of the pass's slots (fair share gives it about that many), not
      // every free slot: proposeMany's cost grows with the count.
      const slotsLeft = Math.ceil(remaining.length / candidates.length);
      const commands = h.run.apply({ type: 'slot-offered', agentId, slot: slot.slot, slotsLeft, pass, nonce: randomBytes(8).toString('hex'), pool }, Date.now());
      if (commands.length === 0) {
        // A commit barred for this agent (host faults) may still go to another; without any
        // barred commit the job wants nothing more in this pass, on any agent.
        if (!h.run.declinesByAgent) full.add(h);
        else {
          const agents = exhausted.get(h) ?? new Set<string>();
          agents.add(agentId);
          exhausted.set(h, agents);
        }
        continue;
      }
      remaining.splice(remaining.indexOf(slot), 1);
      void this.host.execute(h, commands).catch(() => undefined);
    }
  }
}

const NOTHING_BUILT: ReadonlyMap<string, string> = new Map();

function slotView(f: FreeSlot): SlotView {
  const b = f.agent.builds;
  return { agentId: f.agent.info.agentId, slot: f.slot, lastBuilt: b.lastBuilt[f.slot] ?? NOTHING_BUILT, cached: b.cached };
}
