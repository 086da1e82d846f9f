/**
 * The coordinator process: gRPC services for agents and operators, the verdict consumer, the
 * lease clock. It keeps no state that JetStream does not hold: kill it at any moment, start it
 * again, and every job goes on (`recover()` replays the verdicts).
 */
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { bindServer, Server, SERVER_OPTIONS, shutdownServer } from '../shared/grpc.js';
import { MirrorSet } from '../shared/mirror.js';
import { connectNats, ensureStore, storeNamesFor, type Store } from '../shared/nats.js';
import { AgentServiceService, OperatorServiceService } from '../shared/proto.js';
import { AgentRegistry } from './agent-registry.js';
import { agentService } from './agent-service.js';
import { EventPublisher } from './events.js';
import { JobStore } from './job-store.js';
import { JobManager } from './jobs.js';
import { operatorService } from './operator-service.js';
import { compileCoordinatorOptions, type CoordinatorOptions, type CoordinatorOptionsInput } from './options.js';
import { VerdictConsumer } from './verdicts.js';

export type CoordinatorState = 'running' | 'closing' | 'closed';

export class Coordinator {
  private state: CoordinatorState = 'running';
  private closing: Promise<void> | undefined;

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
  ) {}

  static async create(input: CoordinatorOptionsInput): Promise<Coordinator> {
    const options = compileCoordinatorOptions(input);
    const logger = options.logger.child({ component: 'coordinator' });
    const abort = new AbortController();
    const nc = await connectNats({ servers: options.natsServers, name: 'multisect-coordinator', logger });
    let server: Server | undefined;
    try {
      const store: Store = await ensureStore(nc, { names: storeNamesFor(options.namespace), replicas: options.replicas });
      const registry = new AgentRegistry();
      const jobs = new JobManager({
        store,
        jobStore: new JobStore(store.jobs, logger, abort.signal),
        events: new EventPublisher(store, logger, abort.signal),
        mirrors: new MirrorSet(join(options.stateDir, 'mirrors'), logger),
        registry,
        leaseMs: options.leaseMs,
        logger,
      });
      // Replay before serving, so no agent gets work planned on half the evidence.
      await jobs.recover();
      const consumer = new VerdictConsumer(store, options.consumerName, logger);
      await consumer.start((v) => jobs.onVerdict(v));

      server = new Server(SERVER_OPTIONS);
      server.addService(
        AgentServiceService,
        agentService({
          registry,
          jobs,
          leaseMs: options.leaseMs,
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          advertiseNats: options.advertiseNats,
          namespace: options.namespace,
          logger,
        }) as never,
      );
      server.addService(OperatorServiceService, operatorService({ jobs, registry, store, logger }) as never);
      const port = await bindServer(server, options.listen);
      const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
      const address = `${host}:${port}`;
      const leaseTimer = setInterval(() => jobs.checkLeases(Date.now()), Math.min(1000, Math.floor(options.leaseMs / 4)));
      logger.info({ address, nats: options.natsServers, namespace: options.namespace }, 'coordinator serving');
      return new Coordinator(options, address, jobs, registry, nc, server, consumer, leaseTimer, abort, logger);
    } catch (err) {
      abort.abort();
      if (server) server.forceShutdown();
      await nc.close().catch(() => undefined);
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
        await this.nc.drain().catch(() => this.nc.close());
        this.state = 'closed';
        this.logger.info('coordinator closed');
      })();
    }
    return this.closing;
  }
}
