/**
 * The agent process: registers with the coordinator, keeps one Work stream, runs the probes it
 * is assigned in its slots, and publishes their verdicts to JetStream. It reconnects with
 * backoff when the coordinator or NATS goes away and never loses a finished verdict (outbox).
 */
import { arch, hostname } from 'node:os';
import { join } from 'node:path';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { CancelledError, InfraError } from '../shared/errors.js';
import { CHANNEL_OPTIONS, channelCredentials } from '../shared/grpc.js';
import { agentStore, closeNats, connectNats, storeNamesFor, type AgentStore } from '../shared/nats.js';
import {
  AgentMessage,
  AgentServiceClient,
  type Assignment,
  type CoordinatorMessage,
  type Probe,
  RegisterRequest,
  type RegisterResponse,
  SlotPhase,
} from '../shared/proto.js';
import { classifyOutput, titleMatchesPolicy } from './classify.js';
import { compileAgentOptions, type AgentOptions, type AgentOptionsInput } from './options.js';
import { Outbox, type VerdictPublisher } from './outbox.js';
import { verdictPublisher, type VerdictConnection } from './verdict-publisher.js';
import { loadNatsUserKey } from './nats-key.js';
import type { KeyPair } from '../shared/nats-jwt.js';
import { runProbe, type ProbeRunnerDeps } from './probe-runner.js';
import { ScriptRecipe } from './recipes/script.js';
import type { Recipe } from './recipes/types.js';
import { Workspace } from './workspace.js';
import { decideAccel, type AccelDecision } from './kernel/accel.js';
import { sleep } from '../shared/sleep.js';
import { Backoff } from '../shared/backoff.js';
import { LeaseClock, LeaseLapsedError } from './lease.js';
import { BuildTracker } from './build-state.js';
import { KernelCache } from './kernel-cache.js';

export const AGENT_VERSION = '0.1.0';

/** Heartbeat interval when the coordinator announces none (an older one). */
const DEFAULT_HEARTBEAT_MS = 1000;

export type AgentState = 'created' | 'connecting' | 'connected' | 'draining' | 'closed';

interface RunningProbe {
  probe: Probe;
  slot: number;
  abort: AbortController;
  done: Promise<void>;
}

const PHASES: Record<string, SlotPhase> = {
  checkout: SlotPhase.SLOT_PHASE_CHECKOUT,
  building: SlotPhase.SLOT_PHASE_BUILDING,
  booting: SlotPhase.SLOT_PHASE_BOOTING,
  testing: SlotPhase.SLOT_PHASE_TESTING,
  publishing: SlotPhase.SLOT_PHASE_PUBLISHING,
};

export class Agent {
  private state: AgentState = 'created';
  private readonly running = new Map<string, RunningProbe>();
  private stream: ClientDuplexStream<AgentMessage, CoordinatorMessage> | undefined;
  private client: AgentServiceClient | undefined;
  private nc: NatsConnection | undefined;
  private store: AgentStore | undefined;
  /** How `ensureNats` reached NATS, reused by each verdict's connection. */
  private natsConnection: VerdictConnection = { servers: [] };
  private loop: Promise<void> | undefined;
  /** The lease of the current Work stream (undefined between sessions). */
  private lease: LeaseClock | undefined;
  private closing: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private readonly logger: Logger;
  private readonly outbox: Outbox;
  private readonly runnerDeps: ProbeRunnerDeps;
  private readonly publishVerdict: VerdictPublisher;

