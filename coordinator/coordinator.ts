/**
 * The coordinator process: gRPC services for agents and operators, the verdict consumer, the
 * lease clock. It keeps no state that JetStream does not hold: kill it at any moment, start it
 * again, and every job goes on (`recover()` replays the verdicts).
 *
 * Several coordinators may run against one NATS cluster: they elect a leader through a KV bucket
 * (leader.ts). `create()` resolves only once this one is the leader; until then it neither
 * listens on gRPC (agents and operators given several addresses find the leader because it is
 * the only one that answers) nor consumes verdicts nor writes job state. A leader that loses its
 * lease closes itself at once and `lost` resolves: the process exits and its supervisor
 * restarts it, as a standby.
 */
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { bindServer, guardService, Server, SERVER_OPTIONS, serverCredentials, shutdownServer } from '../shared/grpc.js';
import { MirrorSet } from '../shared/mirror.js';
import { CancelledError } from '../shared/errors.js';
import { closeNats, connectNats, ensureStore, leaderBucketName, storeNamesFor, type Store } from '../shared/nats.js';
import { AgentServiceService, OperatorServiceService } from '../shared/proto.js';
import { AgentRegistry } from './agent-registry.js';
import { AGENT_MESSAGE_LIMITS, agentService, dropSilentAgents } from './agent-service.js';
import { LeaderLease } from './leader.js';
import { EventPublisher } from './events.js';
import { JobStore } from './job-store.js';
import { JobManager, storeRunFacts } from './jobs.js';
import { gitRepos } from './repo-git.js';
import { operatorService } from './operator-service.js';
import { compileCoordinatorOptions, type CoordinatorOptions, type CoordinatorOptionsInput } from './options.js';
import { VerdictConsumer } from './verdicts.js';
import { NatsCredentials } from './nats-credentials.js';
import { acquireSpawnHelper } from '../shared/spawn-helper.js';

export type CoordinatorState = 'running' | 'closing' | 'closed';

/** The longest a closing step that talks to NATS may take (releasing the lease, draining). */
const CLOSE_STEP_MS = 3000;

/** `p`'s value, or undefined after `ms` (the timer does not keep the process alive). */
async function withTimeout<T>(p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!p) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

export class Coordinator {
  private state: CoordinatorState = 'running';
  private closing: Promise<void> | undefined;
  /** Resolves with the reason when this coordinator lost the leadership (and closed itself). */
  readonly lost: Promise<string>;

  private constructor(
    readonly options: CoordinatorOptions,
    readonly address: string,
    readonly jobs: JobManager,
    readonly registry: AgentRegistry,
    private readonly nc: NatsConnection,
    private readonly server: Server,
    private readonly consumer: VerdictConsumer,
    private readonly leaseTimer: NodeJS.Timeout,
    private readonly abort: AbortController,
    private readonly logger: Logger,
    private readonly lease: LeaderLease,
    private readonly releaseSpawnHelper: () => void,
  ) {
    this.lost = lease.lost.then(async (reason) => {
      // Stop serving agents and consuming verdicts before a standby can take over. Closing
      // drains NATS, which may be what failed: close() bounds every step that talks to it.
      await this.close();
      return reason;
    });
  }

