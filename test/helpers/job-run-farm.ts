/**
 * A simulated farm around one JobRun (no server, no clock): agents with slots take the probes
 * the run dispatches, answer with the oracle's verdicts in a seeded order, and the script adds
 * trouble: verdicts delivered twice, cancelled probes that answer late, agents that go silent
 * (their lease expires), hand-backs, forged verdicts, a cancellation, restarts (a new run
 * rebuilt by replaying the stored verdicts, compared with the live one).
 */
import { carryOut, JobRun, replay, startOf, type AgentView, type Command, type RunPorts, type RunState } from '../../coordinator/job-run/index.js';
import { prng } from '../../coordinator/engine/prng.js';
import { Job, JobSpec, JobState, Mode, Policy, Recipe, type Probe, type Verdict } from '../../shared/proto.js';
import type { GeneratedHistory, Oracle } from './job-histories.js';

export interface FarmSpec {
  agents: number;
  slots: number;
  /**
   * Offer slots with what they could reuse (build affinity): each slot's last built commit and
   * each agent's kept kernels (every commit it tested). Without it, the pool is not given.
   */
  affinity?: boolean;
  /** Build directories warm from an earlier job: slot i of agent a (a-major order) last built warm[...]. */
  warm?: readonly string[];
}

/** What the probes' builds would have cost, as the farm kept track of slots' last builds. */
export interface BuildTally {
  /** Probes whose agent kept the commit's kernel: nothing to build. */
  kept: number;
  /** Probes built incrementally: the distance (in history order) from the slot's last build. */
  distances: number[];
  /** Probes on a slot that had built nothing yet. */
  full: number;
}

export interface Script {
  /** Every verdict is delivered twice (JetStream redelivery). */
  duplicates?: boolean;
  /** Cancelled probes still deliver their verdict, after the next one. */
  late?: boolean;
  /** Every n-th probe's agent goes silent: its lease expires; its verdict comes late (or never, with `lost`). */
  silentEvery?: number;
  lost?: boolean;
  /** Every n-th probe is handed back by its agent. */
  handBackEvery?: number;
  /** A verdict for a probe id the job never issued arrives after the first verdict. */
  forged?: boolean;
  /** Cancel the job after this many verdicts. */
  cancelAfter?: number;
  /** Restart (replay into a new run) after these many verdicts. */
  restartAfter?: number[];
  /** 'random': verdicts come back in a seeded random order (default: oldest first). */
  order?: 'fifo' | 'random';
  seed?: number;
}

export interface JobOptions {
  goods?: string[];
  bad?: string;
  badTitle?: string;
  goodTitles?: string[];
  crossTree?: boolean;
  mode?: 'cause' | 'fix';
  policy?: Partial<Policy>;
}

export interface FarmOutcome {
  /** Set when the job was refused at submission. */
  error?: Error;
  job?: Job;
  run?: JobRun;
  /** Probes dispatched, and runs asked for in all. */
  probes: number;
  runs: number;
  /** At each restart: the live run's state and the replayed one's. */
  restarts: { live: RunState; replayed: RunState }[];
  commands: Command[];
  stalled: boolean;
  builds: BuildTally;
}

interface Busy {
  probe: Probe;
  agentId: string;
  slot: number;
  startedMs: number;
  silent: boolean;
  handBack: boolean;
}

export function jobOf(h: GeneratedHistory, o: JobOptions): Job {
  const spec = JobSpec.fromPartial({
    repo: 'memory://history',
    bad: o.bad ?? 'main',
    goods: o.goods ?? [h.root],
    badTitle: o.badTitle ?? '',
    goodTitles: o.goodTitles ?? [],
    crossTree: o.crossTree ?? false,
    mode: o.mode === 'fix' ? Mode.MODE_FIX : Mode.MODE_CAUSE,
    recipe: Recipe.fromPartial({ kind: 'script' }),
    policy: Policy.fromPartial({ confidenceTarget: 0.99, ...o.policy }),
  });
  return Job.fromPartial({ id: 'j1', spec, state: JobState.JOB_STATE_RUNNING, createdMs: 1000, updatedMs: 1000 });
}

