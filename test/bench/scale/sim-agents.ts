/**
 * Light simulated agents for the scale benchmark, many in one process (run as a child process of
 * test/bench/scale.ts, with an IPC channel). Each speaks the agent protocol over real gRPC, on a
 * connection of its own: Register, then the Work stream (Hello first, an empty BuildState, a
 * heartbeat at the interval the coordinator gave), Assignments in, and for each probe: wait a
 * random 200-600 ms, publish the Verdict to JetStream as agent/verdict-publisher.ts does without
 * a credential (the probe id as message id, on the probe's own subject), then ProbeDone. A cancel
 * stops the probe and frees its slot (ProbeDone, not published), as the real agent does.
 *
 * No builds: the verdict comes from the planted culprit in the job's recipe params
 * (`sim_culprit`, `sim_dag`: the DAG file the bench wrote). A commit that has the culprit as an
 * ancestor (or is it) crashes every run, with a title the job's crash policy counts; any other
 * is clean. Descendant sets are computed once per culprit.
 *
 * Everything the bench measures is recorded here with one clock shared by all processes
 * (performance.timeOrigin + performance.now(), ms): assignments, verdict publications and
 * their acks, cancels, per slot. The bench asks for the record at the end ('stop').
 *
 * Config: SCALE_SIM (JSON, see SimConfig). The process exits when the bench goes away (the IPC
 * channel closes) or on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { titleMatchesPolicy } from '../../../agent/classify.js';
import { CHANNEL_OPTIONS, channelCredentials } from '../../../shared/grpc.js';
import { agentStore, closeNats, connectNats, storeNamesFor, type AgentStore } from '../../../shared/nats.js';
import {
  AgentMessage,
  AgentServiceClient,
  type Assignment,
  type CoordinatorMessage,
  type Probe,
  RegisterRequest,
  type RegisterResponse,
  RunOutcome,
  RunResult,
  Verdict,
} from '../../../shared/proto.js';
import type { DagFile } from './history.js';
import { prng } from './history.js';

export interface SimConfig {
  coordinator: string;
  agents: { id: string; slots: number }[];
  /** Probe duration range (ms). */
  minMs: number;
  maxMs: number;
  seed: number;
}

/** One slot's history, in time order. */
export type SlotEvent =
  | { k: 'assign'; t: number; probeId: string; jobId: string }
  | { k: 'verdict'; t: number; ack: number; probeId: string; jobId: string; crashed: boolean }
  | { k: 'cancel'; t: number; probeId: string };

export interface SimRecord {
  /** Per slot ("agent/slot"): when its agent's Work stream opened, then its events. */
  slots: Record<string, { connected: number; events: SlotEvent[] }>;
  handBacks: number;
  publishFailures: number;
  streamErrors: number;
  heartbeats: number;
}

export type SimMessage =
  | { type: 'ready'; agents: number }
  | { type: 'progress'; assigns: number; verdicts: number; cancels: number }
  | { type: 'record'; record: SimRecord }
  | { type: 'error'; message: string };

export const CRASH_TITLE = 'BUG: unable to handle kernel NULL pointer dereference in sim_culprit';

const now = (): number => performance.timeOrigin + performance.now();

function send(m: SimMessage): void {
  process.send?.(m);
}

/** Which commits crash: descendants-or-self of the culprit, per DAG file and culprit. */
class Oracle {
  private readonly dags = new Map<string, { index: Map<string, number>; children: number[][] }>();
  private readonly affected = new Map<string, Uint8Array>();