  private constructor(
    readonly options: AgentOptions,
    recipes: Map<string, Recipe>,
    /** This agent's NATS user key (NATS JWT authentication mints credentials for it). */
    private readonly natsKey: KeyPair,
    /** The qemu accelerator, proven once at start-up (shown by `multisect agents`). */
    readonly accel: AccelDecision,
    /** What the slots' build directories hold and the kept kernels (sent as BuildState). */
    private readonly builds: BuildTracker,
  ) {
    this.logger = options.logger.child({ component: 'agent', agentId: options.id });
    this.outbox = new Outbox(join(options.stateDir, 'outbox'), this.logger);
    this.publishVerdict = verdictPublisher({
      store: () => this.store,
      connection: () => this.natsConnection,
      key: () => this.natsKey,
      name: `multisect-agent-${options.id}-verdict`,
    });
    const perSlotCpus = Math.max(1, Math.floor(options.cpus / options.slots));
    const perSlotVms = Math.max(1, Math.floor(options.vmCapacity / options.slots));
    this.runnerDeps = {
      agentId: options.id,
      workspace: new Workspace(options.stateDir, this.logger),
      builds,
      recipes,
      store: () => this.store,
      cpus: perSlotCpus,
      vmCapacity: perSlotVms,
      accel: accel.accel,
      qemu: options.qemu,
      logger: this.logger,
      progress: (probe, slot, phase, run) => this.send({ msg: { $case: 'slot', value: { slot, phase: PHASES[phase] ?? SlotPhase.SLOT_PHASE_UNSPECIFIED, probeId: probe.id, jobId: probe.jobId, commit: probe.commit, run: run ?? 0, runs: probe.runs } } }),
      classify: (probe, output) => classifyOutput(probe.policy, output),
      matchesPolicy: (probe, title) => titleMatchesPolicy(probe.policy, title),
    };
  }

  /** Validate options and prepare; `start()` begins connecting. */
  static async create(input: AgentOptionsInput, extraRecipes: Recipe[] = []): Promise<Agent> {
    const options = compileAgentOptions(input);
    const recipes = new Map<string, Recipe>();
    for (const r of [new ScriptRecipe(), ...extraRecipes]) if (options.recipeKinds.includes(r.kind)) recipes.set(r.kind, r);
    const logger = options.logger.child({ component: 'accel', agentId: options.id });
    // Only kernel VMs need an accelerator: a script-only agent does not start qemu to find out.
    const accel: AccelDecision = recipes.has('kernel')
      ? await decideAccel(options.accel, { device: options.kvmDevice, qemu: options.qemu, kernel: options.accelProbeKernel })
      : { accel: 'tcg', how: 'unusable', reason: 'no kernel recipe on this agent' };
    logger.info({ accel: accel.accel, how: accel.how, reason: accel.reason }, `kernel VMs run under ${accel.accel}`);
    const kernels = await KernelCache.open({
      dir: join(options.stateDir, 'kernels'),
      maxBytes: options.kernelCacheMb * 1024 * 1024,
      // A build directory of a syzbot config takes a few GiB: builds need the disk more than the cache does.
      minFreeBytes: 4 * 1024 * 1024 * 1024,
      logger: options.logger.child({ agentId: options.id }),
    });
    const builds = await BuildTracker.open(options.stateDir, kernels, options.slots);
    return new Agent(options, recipes, await loadNatsUserKey(options.stateDir), accel, builds);
  }

  get currentState(): AgentState {
    return this.state;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.connectLoop();
  }

  /**
   * Dial the coordinators in turn (only the leader listens; standbys refuse connections), keep a
   * Work stream with the one that answers, and start over with the next address when it ends.
   */
  private async connectLoop(): Promise<void> {
    // Reset once a coordinator took the registration: a Work stream that ends later (a
    // coordinator restart, a lapsed lease) is retried quickly again.
    const backoff = new Backoff({ baseMs: 200, maxMs: this.options.maxBackoffMs, jitter: 0.5 });
    let index = 0;
    const addresses = this.options.coordinators;
    while (!this.stop.signal.aborted) {
      this.state = 'connecting';
      const address = addresses[index % addresses.length]!;
      const client = new AgentServiceClient(address, channelCredentials(this.options.security), CHANNEL_OPTIONS);
      this.client = client;
      try {
        const reg = await this.register(client);
        await this.ensureNats(reg);
        void this.flushOutbox();
        backoff.reset();
        await this.session(client, address, reg);
      } catch (err) {
        index += 1;
        if (!this.stop.signal.aborted) this.logger.warn({ err: (err as Error).message, coordinator: address }, 'not connected to the coordinator; retrying');
      } finally {
        this.stream = undefined;
        this.lease = undefined;
        client.close();
      }
      if (this.stop.signal.aborted) break;
      await backoff.wait(this.stop.signal);
    }
  }

