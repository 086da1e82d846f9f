/**
 * The agents the coordinator knows: their capacity, their Work stream, what each slot holds,
 * when they were last heard from. Leases are judged from `lastSeenMs`. What a slot holds is
 * written by dispatch.ts only (registration just sizes the slot list).
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  AgentInfo,
  AgentMessage,
  CoordinatorMessage,
  type Probe,
  type RegisterRequest,
  type BuildState,
  SlotPhase,
  type SlotStatus,
} from '../shared/proto.js';
import { backoffDelay } from '../shared/backoff.js';

export type WorkStream = ServerDuplexStream<AgentMessage, CoordinatorMessage>;

export interface SlotState {
  probe: Probe | undefined;
  status: SlotStatus | undefined;
}

/**
 * An agent's health as the jobs see it. `unhealthy`: its runs failed where other agents' did not
 * (it could not boot a commit that booted elsewhere); it gets no work until `retryAtMs`, then one
 * probe on `probation`: a run that completes makes it healthy, another failure doubles the wait.
 */
export type AgentHealth =
  | { state: 'healthy' }
  | { state: 'unhealthy'; reason: string; sinceMs: number; retryAtMs: number; strikes: number }
  | { state: 'probation'; reason: string; sinceMs: number; strikes: number };

/** Waits before an unhealthy agent's next health check: 30 s, doubling, at most 10 min. */
export const HEALTH_BACKOFF = { baseMs: 30_000, maxMs: 600_000 };

export interface AgentEntry {
  info: RegisterRequest;
  stream: WorkStream | undefined;
  slots: SlotState[];
  lastSeenMs: number;
  /** Last infrastructure problem; the agent gets no work of that kind until `blockedUntilMs`. */
  problem: string;
  blockedUntilMs: number;
  health: AgentHealth;
  /** What the agent could reuse (its last BuildState), for build affinity. */
  builds: AgentBuilds;
}

/** An agent's BuildState as the scheduler reads it: per slot build key → last commit; build key → kept kernels. */
export interface AgentBuilds {
  lastBuilt: Array<Map<string, string>>;
  cached: Map<string, Set<string>>;
}

function noBuilds(): AgentBuilds {
  return { lastBuilt: [], cached: new Map() };
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
      health: { state: 'healthy' },
      builds: noBuilds(),
    };
    this.agents.set(info.agentId, entry);
    return entry;
  }

  /** The agent says what its slots and kernel cache hold now (whole, replacing what it said before). */
  setBuilds(agent: AgentEntry, state: BuildState): void {
    const b = noBuilds();
    for (const s of state.slots) {
      if (s.slot >= agent.slots.length) continue;
      (b.lastBuilt[s.slot] ??= new Map()).set(s.buildKey, s.commit);
    }
    for (const k of state.kernels) {
      let set = b.cached.get(k.buildKey);
      if (!set) b.cached.set(k.buildKey, (set = new Set()));
      set.add(k.commit);
    }
    agent.builds = b;
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
      const h = agent.health;
      if (h.state === 'unhealthy') {
        if (now < h.retryAtMs) continue;
        // The health check: one probe, whose runs must complete.
        agent.health = { state: 'probation', reason: h.reason, sinceMs: h.sinceMs, strikes: h.strikes };
      }
      const onProbation = agent.health.state === 'probation';
      if (onProbation && agent.slots.some((s) => s.probe)) continue;
      const free: FreeSlot[] = [];
      agent.slots.forEach((s, i) => {
        if (!s.probe && (!onProbation || free.length === 0)) free.push({ agent, slot: i });
      });
      if (free.length) perAgent.push(free);
    }
    // Interleave so consecutive assignments land on different hosts.
    const out: FreeSlot[] = [];
    for (let i = 0; perAgent.some((l) => i < l.length); i++) for (const l of perAgent) if (i < l.length) out.push(l[i]!);
    return out;
  }

  /** Agents that can take work of `kind` now or after a health check: connected and not unhealthy. */
  healthyCount(kind: string): number {
    return this.all().filter((a) => a.stream && a.health.state === 'healthy' && (a.info.recipeKinds.length === 0 || a.info.recipeKinds.includes(kind))).length;
  }

  /** Did an agent's block or health-check wait end in (since, now]? Then the scheduler has work. */
  availableAgain(since: number, now: number): boolean {
    const ended = (t: number) => t > since && t <= now;
    return this.all().some((a) => ended(a.blockedUntilMs) || (a.health.state === 'unhealthy' && ended(a.health.retryAtMs)));
  }

  /** Runs failed on this agent where they did not elsewhere: no work until a health check passes. */
  markUnhealthy(agentId: string, reason: string, now: number): AgentEntry | undefined {
    const agent = this.agents.get(agentId);
    if (!agent) return undefined;
    const h = agent.health;
    if (h.state === 'unhealthy') return agent; // already waiting: one strike per health check
    const strikes = h.state === 'probation' ? h.strikes + 1 : 1;
    agent.health = { state: 'unhealthy', reason, sinceMs: h.state === 'healthy' ? now : h.sinceMs, retryAtMs: now + backoffDelay(strikes, HEALTH_BACKOFF), strikes };
    agent.problem = reason;
    return agent;
  }

  /** A run of this agent completed: it is healthy (again). Returns true when that is news. */
  markHealthy(agentId: string): boolean {
    const agent = this.agents.get(agentId);
    if (!agent || agent.health.state === 'healthy') return false;
    agent.health = { state: 'healthy' };
    agent.problem = '';
    return true;
  }

  /** Find which agent and slot hold a probe. */
  findProbe(probeId: string): { agent: AgentEntry; slot: number } | undefined {
    for (const agent of this.agents.values()) {
      const slot = agent.slots.findIndex((s) => s.probe?.id === probeId);
      if (slot >= 0) return { agent, slot };
    }
    return undefined;
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
      health: agent.health.state,
      healthRetryMs: agent.health.state === 'unhealthy' ? agent.health.retryAtMs : 0,
      keptKernels: [...agent.builds.cached.values()].reduce((n, commits) => n + commits.size, 0),
      slotStatus: agent.slots.map((s, slot) => ({
        slot,
        phase: s.probe ? phaseName(s.status?.phase ?? SlotPhase.SLOT_PHASE_CHECKOUT) : 'idle',
        probeId: s.probe?.id ?? '',
        jobId: s.probe?.jobId ?? '',
        commit: s.probe?.commit ?? '',
        run: s.status?.run ?? 0,
        runs: s.probe?.runs ?? 0,
        lastBuilt: [...(agent.builds.lastBuilt[slot]?.values() ?? [])],
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