  crashes(dagFile: string, culprit: string, commit: string): boolean {
    const dag = this.dag(dagFile);
    const key = `${dagFile}\0${culprit}`;
    let set = this.affected.get(key);
    if (!set) {
      set = new Uint8Array(dag.children.length);
      const c = dag.index.get(culprit);
      if (c === undefined) throw new Error(`culprit ${culprit} is not in ${dagFile}`);
      const stack = [c];
      set[c] = 1;
      while (stack.length > 0) {
        for (const ch of dag.children[stack.pop()!]!) {
          if (!set[ch]) {
            set[ch] = 1;
            stack.push(ch);
          }
        }
      }
      this.affected.set(key, set);
    }
    const x = dag.index.get(commit);
    if (x === undefined) throw new Error(`commit ${commit} is not in ${dagFile}`);
    return set[x] === 1;
  }

  private dag(file: string): { index: Map<string, number>; children: number[][] } {
    let d = this.dags.get(file);
    if (!d) {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as DagFile;
      const index = new Map<string, number>();
      raw.hashes.forEach((h, i) => index.set(h, i));
      const children: number[][] = raw.hashes.map(() => []);
      raw.parents.forEach((ps, i) => ps.forEach((p) => children[p]!.push(i)));
      d = { index, children };
      this.dags.set(file, d);
    }
    return d;
  }
}

interface SlotState {
  probe: Probe | undefined;
  timer: NodeJS.Timeout | undefined;
  publishing: boolean;
}

class Shared {
  nc: NatsConnection | undefined;
  store: AgentStore | undefined;
  private connecting: Promise<void> | undefined;
  readonly oracle = new Oracle();
  readonly record: SimRecord = { slots: {}, handBacks: 0, publishFailures: 0, streamErrors: 0, heartbeats: 0 };
  readonly counts = { assigns: 0, verdicts: 0, cancels: 0 };
  readonly rand: () => number;
  stopping = false;

  constructor(readonly config: SimConfig) {
    this.rand = prng(config.seed);
  }

  /** One NATS connection for all the agents of this process (a real agent has its own). */
  ensureNats(reg: RegisterResponse): Promise<void> {
    this.connecting ??= (async () => {
      this.nc = await connectNats({ servers: reg.natsUrls, name: `multisect-sim-${process.pid}`, inboxPrefix: reg.natsInboxPrefix, attempts: 5 });
      this.store = agentStore(this.nc, storeNamesFor(reg.namespace));
    })();
    return this.connecting;
  }

  events(key: string): SlotEvent[] {
    return this.record.slots[key]!.events;
  }
}

class SimAgent {
  private readonly slots: SlotState[];
  private stream: ClientDuplexStream<AgentMessage, CoordinatorMessage> | undefined;
  private client: AgentServiceClient | undefined;
  private beat: NodeJS.Timeout | undefined;
  /** When the coordinator last renewed our lease (a LeaseRenewal, or the stream's start). */
  private renewed = 0;
  private reconnecting = false;

  constructor(
    private readonly id: string,
    slots: number,
    private readonly shared: Shared,
  ) {
    this.slots = Array.from({ length: slots }, () => ({ probe: undefined, timer: undefined, publishing: false }));
  }