  private register(client: AgentServiceClient): Promise<RegisterResponse> {
    const o = this.options;
    const req = RegisterRequest.fromPartial({
      agentId: o.id,
      host: hostname(),
      slots: o.slots,
      cpus: o.cpus,
      vmCapacity: o.vmCapacity,
      arch: arch(),
      compilers: [],
      recipeKinds: [...this.runnerDeps.recipes.keys()],
      version: AGENT_VERSION,
      natsUserKey: this.natsKey.getPublicKey(),
      accel: this.accel.accel,
      accelReason: this.accel.reason,
    });
    return new Promise((resolve, reject) =>
      client.register(req, { deadline: Date.now() + 5000 } as never, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  private async ensureNats(reg: RegisterResponse): Promise<void> {
    if (this.store) return;
    const servers = this.options.natsServers.length ? this.options.natsServers : reg.natsUrls;
    // TLS to NATS where the URLs ask for it (tls://); the certificate is also the NATS credential.
    const tls = this.options.natsTls.kind === 'tls' && servers.some((u) => u.startsWith('tls://')) ? { tls: this.options.natsTls.files } : {};
    // With NATS JWT authentication the coordinator sent a credential for this agent's key.
    const auth = reg.natsJwt ? { credentials: { jwt: reg.natsJwt, seed: this.natsKey.getSeed() } } : {};
    this.natsConnection = { servers, inboxPrefix: reg.natsInboxPrefix, ...tls };
    this.nc = await connectNats({ ...this.natsConnection, name: `multisect-agent-${this.options.id}`, logger: this.logger, attempts: 3, ...auth });
    // Publish only: the coordinator created the streams; an agent's NATS user may read nothing.
    this.store = agentStore(this.nc, storeNamesFor(reg.namespace));
  }

  private async flushOutbox(): Promise<void> {
    for (const p of await this.outbox.pending()) {
      if (this.running.has(p.verdict.probeId)) continue;
      await this.outbox.publish(this.publishVerdict, p, this.stop.signal);
    }
  }

  /**
   * One Work stream: resolves when it ends. Heartbeats go out as often as the coordinator asked
   * at registration (its leases may be shorter than any interval we could pick), and the session
   * ends with LeaseLapsedError when no LeaseRenewal covered the lease (see LeaseClock).
   */
  private session(client: AgentServiceClient, address: string, reg: RegisterResponse): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stream = client.work();
      this.stream = stream;
      this.state = 'connected';
      const lease = new LeaseClock(reg.leaseMs, performance.now());
      this.lease = lease;
      stream.write(AgentMessage.fromPartial({ msg: { $case: 'hello', value: { agentId: this.options.id, runningProbeIds: [...this.running.keys()] } } }));
      stream.write(AgentMessage.fromPartial({ msg: { $case: 'builds', value: this.builds.message() } }));
      const heartbeatMs = reg.heartbeatIntervalMs > 0 ? reg.heartbeatIntervalMs : DEFAULT_HEARTBEAT_MS;
      this.logger.info({ coordinator: address, running: this.running.size, heartbeatMs, leaseMs: reg.leaseMs }, 'connected to the coordinator');
      const beat = setInterval(() => {
        const now = performance.now();
        if (lease.lapsed(now)) {
          // The coordinator has not renewed the lease: it has stopped hearing us (a half-open
          // connection, a coordinator that lost its leadership or is stuck) and may already
          // have given our probes to others. Waiting for TCP to notice can take minutes;
          // instead start a new session now. Its Hello lists the probes still running here,
          // and the coordinator keeps those it still expects and cancels the rest: it decides,
          // since only it knows whether a probe was given away. A probe is not stopped here:
          // its verdict, once published, is evidence the job can still use.
          const err = new LeaseLapsedError(lease.leaseMs, [...this.running.keys()]);
          this.logger.warn({ coordinator: address, leaseMs: lease.leaseMs, running: err.probeIds }, err.message);
          stream.cancel();
          end(err);
          return;
        }
        lease.sent(now);
        this.send({ msg: { $case: 'heartbeat', value: { timeMs: Date.now(), freeSlots: this.options.slots - this.running.size } } });
      }, heartbeatMs);
      let ended = false;
      const end = (err?: Error) => {
        if (ended) return;
        ended = true;
        clearInterval(beat);
        this.stop.signal.removeEventListener('abort', onStop);
        if (this.stream === stream) this.stream = undefined;
        if (this.lease === lease) this.lease = undefined;
        if (err && !this.stop.signal.aborted) reject(err);
        else resolve();
      };
      const onStop = () => {
        stream.end();
        end();
      };
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      stream.on('data', (m: CoordinatorMessage) => this.onMessage(m));
      stream.on('error', (err) => end(err));
      stream.on('end', () => end(new Error('the coordinator closed the Work stream')));
    });
  }

