/** Coordinator options, their defaults, and the one function that fills and validates them. */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { InvalidOptionError } from '../shared/errors.js';
import { hostPort, natsUrl, positiveInt } from '../shared/options.js';
import { DEFAULT_COORDINATOR_ADDRESS } from '../shared/grpc.js';
import { TlsConfigError, type Security } from '../shared/tls.js';

export interface CoordinatorOptions {
  /** Where gRPC listens. Default 127.0.0.1:7420 (port 0 = any free port). */
  listen: string;
  /** NATS servers (several for a cluster). Required. */
  natsServers: string[];
  /** NATS URLs agents are told to use. Default: natsServers. */
  advertiseNats: string[];
  /** Directory for the coordinator's git mirrors. Required. */
  stateDir: string;
  /** An assignment lapses this long after the agent's last heartbeat. Default 30 s. */
  leaseMs: number;
  /** How often agents must heartbeat. Default leaseMs / 6, at least 250 ms. */
  heartbeatIntervalMs: number;
  /**
   * Give each probe the free slot whose last build is nearest to it, or whose agent keeps its
   * kernel (coordinator/job-run/affinity.ts). Default true; off only to measure what it buys.
   */
  buildAffinity: boolean;
  /** Prefix of the JetStream names; '' = production names. Default ''. */
  namespace: string;
  /** Name of the durable verdict consumer. Default 'coordinator'. */
  consumerName: string;
  /** JetStream replicas for the streams and buckets. Default 1. */
  replicas: number;
  /**
   * gRPC transport: mutual TLS with the lab's CA (agents and operators must present a
   * certificate it signed; the agent id is read from it), or explicit plaintext. Required: there
   * is no default, so a coordinator is never open by accident.
   */
  security: Security;
  /**
   * TLS files for the NATS connection (the lab CA and this coordinator's certificate, which also
   * names its NATS user). Default: the gRPC TLS files when `security` is TLS and a NATS URL uses
   * tls://; none otherwise.
   */
  natsTls: Security;
  /**
   * This instance's id in leader election; a restart with the same id takes its lease back at
   * once. Default `<host name>/<listen>`.
   */
  instanceId: string;
  /**
   * Leader lease time to live. A standby takes over this long after the leader's last renewal
   * (plus its recovery). Default 10 s.
   */
  leaderTtlMs: number;
  /**
   * NATS JWT authentication: the seed of the farm's NATS account (account.seed from `multisect
   * nats-auth init`). The coordinator then connects with a credential it mints itself and gives
   * agents theirs: logs for the agent, and with every assignment one for that probe's verdict
   * only. Default: none (NATS users come from the server's configuration, e.g. certificates).
   */
  natsAccountSeed: string | undefined;
  /** How long an assignment's verdict credential is valid. Default 7 days. */
  verdictCredentialTtlMs: number;
  /**
   * Stop starting: `Coordinator.create` then gives up whatever it waits for (NATS, the leader
   * lease as a standby), closes what it opened and rejects with CancelledError. Default none.
   */
  signal: AbortSignal | undefined;
  logger: Logger;
}

export type CoordinatorOptionsInput = Partial<CoordinatorOptions> & Pick<CoordinatorOptions, 'natsServers' | 'stateDir' | 'logger' | 'security'>;

export function compileCoordinatorOptions(input: CoordinatorOptionsInput): CoordinatorOptions {
  const listen = hostPort('listen', input.listen ?? DEFAULT_COORDINATOR_ADDRESS);
  if (!input.natsServers || input.natsServers.length === 0) throw new InvalidOptionError('nats', 'at least one NATS URL is needed');
  input.natsServers.forEach((u) => natsUrl('nats', u));
  if (!input.stateDir) throw new InvalidOptionError('stateDir', 'must not be empty');
  const leaseMs = positiveInt('leaseMs', input.leaseMs ?? 30_000, { min: 500 });
  const heartbeatIntervalMs = positiveInt('heartbeatIntervalMs', input.heartbeatIntervalMs ?? Math.max(250, Math.floor(leaseMs / 6)), { min: 50 });
  if (heartbeatIntervalMs >= leaseMs) throw new InvalidOptionError('heartbeatIntervalMs', `must be shorter than the lease (${leaseMs} ms)`);
  const namespace = input.namespace ?? '';
  if (!/^[A-Za-z0-9_-]*$/.test(namespace)) throw new InvalidOptionError('namespace', 'may hold only letters, digits, _ and -');
  if (!input.security) throw new TlsConfigError('the coordinator needs TLS files (--tls-ca, --tls-cert, --tls-key) or an explicit --insecure');
  const security = input.security;
  const wantsNatsTls = input.natsServers.some((u) => u.startsWith('tls://'));
  const natsTls: Security = input.natsTls ?? (security.kind === 'tls' && wantsNatsTls ? security : { kind: 'insecure' });
  if (wantsNatsTls && natsTls.kind !== 'tls') throw new InvalidOptionError('nats', 'a tls:// NATS URL needs TLS files (--tls-ca, --tls-cert, --tls-key)');
  const instanceId = input.instanceId ?? `${hostname()}/${listen}`;
  if (!/^[^\s]{1,200}$/.test(instanceId)) throw new InvalidOptionError('instanceId', 'must be 1..200 characters without spaces');
  return {
    security,
    natsTls,
    instanceId,
    leaderTtlMs: positiveInt('leaderTtlMs', input.leaderTtlMs ?? 10_000, { min: 1000 }),
    listen,
    natsServers: input.natsServers,
    advertiseNats: input.advertiseNats && input.advertiseNats.length > 0 ? input.advertiseNats : input.natsServers,
    stateDir: input.stateDir,
    leaseMs,
    heartbeatIntervalMs,
    buildAffinity: input.buildAffinity ?? true,
    namespace,
    consumerName: input.consumerName ?? 'coordinator',
    replicas: positiveInt('replicas', input.replicas ?? 1, { max: 5 }),
    natsAccountSeed: input.natsAccountSeed?.trim() || undefined,
    verdictCredentialTtlMs: positiveInt('verdictCredentialTtlMs', input.verdictCredentialTtlMs ?? 7 * 24 * 3600_000, { min: 60_000 }),
    signal: input.signal,
    logger: input.logger,
  };
}