  async start(): Promise<void> {
    this.client?.close();
    // A connection of its own, like a real agent on its own host (grpc-js would share one).
    const client = new AgentServiceClient(this.shared.config.coordinator, channelCredentials({ kind: 'insecure' }), { ...CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 });
    this.client = client;
    const reg = await new Promise<RegisterResponse>((resolve, reject) =>
      client.register(
        RegisterRequest.fromPartial({ agentId: this.id, host: `sim-${process.pid}`, slots: this.slots.length, cpus: 1, vmCapacity: 1, arch: 'x86_64', recipeKinds: ['script'], version: 'sim', accel: 'tcg', accelReason: 'simulated' }),
        { deadline: Date.now() + 15_000 } as never,
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
    await this.shared.ensureNats(reg);
    this.session(reg);
  }

  private session(reg: RegisterResponse): void {
    const stream = this.client!.work();
    this.stream = stream;
    const t = now();
    this.slots.forEach((_, i) => {
      const key = `${this.id}/${i}`;
      if (!this.shared.record.slots[key]) this.shared.record.slots[key] = { connected: t, events: [] };
    });
    const running = this.slots.flatMap((s) => (s.probe ? [s.probe.id] : []));
    this.write({ msg: { $case: 'hello', value: { agentId: this.id, runningProbeIds: running } } });
    // What the agent could reuse for build affinity: a simulated agent builds nothing.
    this.write({ msg: { $case: 'builds', value: { slots: [], kernels: [] } } });
    const every = reg.heartbeatIntervalMs > 0 ? reg.heartbeatIntervalMs : 1000;
    clearInterval(this.beat);
    this.renewed = performance.now();
    this.beat = setInterval(() => {
      // As the real agent (agent/lease.ts): a lease the coordinator stopped renewing ends the
      // session; the next one's Hello says which probes still run here.
      if (reg.leaseMs > 0 && performance.now() - this.renewed > reg.leaseMs) {
        stream.cancel();
        ended(`no lease renewal for ${reg.leaseMs} ms`);
        return;
      }
      this.shared.record.heartbeats++;
      this.write({ msg: { $case: 'heartbeat', value: { timeMs: Date.now(), freeSlots: this.slots.filter((s) => !s.probe).length } } });
    }, every);
    stream.on('data', (m: CoordinatorMessage) => this.onMessage(m));
    const ended = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      clearInterval(this.beat);
      if (this.shared.stopping) return;
      this.shared.record.streamErrors++;
      process.stderr.write(`sim agent ${this.id}: Work stream ended (${why}); reconnecting\n`);
      void this.reconnect();
    };
    stream.on('error', (err) => ended(err.message));
    stream.on('end', () => ended('end'));
  }

  /** Register and open a Work stream again until it works (a coordinator restarting stands by first). */
  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      for (let delay = 200; !this.shared.stopping; delay = Math.min(5000, delay * 2)) {
        await new Promise((r) => setTimeout(r, delay * (0.5 + this.shared.rand())));
        if (this.shared.stopping) return;
        try {
          await this.start();
          return;
        } catch (err) {
          process.stderr.write(`sim agent ${this.id}: not connected (${(err as Error).message}); retrying\n`);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  private write(m: Partial<AgentMessage>): void {
    const s = this.stream;
    if (!s || s.writableEnded || s.destroyed) return;
    try {
      s.write(AgentMessage.fromPartial(m));
    } catch {
      /* going away */
    }
  }

  private onMessage(m: CoordinatorMessage): void {
    const msg = m.msg;
    if (!msg) return;
    if (msg.$case === 'assign') this.onAssign(msg.value);
    else if (msg.$case === 'cancel') this.onCancel(msg.value.probeId);
    else if (msg.$case === 'lease') this.renewed = performance.now();
  }

  private onAssign(a: Assignment): void {
    const t = now();
    const probe = a.probe;
    if (!probe) return;
    const slot = this.slots[a.slot];
    if (!slot || slot.probe || this.slots.some((s) => s.probe?.id === probe.id)) {
      this.shared.record.handBacks++;
      this.write({ msg: { $case: 'handBack', value: { probeId: probe.id, reason: slot ? 'slot busy' : 'no such slot' } } });
      return;
    }
    this.shared.counts.assigns++;
    this.shared.events(`${this.id}/${a.slot}`).push({ k: 'assign', t, probeId: probe.id, jobId: probe.jobId });
    slot.probe = probe;
    const { minMs, maxMs } = this.shared.config;
    const ms = minMs + this.shared.rand() * (maxMs - minMs);
    const started = Date.now();
    slot.timer = setTimeout(() => void this.finish(a.slot, probe, started, ms), ms);
  }

  private onCancel(probeId: string): void {
    const i = this.slots.findIndex((s) => s.probe?.id === probeId);
    const slot = this.slots[i];
    // Publishing already: the verdict goes out (it is evidence the job may still use).
    if (!slot || slot.publishing) return;
    clearTimeout(slot.timer);
    slot.probe = undefined;
    slot.timer = undefined;
    this.shared.counts.cancels++;
    this.shared.events(`${this.id}/${i}`).push({ k: 'cancel', t: now(), probeId });
    this.write({ msg: { $case: 'done', value: { probeId, published: false } } });
  }

  private async finish(i: number, probe: Probe, started: number, ms: number): Promise<void> {
    const slot = this.slots[i]!;
    slot.publishing = true;
    const params = probe.recipe?.params ?? {};
    const crashed = this.shared.oracle.crashes(params.sim_dag ?? '', params.sim_culprit ?? '', probe.commit);
    const runs = Math.max(1, probe.runs);
    const perRun = Math.round(ms / runs);
    const verdict = Verdict.fromPartial({
      probeId: probe.id,
      jobId: probe.jobId,
      commit: probe.commit,
      agentId: this.id,
      startedMs: started,
      finishedMs: Date.now(),
      phase: probe.phase,
      round: probe.round,
      build: { ok: true, durationMs: 0, compiler: 'sim' },
      runs: Array.from({ length: runs }, (_, index) =>
        crashed
          ? RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_CRASH, title: CRASH_TITLE, crashType: 'NULL-PTR-DEREF', matches: titleMatchesPolicy(probe.policy, CRASH_TITLE), durationMs: perRun, exitCode: 1 })
          : RunResult.fromPartial({ index, outcome: RunOutcome.RUN_OUTCOME_OK, durationMs: perRun, exitCode: 0 }),
      ),
    });
    const t = now();
    let published = false;
    // As agent/verdict-publisher.ts without a credential: the probe's own subject, the probe id
    // as message id (a retry is stored once); the outbox retries until JetStream acknowledges.
    for (let attempt = 0; attempt < 20 && !published; attempt++) {
      try {
        const store = this.shared.store!;
        await store.js.publish(store.verdictSubject(verdict.jobId, verdict.probeId), Verdict.encode(verdict).finish(), { msgID: verdict.probeId, timeout: 5000 });
        published = true;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const ack = now();
    if (!published) this.shared.record.publishFailures++;
    this.shared.counts.verdicts++;
    this.shared.events(`${this.id}/${i}`).push({ k: 'verdict', t, ack, probeId: probe.id, jobId: probe.jobId, crashed });
    slot.probe = undefined;
    slot.timer = undefined;
    slot.publishing = false;
    this.write({ msg: { $case: 'done', value: { probeId: probe.id, published } } });
  }

  stop(): void {
    clearInterval(this.beat);
    for (const s of this.slots) clearTimeout(s.timer);
    const stream = this.stream;
    this.stream = undefined;
    try {
      stream?.end();
    } catch {
      /* gone */
    }
    this.client?.close();
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.SCALE_SIM ?? '') as SimConfig;
  const shared = new Shared(config);
  const agents = config.agents.map((a) => new SimAgent(a.id, a.slots, shared));
  // The bench is gone: so are we (the IPC channel closes with it, whatever killed it).
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'stop') return;
    shared.stopping = true;
    clearInterval(progress);
    for (const a of agents) a.stop();
    void (shared.nc ? closeNats(shared.nc, 1000) : Promise.resolve()).finally(() => {
      // The record is megabytes at 500 slots: exit only once the channel has taken it.
      const m: SimMessage = { type: 'record', record: shared.record };
      process.send?.(m, undefined, {}, () => process.exit(0));
      setTimeout(() => process.exit(0), 10_000).unref();
    });
  });
  const progress = setInterval(() => send({ type: 'progress', ...shared.counts }), 1000);
  // Registrations a few at a time: hundreds at once only measure the start-up.
  for (let i = 0; i < agents.length; i += 8) await Promise.all(agents.slice(i, i + 8).map((a) => a.start()));
  send({ type: 'ready', agents: agents.length });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: (err as Error).stack ?? String(err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
