/**
 * A promise-based OperatorService client that turns gRPC errors into typed errors.
 *
 * An address may list several coordinators separated by commas (the active one and its
 * standbys): all are dialled at once and the first that answers is used — standbys do not
 * listen, so that is the leader. TLS settings come from `configureClientSecurity` (set by the
 * `withTlsOptions` hook of a command) or else from the MULTISECT_TLS_* / MULTISECT_INSECURE
 * environment variables; with none, plaintext.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { CHANNEL_OPTIONS, channelCredentials } from '../shared/grpc.js';
import { fromGrpcError } from '../shared/grpc-errors.js';
import { CoordinatorUnavailableError } from '../shared/errors.js';
import { compileSecurity, type Security } from '../shared/tls.js';
import { env } from './env.js';
import {
  type AgentInfo,
  type GetLogResponse,
  type Posterior,
  type Job,
  type JobEvent,
  type JobSpec,
  OperatorServiceClient,
} from '../shared/proto.js';

type Callback<T> = (err: Error | null, res: T) => void;

let clientSecurity: Security | undefined;

/** Set the security every OperatorClient of this process uses (see withTlsOptions). */
export function configureClientSecurity(security: Security | undefined): void {
  clientSecurity = security;
}

/** The security in force: configured, else from the environment, else plaintext. */
export function currentClientSecurity(): Security {
  return clientSecurity ?? securityFrom('this command', { tlsCa: env.tlsCa(), tlsCert: env.tlsCert(), tlsKey: env.tlsKey() }, { allowNone: true });
}

/** The flags `withTlsOptions` adds, as commander hands them to an action. */
export interface TlsFlags {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
}

/**
 * Add --tls-ca, --tls-cert, --tls-key and --insecure to a command, with the MULTISECT_TLS_* and
 * MULTISECT_INSECURE environment variables as defaults.
 *
 * `client: true` (operator commands): a preAction hook also configures the security every
 * OperatorClient of that command uses, so the action needs no change. With no TLS setting at
 * all an operator command dials in plaintext (a TLS coordinator then refuses the handshake).
 */
export function withTlsOptions<C extends Command>(cmd: C, opts: { client?: boolean } = {}): C {
  cmd
    .option('--tls-ca <file>', "the lab CA's certificate (or MULTISECT_TLS_CA)", env.tlsCa())
    .option('--tls-cert <file>', "this process's certificate (or MULTISECT_TLS_CERT)", env.tlsCert())
    .option('--tls-key <file>', 'its private key (or MULTISECT_TLS_KEY)', env.tlsKey())
    .option('--insecure', 'plaintext gRPC, no certificates: loopback only (or MULTISECT_INSECURE=1 when no TLS file is given)');
  if (opts.client) {
    cmd.hook('preAction', (_program, action) => {
      configureClientSecurity(securityFrom('this command', action.opts() as TlsFlags, { allowNone: true }));
    });
  }
  return cmd;
}

/**
 * Turn TLS flags into a Security; without `allowNone`, neither TLS nor --insecure is an error
 * naming the flags. MULTISECT_INSECURE counts only when no TLS file is given (flags or
 * MULTISECT_TLS_*): explicit TLS settings always win over an inherited environment.
 */
export function securityFrom(who: string, o: TlsFlags, opts: { allowNone?: boolean } = {}): Security {
  const anyTls = Boolean(o.tlsCa || o.tlsCert || o.tlsKey);
  const insecure = Boolean(o.insecure) || (!anyTls && env.insecure());
  return compileSecurity(who, { ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey, insecure }, opts);
}

/** Split "a:1,b:2" into addresses. */
export function coordinatorAddresses(address: string): string[] {
  return address
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
}

export class OperatorClient {
  private readonly client: OperatorServiceClient;

  private constructor(
    readonly address: string,
    security: Security,
  ) {
    this.client = new OperatorServiceClient(address, channelCredentials(security), CHANNEL_OPTIONS);
  }

  /**
   * Connect, failing with a clear message when no coordinator answers within `timeoutMs`.
   * Several comma-separated addresses are dialled at once; the first to answer wins.
   */
  static async connect(address: string, timeoutMs = 3000, security: Security = currentClientSecurity()): Promise<OperatorClient> {
    const addresses = coordinatorAddresses(address);
    const clients = addresses.map((a) => new OperatorClient(a, security));
    const ready = (c: OperatorClient) =>
      new Promise<OperatorClient>((resolve, reject) => c.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve(c))));
    try {
      const winner = await Promise.any(clients.map(ready));
      for (const c of clients) if (c !== winner) c.close();
      return winner;
    } catch (err) {
      for (const c of clients) c.close();
      const cause = err instanceof AggregateError ? err.errors[0] : err;
      throw new CoordinatorUnavailableError(address, `no coordinator answers at ${address}`, {
        cause,
        hint:
          security.kind === 'tls'
            ? 'check the address and that the coordinator trusts this certificate (same lab CA, OU=operator)'
            : 'start a local farm with `multisect up`, or pass --coordinator ADDR (or set MULTISECT_COORDINATOR); a TLS coordinator needs --tls-ca/--tls-cert/--tls-key',
      });
    }
  }

  private call<Req, Res>(fn: (req: Req, cb: Callback<Res>) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn.call(this.client, req, (err, res) => (err ? reject(fromGrpcError(err, this.address)) : resolve(res))));
  }

  async submit(spec: JobSpec): Promise<Job> {
    const res = await this.call(this.client.submitJob as never, { spec });
    return (res as { job: Job }).job;
  }
  getJob(jobId: string): Promise<Job> {
    return this.call(this.client.getJob as never, { jobId });
  }
  async listJobs(activeOnly = false): Promise<Job[]> {
    return ((await this.call(this.client.listJobs as never, { activeOnly })) as { jobs: Job[] }).jobs;
  }
  cancel(jobId: string, reason = ''): Promise<Job> {
    return this.call(this.client.cancelJob as never, { jobId, reason });
  }
  async agents(): Promise<AgentInfo[]> {
    return ((await this.call(this.client.listAgents as never, {})) as { agents: AgentInfo[] }).agents;
  }
  /** The engine's posterior over the job's range (empty before the range and after the end). */
  getPosterior(jobId: string): Promise<Posterior> {
    return this.call(this.client.getPosterior as never, { jobId });
  }

  getLog(jobId: string, probeId = '', key = ''): Promise<GetLogResponse> {
    return this.call(this.client.getLog as never, { jobId, probeId, key });
  }

  /** Events of a job as an async iterable; ends when the job finished or the stream broke. */
  async *watch(jobId: string, liveOnly = false): AsyncGenerator<JobEvent> {
    const stream: ClientReadableStream<JobEvent> = this.client.watchJob({ jobId, liveOnly });
    try {
      for await (const ev of stream as AsyncIterable<JobEvent>) yield ev;
    } catch (err) {
      throw fromGrpcError(err, this.address);
    } finally {
      stream.cancel();
    }
  }

  close(): void {
    this.client.close();
  }
}
