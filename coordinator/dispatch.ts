/**
 * Dispatch: the only writer of agent slots and leases. A slot is reserved the moment a job takes
 * it (so the scheduler does not hand it out twice), the assignment is sent once the job record
 * holding it is persisted, and the slot is freed when the probe is answered, handed back,
 * cancelled before the agent heard of it, or its lease runs out.
 */
import type { Logger } from 'pino';
import { CoordinatorMessage, Probe } from '../shared/proto.js';
import type { AgentEntry, AgentRegistry, FreeSlot } from './agent-registry.js';
import type { InFlightProbe } from './job-run/index.js';
import type { NatsCredentials } from './nats-credentials.js';

interface Assignment extends InFlightProbe {
  jobId: string;
  probe: Probe;
  /** Did the agent hear of it? Until then a cancel just frees the slot. */
  sent: boolean;
  /** Start of the lease clock for an agent not heard from since (a probe adopted after a restart). */
  sinceMs: number;
}

export type SendResult = 'sent' | 'gone' | 'unreachable';

export class Dispatch {
  private readonly assignments = new Map<string, Assignment>();
  private readonly logger: Logger;

  constructor(
    private readonly registry: AgentRegistry,
    private readonly leaseMs: number,
    logger: Logger,
    private readonly credentials?: NatsCredentials,
  ) {
    this.logger = logger.child({ component: 'dispatch' });
  }

  freeSlots(now: number): FreeSlot[] {
    return this.registry.freeSlots(now);
  }

  /** Take the slot for `probe` now; the agent hears of it with `send`. */
  reserve(probe: Probe, agentId: string, slot: number, now: number): void {
    const agent = this.registry.get(agentId);
    if (agent) agent.slots[slot] = { probe, status: undefined };
    this.assignments.set(probe.id, { probeId: probe.id, jobId: probe.jobId, commit: probe.commit, agentId, slot, startedMs: now, probe, sent: false, sinceMs: now });
  }

  /** Send a reserved assignment: 'gone' when it was cancelled meanwhile, 'unreachable' when the agent is. */
  send(probeId: string, now: number): SendResult {
    const a = this.assignments.get(probeId);
    if (!a) return 'gone';
    const agent = this.registry.get(a.agentId);
    const verdictJwt = agent ? (this.credentials?.forVerdicts(a.agentId, agent.info.natsUserKey, a.jobId, probeId) ?? '') : '';
    const message = CoordinatorMessage.fromPartial({ msg: { $case: 'assign', value: { probe: a.probe, slot: a.slot, leaseDeadlineMs: now + this.leaseMs, verdictJwt } } });
    if (!agent || !this.registry.send(agent, message)) {
      this.forget(a);
      return 'unreachable';
    }
    a.sent = true;
    return 'sent';
  }

  /**
   * Stop a probe. An agent that never heard of it will never report on it: its slot is free at
   * once. Otherwise the agent is told, and the slot frees when it says the probe is done.
   */
  cancel(probeId: string, reason: string): void {
    const a = this.assignments.get(probeId);
    if (!a) return;
    this.assignments.delete(probeId);
    if (!a.sent) {
      this.freeSlot(a);
      return;
    }
    const agent = this.registry.get(a.agentId);
    if (agent) this.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'cancel', value: { probeId, reason } } }));
  }

  /** The probe is answered (verdict, done, hand-back): its slot is free. */
  release(probeId: string): void {
    const a = this.assignments.get(probeId);
    if (a) this.forget(a);
    else {
      // Cancelled earlier: the agent still held the slot until now.
      const found = this.registry.findProbe(probeId);
      if (found) found.agent.slots[found.slot] = { probe: undefined, status: undefined };
    }
  }

  /** A probe from before a restart: its lease runs from now; its slot comes back with the agent's Hello. */
  adopt(jobId: string, p: InFlightProbe, runs: number, now: number): void {
    const probe = Probe.fromPartial({ id: p.probeId, jobId, commit: p.commit, runs });
    this.assignments.set(p.probeId, { ...p, jobId, probe, sent: true, sinceMs: now });
  }

  jobOf(probeId: string): string | undefined {
    return this.assignments.get(probeId)?.jobId;
  }

  /**
   * An agent (re)connected and says which probes it runs: those it holds are adopted in their
   * slots; those it lost are returned (their jobs propose them again); those nobody expects are
   * cancelled.
   */
  hello(agent: AgentEntry, running: readonly string[]): InFlightProbe[] {
    const runningSet = new Set(running);
    const lost: InFlightProbe[] = [];
    for (const a of [...this.assignments.values()]) {
      if (a.agentId !== agent.info.agentId) continue;
      if (runningSet.has(a.probeId)) {
        if (!agent.slots[a.slot]?.probe) agent.slots[a.slot] = { probe: a.probe, status: undefined };
        runningSet.delete(a.probeId);
      } else if (a.sent) {
        this.forget(a);
        lost.push(a);
      }
    }
    for (const id of runningSet) {
      if (!agent.slots.some((s) => s.probe?.id === id)) {
        this.registry.send(agent, CoordinatorMessage.fromPartial({ msg: { $case: 'cancel', value: { probeId: id, reason: 'unknown probe' } } }));
      }
    }
    return lost;
  }

  /** Assignments whose agent has not been heard from within the lease: their slots are freed. */
  expired(now: number): Array<{ jobId: string; probeId: string }> {
    const out: Array<{ jobId: string; probeId: string }> = [];
    for (const a of [...this.assignments.values()]) {
      if (!a.sent) continue;
      const lastSeen = Math.max(this.registry.get(a.agentId)?.lastSeenMs ?? 0, a.sinceMs);
      if (now - lastSeen <= this.leaseMs) continue;
      this.forget(a);
      this.logger.debug({ probeId: a.probeId, agentId: a.agentId }, 'lease expired');
      out.push({ jobId: a.jobId, probeId: a.probeId });
    }
    return out;
  }

  private forget(a: Assignment): void {
    this.assignments.delete(a.probeId);
    this.freeSlot(a);
  }

  private freeSlot(a: Assignment): void {
    const agent = this.registry.get(a.agentId);
    if (agent?.slots[a.slot]?.probe?.id === a.probeId) agent.slots[a.slot] = { probe: undefined, status: undefined };
  }
}