  static async create(input: CoordinatorOptionsInput): Promise<Coordinator> {
    const options = compileCoordinatorOptions(input);
    const logger = options.logger.child({ component: 'coordinator' });
    const abort = new AbortController();
    const natsTls = options.natsTls.kind === 'tls' ? { tls: options.natsTls.files } : {};
    const credentials = options.natsAccountSeed
      ? new NatsCredentials(options.natsAccountSeed, storeNamesFor(options.namespace), options.verdictCredentialTtlMs)
      : undefined;
    const natsAuth = credentials ? { credentials: credentials.forCoordinator(options.instanceId) } : {};
    const signal = options.signal;
    const nc = await connectNats({ servers: options.natsServers, name: 'multisect-coordinator', logger, ...natsTls, ...natsAuth, ...(signal ? { signal } : {}) });
    let server: Server | undefined;
    let lease: LeaderLease | undefined;
    let consumer: VerdictConsumer | undefined;
    let leaseTimer: NodeJS.Timeout | undefined;
    // A stop while starting: close the connection, so that a JetStream request waiting on a
    // NATS that went away fails now instead of after its timeout, and the wait below ends.
    const onStop = () => void nc.close().catch(() => undefined);
    signal?.addEventListener('abort', onStop, { once: true });
    let releaseSpawnHelper = (): void => undefined;
    try {
      // git runs from a small helper process: forking this heap would stall the event loop (spawn-helper.ts).
      releaseSpawnHelper = await acquireSpawnHelper();
      const store: Store = await ensureStore(nc, { names: storeNamesFor(options.namespace), replicas: options.replicas });
      const leaderKv = await nc.jetstream().views.kv(leaderBucketName(options.namespace), { history: 1, replicas: options.replicas });
      lease = await LeaderLease.acquire({
        kv: leaderKv,
        id: options.instanceId,
        address: options.listen,
        ttlMs: options.leaderTtlMs,
        logger: logger.child({ component: 'leader' }),
        ...(signal ? { signal } : {}),
      });
      const registry = new AgentRegistry();
      const jobs = new JobManager({
        jobStore: new JobStore(store.jobs, logger, abort.signal),
        events: new EventPublisher(store, logger, abort.signal),
        facts: storeRunFacts(store, logger),
        repos: gitRepos(new MirrorSet(join(options.stateDir, 'mirrors'), logger)),
        registry,
        leaseMs: options.leaseMs,
        buildAffinity: options.buildAffinity,
        ...(credentials ? { credentials } : {}),
        logger,
      });
      // Replay before serving, so no agent gets work planned on half the evidence.
      await jobs.recover();
      consumer = new VerdictConsumer(store, options.consumerName, logger);
      await consumer.start((v) => jobs.onVerdict(v));

      server = new Server(SERVER_OPTIONS);
      const requireIdentity = options.security.kind === 'tls';
      const agents = guardService(
        AgentServiceService,
        agentService({
          registry,
          jobs,
          leaseMs: options.leaseMs,
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          advertiseNats: options.advertiseNats,
          namespace: options.namespace,
          ...(credentials ? { credentials } : {}),
          requireIdentity,
          logger,
        }) as never,
        { requireIdentity, roles: ['agent'], maxRequestBytes: AGENT_MESSAGE_LIMITS, logger },
      );
      server.addService(agents.definition, agents.impl);
      const operators = guardService(OperatorServiceService, operatorService({ jobs, registry, store, logger }) as never, { requireIdentity, roles: ['operator'], logger });
      server.addService(operators.definition, operators.impl);
      const port = await bindServer(server, options.listen, serverCredentials(options.security));
      const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
      const address = `${host}:${port}`;
      let lastTick = Date.now();
      leaseTimer = setInterval(() => {
        const now = Date.now();
        dropSilentAgents(registry, now, options.leaseMs, logger);
        jobs.checkLeases(now);
        // An agent blocked after an infrastructure failure, or due for its health check, may work again.
        if (registry.availableAgain(lastTick, now)) jobs.schedule();
        lastTick = now;
      }, Math.min(1000, Math.floor(options.leaseMs / 4)));
      signal?.removeEventListener('abort', onStop);
      if (signal?.aborted) throw new CancelledError('stopped while starting');
      logger.info({ address, nats: options.natsServers, namespace: options.namespace, tls: requireIdentity, natsJwt: Boolean(credentials), instance: options.instanceId, term: lease.record.term }, 'coordinator serving');
      return new Coordinator(options, address, jobs, registry, nc, server, consumer, leaseTimer, abort, logger, lease, releaseSpawnHelper);
    } catch (err) {
      signal?.removeEventListener('abort', onStop);
      clearInterval(leaseTimer);
      abort.abort();
      if (server) server.forceShutdown();
      await consumer?.stop();
      // Bounded: NATS may be what failed, and the lease then cannot be given back anyway.
      await withTimeout(lease?.release(), CLOSE_STEP_MS);
      await nc.close().catch(() => undefined);
      releaseSpawnHelper();
      if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError('stopped while starting', { cause: err });
      throw err;
    }
  }

  get currentState(): CoordinatorState {
    return this.state;
  }

  /** Stop serving and disconnect. Safe to call twice. */
  close(): Promise<void> {
    if (!this.closing) {
      this.state = 'closing';
      this.closing = (async () => {
        clearInterval(this.leaseTimer);
        this.abort.abort();
        await shutdownServer(this.server, 1000);
        await this.consumer.stop();
        // Final records and range loads under way finish before NATS is drained.
        await Promise.race([this.jobs.close(), new Promise((r) => setTimeout(r, 5000).unref())]);
        // With NATS gone, the lease delete and the drain could wait for ever, and a connection
        // left reconnecting keeps the process alive: both are bounded (closeNats).
        await withTimeout(this.lease.release(), CLOSE_STEP_MS);
        await closeNats(this.nc, CLOSE_STEP_MS);
        this.releaseSpawnHelper();
        this.state = 'closed';
        this.logger.info('coordinator closed');
      })();
    }
    return this.closing;
  }
}