export async function runFarm(h: GeneratedHistory, oracle: Oracle, options: JobOptions, farm: FarmSpec, script: Script = {}): Promise<FarmOutcome> {
  const out: FarmOutcome = { probes: 0, runs: 0, restarts: [], commands: [], stalled: false, builds: { kept: 0, distances: [], full: 0 } };
  let clock = 1000;
  const ports: RunPorts = { repo: h.repo, crashReport: async (key) => `report of ${key}`, now: () => clock };
  const job = jobOf(h, options);
  let run: JobRun;
  try {
    run = JobRun.create(job, await startOf(job, h.repo));
  } catch (err) {
    out.error = err as Error;
    return out;
  }
  const agentIds = Array.from({ length: farm.agents }, (_, i) => `a${i + 1}`);
  const unhealthy = new Set<string>();
  const view = (): AgentView => ({ healthyAble: agentIds.filter((a) => !unhealthy.has(a)).length, able: agentIds });
  const busy: Busy[] = [];
  const late: Verdict[] = [];
  /** The VERDICTS stream: one message per probe id. */
  const stream: Verdict[] = [];
  const rand = prng(script.seed ?? 3);
  let pass = 0;
  let nonce = 0;
  let delivered = 0;
  /** slot id → the commit its build directory holds; agent → the commits whose kernels it keeps. */
  const lastBuilt = new Map<string, string>();
  const kept = new Map<string, Set<string>>();
  farm.warm?.forEach((commit, i) => lastBuilt.set(`a${Math.floor(i / farm.slots) + 1}/${i % farm.slots}`, commit));
  const tallyBuild = (agentId: string, slot: number, commit: string) => {
    const id = `${agentId}/${slot}`;
    const last = lastBuilt.get(id);
    if (kept.get(agentId)?.has(commit)) out.builds.kept++;
    else if (last === undefined) out.builds.full++;
    else out.builds.distances.push(Math.abs(h.index.get(commit)! - h.index.get(last)!));
    if (!kept.get(agentId)?.has(commit)) lastBuilt.set(id, commit);
    if (!kept.has(agentId)) kept.set(agentId, new Set());
    kept.get(agentId)!.add(commit);
  };
  const poolOf = (free: readonly { agentId: string; slot: number }[]) =>
    free.map((f) => {
      const last = lastBuilt.get(`${f.agentId}/${f.slot}`);
      const key = run.config.buildKey;
      return { ...f, lastBuilt: new Map(last ? [[key, last]] : []), cached: new Map([[key, kept.get(f.agentId) ?? new Set<string>()]]) };
    });

  const other = (c: Command) => {
    out.commands.push(c);
    switch (c.type) {
      case 'dispatch': {
        out.probes++;
        out.runs += c.probe.runs;
        const silent = script.silentEvery !== undefined && out.probes % script.silentEvery === 0;
        const handBack = script.handBackEvery !== undefined && out.probes % script.handBackEvery === 0;
        busy.push({ probe: c.probe, agentId: c.agentId, slot: c.slot, startedMs: clock, silent, handBack });
        tallyBuild(c.agentId, c.slot, c.probe.commit);
        break;
      }
      case 'cancel-probe': {
        const at = busy.findIndex((b) => b.probe.id === c.probe.probeId);
        if (at >= 0) {
          const [b] = busy.splice(at, 1);
          if (script.late && b) late.push(oracle.verdict(b.probe, b.agentId, b.startedMs));
        }
        break;
      }
      case 'agent-unhealthy':
        unhealthy.add(c.agentId);
        break;
      case 'agent-healthy':
        unhealthy.delete(c.agentId);
        break;
    }
  };
  const feed = async (v: Verdict) => {
    if (!stream.some((s) => s.probeId === v.probeId)) stream.push(v);
    await carryOut(run, run.apply({ type: 'verdict', verdict: v, agents: view() }, clock), ports, other);
  };

  for (let step = 0; step < 5000 && run.active; step++) {
    clock += 10;
    pass++;
    // Every free slot of a healthy agent is offered (an unhealthy agent waits out its health check).
    const free: { agentId: string; slot: number }[] = [];
    for (let s = 0; s < farm.slots; s++) for (const a of agentIds) if (!unhealthy.has(a) && !busy.some((b) => b.agentId === a && b.slot === s)) free.push({ agentId: a, slot: s });
    const pool = farm.affinity ? poolOf(free) : undefined;
    for (const [i, f] of free.entries()) {
      await carryOut(run, run.apply({ type: 'slot-offered', agentId: f.agentId, slot: f.slot, slotsLeft: free.length - i, pass, nonce: (++nonce).toString(16).padStart(16, '0'), pool: pool?.slice(i) }, clock), ports, other);
    }
    if (!run.active) break;
    if (busy.length === 0) {
      if (unhealthy.size > 0) {
        unhealthy.clear(); // the health checks come due
        continue;
      }
      out.stalled = true;
      break;
    }
    const at = script.order === 'random' ? Math.floor(rand() * busy.length) : 0;
    const [b] = busy.splice(at, 1);
    if (!b) break;
    clock += 10;
    if (b.silent) {
      await carryOut(run, run.apply({ type: 'lease-expired', probeId: b.probe.id }, clock), ports, other);
      if (!script.lost) late.push(oracle.verdict(b.probe, b.agentId, b.startedMs));
      continue;
    }
    if (b.handBack) {
      await carryOut(run, run.apply({ type: 'probe-handed-back', probeId: b.probe.id, reason: 'agent shutting down' }, clock), ports, other);
      continue;
    }
    const v = oracle.verdict(b.probe, b.agentId, b.startedMs);
    await feed(v);
    if (script.duplicates) await feed(v);
    delivered++;
    for (const l of late.splice(0)) if (run.active) await feed(l);
    if (script.forged && delivered === 1) await feed({ ...v, probeId: `${v.jobId}-b-deadbeefdeadbeef`, commit: h.tip });
    if (script.cancelAfter === delivered) {
      await carryOut(run, run.apply({ type: 'cancel-requested', reason: 'operator changed their mind' }, clock), ports, other);
    }
    if (script.restartAfter?.includes(delivered) && run.active) {
      const record = run.record(clock);
      const again = JobRun.create(record.job, await startOf(Job.fromPartial(record.job), h.repo), record.issued);
      await replay(again, stream, ports);
      await carryOut(again, again.apply({ type: 'resumed', inFlight: record.inFlight }, clock), ports, () => undefined);
      out.restarts.push({ live: run.state(), replayed: again.state() });
      run = again;
    }
  }
  out.run = run;
  out.job = run.snapshot(clock);
  return out;
}
