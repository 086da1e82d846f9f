/**
 * The agents the coordinator knows: their capacity, their Work stream, what each slot holds,
 * when they were last heard from. Leases are judged from `lastSeenMs`.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  AgentInfo,
  AgentMessage,
  CoordinatorMessage,
  type Probe,
  type RegisterRequest,
  SlotPhase,
  type SlotStatus,
} from '../shared/proto.js';

export type WorkStream = ServerDuplexStream<AgentMessage, CoordinatorMessage>;

export interface SlotState {
  probe: Probe | undefined;
  status: SlotStatus | undefined;
}

export interface AgentEntry {
  info: RegisterRequest;
  stream: WorkStream | undefined;
  slots: SlotState[];
  lastSeenMs: number;
  /** Last infrastructure problem; the agent gets no work of that kind until `blockedUntilMs`. */
  problem: string;
  blockedUntilMs: number;
}

export interface FreeSlot {
  agent: AgentEntry;
  slot: number;
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentEntry>();

  register(info: RegisterRequest, now: number): AgentEntry {
    const existing = this.agents.get(info.agentId);
    if (existing) {
      existing.info = info;
      existing.lastSeenMs = now;
      // Capacity may change across restarts of the agent: keep the slots that still exist.
      while (existing.slots.length < info.slots) existing.slots.push({ probe: undefined, status: undefined });
      existing.slots.length = info.slots;
      return existing;
    }
    const entry: AgentEntry = {
      info,
      stream: undefined,
      slots: Array.from({ length: info.slots }, () => ({ probe: undefined, status: undefined })),
      lastSeenMs: now,
      problem: '',
      blockedUntilMs: 0,
    };
    this.agents.set(info.agentId, entry);
    return entry;
  }

  get(agentId: string): AgentEntry | undefined {
    return this.agents.get(agentId);
  }

  all(): AgentEntry[] {
    return [...this.agents.values()];
  }

  /** Free slots of connected agents that can run `kind`, spread across agents (round-robin). */
  freeSlots(now: number): FreeSlot[] {
    const perAgent: FreeSlot[][] = [];
    for (const agent of this.agents.values()) {
      if (!agent.stream || agent.blockedUntilMs > now) continue;
      const free: FreeSlot[] = [];
      agent.slots.forEach((s, i) => {
        if (!s.probe) free.push({ agent, slot: i });
      });
      if (free.length) perAgent.push(free);
    }
    // Interleave so consecutive assignments land on different hosts.
    const out: FreeSlot[] = [];
    for (let i = 0; perAgent.some((l) => i < l.length); i++) for (const l of perAgent) if (i < l.length) out.push(l[i]!);
    return out;
  }

  /** Find which agent and slot hold a probe. */
  findProbe(probeId: string): { agent: AgentEntry; slot: number } | undefined {
    for (const agent of this.agents.values()) {
      const slot = agent.slots.findIndex((s) => s.probe?.id === probeId);
      if (slot >= 0) return { agent, slot };
    }
    return undefined;
  }

  releaseProbe(probeId: string): void {
    const found = this.findProbe(probeId);
    if (found) found.agent.slots[found.slot] = { probe: undefined, status: undefined };
  }

  send(agent: AgentEntry, message: CoordinatorMessage): boolean {
    const stream = agent.stream;
    if (!stream || stream.cancelled || stream.writableEnded) return false;
    stream.write(message);
    return true;
  }

  toInfo(agent: AgentEntry): AgentInfo {
    const i = agent.info;
    return AgentInfo.fromPartial({
      agentId: i.agentId,
      host: i.host,
      slots: i.slots,
      cpus: i.cpus,
      vmCapacity: i.vmCapacity,
      arch: i.arch,
      compilers: i.compilers,
      recipeKinds: i.recipeKinds,
      version: i.version,
      connected: agent.stream !== undefined,
      lastSeenMs: agent.lastSeenMs,
      problem: agent.problem,
      accel: i.accel,
      accelReason: i.accelReason,
      slotStatus: agent.slots.map((s, slot) => ({
        slot,
        phase: s.probe ? phaseName(s.status?.phase ?? SlotPhase.SLOT_PHASE_CHECKOUT) : 'idle',
        probeId: s.probe?.id ?? '',
        jobId: s.probe?.jobId ?? '',
        commit: s.probe?.commit ?? '',
        run: s.status?.run ?? 0,
        runs: s.probe?.runs ?? 0,
      })),
    });
  }
}

export function phaseName(p: SlotPhase): string {
  switch (p) {
    case SlotPhase.SLOT_PHASE_IDLE:
      return 'idle';
    case SlotPhase.SLOT_PHASE_CHECKOUT:
      return 'checkout';
    case SlotPhase.SLOT_PHASE_BUILDING:
      return 'building';
    case SlotPhase.SLOT_PHASE_BOOTING:
      return 'booting';
    case SlotPhase.SLOT_PHASE_TESTING:
      return 'testing';
    case SlotPhase.SLOT_PHASE_PUBLISHING:
      return 'publishing';
    default:
      return 'unknown';
  }
}