  /** How long this agent's lease surely lasts (ms; negative once lapsed), while connected. */
  get leaseRemainingMs(): number | undefined {
    return this.lease?.remainingMs(performance.now());
  }

  private onMessage(m: CoordinatorMessage): void {
    const msg = m.msg;
    if (!msg) return;
    if (msg.$case === 'assign') this.onAssign(msg.value);
    else if (msg.$case === 'lease') this.lease?.renewed(msg.value.leaseDeadlineMs);
    else if (msg.$case === 'cancel') {
      const r = this.running.get(msg.value.probeId);
      if (r) {
        this.logger.info({ probeId: msg.value.probeId, reason: msg.value.reason }, 'probe cancelled');
        r.abort.abort(new CancelledError(msg.value.reason || 'cancelled by the coordinator'));
      }
    }
  }

  private onAssign(a: Assignment): void {
    const probe = a.probe;
    if (!probe) return;
    const busy = [...this.running.values()].some((r) => r.slot === a.slot);
    if (this.state === 'draining' || busy || a.slot >= this.options.slots || this.running.has(probe.id)) {
      this.send({ msg: { $case: 'handBack', value: { probeId: probe.id, reason: busy ? 'slot busy' : 'agent is shutting down' } } });
      return;
    }
    const abort = new AbortController();
    const entry: RunningProbe = { probe, slot: a.slot, abort, done: Promise.resolve() };
    this.running.set(probe.id, entry);
    this.logger.info({ probeId: probe.id, jobId: probe.jobId, commit: probe.commit.slice(0, 12), slot: a.slot }, 'probe assigned');
    entry.done = this.execute(probe, a.verdictJwt, a.slot, abort.signal).finally(() => this.running.delete(probe.id));
  }

  private async execute(probe: Probe, verdictJwt: string, slot: number, signal: AbortSignal): Promise<void> {
    try {
      const verdict = await runProbe(this.runnerDeps, probe, slot, signal);
      // Before the ProbeDone: when the coordinator gives this slot its next probe, it knows what the slot holds.
      this.send({ msg: { $case: 'builds', value: this.builds.message() } });
      this.runnerDeps.progress(probe, slot, 'publishing');
      const pending = { verdict, jwt: verdictJwt };
      await this.outbox.put(pending);
      const published = await this.outbox.publish(this.publishVerdict, pending, this.stop.signal);
      this.send({ msg: { $case: 'done', value: { probeId: probe.id, published } } });
    } catch (err) {
      if (err instanceof CancelledError || signal.aborted) {
        const handBack = this.state === 'draining';
        this.send(
          handBack
            ? { msg: { $case: 'handBack', value: { probeId: probe.id, reason: 'agent is shutting down' } } }
            : { msg: { $case: 'done', value: { probeId: probe.id, published: false } } },
        );
        return;
      }
      const reason = err instanceof InfraError ? err.message : `unexpected error: ${(err as Error).message}`;
      this.logger.error({ err, probeId: probe.id }, 'probe failed on this host');
      this.send({ msg: { $case: 'infra', value: { probeId: probe.id, reason } } });
    }
  }

  private send(m: Partial<AgentMessage>): void {
    const s = this.stream;
    if (!s || s.writableEnded || s.destroyed) return;
    try {
      s.write(AgentMessage.fromPartial(m));
    } catch {
      /* the stream is going away; the reconnect loop takes over */
    }
  }

  /**
   * Drain: take no new probes, give running ones `drainMs` to finish (their verdicts are
   * published), hand back the rest, disconnect. Safe to call twice.
   */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.state = 'draining';
        this.logger.info({ running: this.running.size, drainMs: this.options.drainMs }, 'agent draining');
        const all = Promise.all([...this.running.values()].map((r) => r.done));
        // The drain timer ends with the probes: left pending, it would keep the process alive.
        const drained = new AbortController();
        await Promise.race([all, sleep(this.options.drainMs, drained.signal)]);
        drained.abort();
        for (const r of this.running.values()) r.abort.abort(new CancelledError('agent is shutting down'));
        await all;
        this.stop.abort();
        await this.loop?.catch(() => undefined);
        if (this.nc) await closeNats(this.nc);
        this.state = 'closed';
        this.logger.info('agent closed');
      })();
    }
    return this.closing;
  }
}
