/**
 * NATS wiring: connect with bounded retries and a clear error naming the URL (optionally with
 * TLS and credentials), and `ensureStore` that creates the JetStream assets multisect keeps its
 * state in, idempotently — or, with `bindOnly`, only binds to them, so that agents and
 * operators need no right to create or change streams (see deploy/nats/ for the permissions).
 *
 * Names are parameters (with the production defaults) so every test can get its own stream,
 * subjects and buckets on one server.
 */
import {
  connect,
  DiscardPolicy,
  jwtAuthenticator,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
  type ObjectStore,
} from 'nats';
import type { Logger } from 'pino';
import { retryWithBackoff } from './backoff.js';
import { CancelledError, NatsUnavailableError } from './errors.js';
import { isRefused, isStreamNotFound, natsErrorKind } from './nats-errors.js';
import { putLogObject } from './log-objects.js';
import type { TlsFiles } from './tls.js';

export interface NatsConnectOptions {
  /** One or more server URLs (a cluster). */
  servers: string[];
  /** Connection name shown by the server's monitoring. */
  name: string;
  /** Attempts before giving up on the first connection. Default 5. */
  attempts?: number;
  /** Delay after the first failed attempt in ms (doubles, capped at 2 s). Default 200. */
  retryDelayMs?: number;
  /** Reconnect forever once connected (true) — what long-running processes want. Default true. */
  reconnectForever?: boolean;
  /**
   * Client TLS (the lab's CA and this process's certificate). With a server configured with
   * `verify_and_map`, the certificate is also the credential: it names the NATS user and so the
   * role's permissions. Default: none (plaintext), unless a URL uses tls://, which needs it.
   */
  tls?: TlsFiles;
  /**
   * A NATS user JWT and the seed of its key (NATS JWT authentication: the coordinator mints
   * them, see shared/nats-jwt.ts). Default none.
   */
  credentials?: { jwt: string; seed: Uint8Array };
  /**
   * Prefix of this connection's reply subjects. A user that may subscribe only to its own inbox
   * (deploy/nats/permissions.conf, shared/nats-permissions.ts) must use it. Default '_INBOX'.
   */
  inboxPrefix?: string;
  /** User and password, for servers that use them instead of certificate mapping. Default none. */
  user?: string;
  pass?: string;
  /** Stop retrying the first connection: `connectNats` then rejects with CancelledError. Default none. */
  signal?: AbortSignal;
  logger?: Logger;
}

export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const attempts = options.attempts ?? 5;
  const url = options.servers.join(',');
  const signal = options.signal;
  let nc: NatsConnection;
  try {
    nc = await retryWithBackoff(
      () =>
        connect({
          servers: options.servers,
          name: options.name,
          maxReconnectAttempts: options.reconnectForever === false ? 10 : -1,
          reconnectTimeWait: 500,
          timeout: 2000,
          waitOnFirstConnect: false,
          // No stack captured at every request (each JetStream publish and ack is one): it only
          // adds where a timed-out request started, and cost the coordinator 4% of its CPU.
          noAsyncTraces: true,
          ...(options.tls ? { tls: { caFile: options.tls.ca, certFile: options.tls.cert, keyFile: options.tls.key } } : {}),
          ...(options.user ? { user: options.user, pass: options.pass ?? '' } : {}),
          ...(options.credentials ? { authenticator: jwtAuthenticator(options.credentials.jwt, options.credentials.seed) } : {}),
          ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
        }),
      {
        attempts,
        baseMs: options.retryDelayMs ?? 200,
        maxMs: 2000,
        ...(signal ? { signal } : {}),
        onRetry: (err, attempt) => options.logger?.debug({ attempt, servers: options.servers, err }, 'nats connect failed'),
      },
    );
  } catch (err) {
    if (signal?.aborted) throw new CancelledError(`stopped while connecting to NATS at ${url}`, { cause: err });
    throw new NatsUnavailableError(url, `cannot connect to NATS at ${url} after ${attempts} attempts: ${(err as Error)?.message ?? err}`, {
      cause: err,
      hint: 'start nats-server with JetStream (`nats-server -js`), or let `multisect up` start one; check --nats / MULTISECT_NATS',
    });
  }
  // One attempt cannot be interrupted (at most `timeout`): a connection made after the abort is closed again.
  if (signal?.aborted) {
    await nc.close().catch(() => undefined);
    throw new CancelledError(`stopped while connecting to NATS at ${url}`);
  }
  if (options.logger) watchStatus(nc, options.logger);
  return nc;
}

/**
 * Drain a connection (what was published goes out first) and close it, in at most `timeoutMs`.
 * A drain can wait for ever on a server that is gone, and nats.js 2.29 resolves a drain started
 * while disconnected without closing the connection, which then reconnects for ever and keeps
 * the process alive: it is closed hard when it is not closed after the drain.
 */
export async function closeNats(nc: NatsConnection, timeoutMs = 3000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    nc.drain().catch(() => undefined),
    new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

function watchStatus(nc: NatsConnection, logger: Logger): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'pingTimer') continue;
      logger.debug({ type: s.type, data: s.data }, 'nats status');
    }
  })().catch(() => undefined);
}

/** Names of the JetStream assets. The defaults are the production names. */
export interface StoreNames {
  /** Stream of verdicts. Default 'VERDICTS'. */
  verdictStream: string;
  /**
   * Verdict subjects are `${verdictSubject}.<job>.<probe>`: one subject per probe, so NATS can
   * allow an agent exactly the probes it holds (NATS JWT authentication). Default 'multisect.verdict'.
   */
  verdictSubject: string;
  /** Stream of job events. Default 'EVENTS'. */
  eventStream: string;
  /** Event subjects are `${eventSubject}.<job>`. Default 'multisect.event'. */
  eventSubject: string;
  /** KV bucket of job specs and status. Default 'jobs'. */
  jobsBucket: string;
  /** Object store of logs. Default 'logs'. */
  logsBucket: string;
}

export const DEFAULT_STORE_NAMES: StoreNames = {
  verdictStream: 'VERDICTS',
  verdictSubject: 'multisect.verdict',
  eventStream: 'EVENTS',
  eventSubject: 'multisect.event',
  jobsBucket: 'jobs',
  logsBucket: 'logs',
};

/** Names for an isolated namespace (tests): every name carries the prefix. */
export function prefixedStoreNames(prefix: string): StoreNames {
  const p = prefix.replace(/[^A-Za-z0-9_-]/g, '_');
  return {
    verdictStream: `${p}_VERDICTS`,
    verdictSubject: `${p}.verdict`,
    eventStream: `${p}_EVENTS`,
    eventSubject: `${p}.event`,
    jobsBucket: `${p}_jobs`,
    logsBucket: `${p}_logs`,
  };
}

export interface StoreOptions {
  names?: Partial<StoreNames>;
  /** Replicas for streams and buckets: 1 for one server, 3 for a production cluster. Default 1. */
  replicas?: number;
  /** How long JetStream remembers message ids to drop duplicates. Default 10 minutes. */
  duplicateWindowMs?: number;
  /**
   * Bind to existing assets only: never create or update a stream or bucket (agents and
   * operators, whose NATS users have no such right). Default false.
   */
  bindOnly?: boolean;
}

export interface Store {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: StoreNames;
  jobs: KV;
  logs: ObjectStore;
  verdictSubject(jobId: string, probeId: string): string;
  eventSubject(jobId: string): string;
}

/** The subject of one probe's verdict, and the wildcard of all a job's verdicts. */
export function verdictSubjectOf(names: StoreNames, jobId: string, probeId: string): string {
  return `${names.verdictSubject}.${jobId}.${probeId}`;
}
export function jobVerdictsSubject(names: StoreNames, jobId: string): string {
  return `${names.verdictSubject}.${jobId}.>`;
}

const MS = 1_000_000; // nanoseconds per millisecond (JetStream durations are in ns)

/** Create (or find) the streams and buckets. Safe to call from every process, every start. */
export async function ensureStore(nc: NatsConnection, options: StoreOptions = {}): Promise<Store> {
  const names = { ...DEFAULT_STORE_NAMES, ...options.names };
  const replicas = options.replicas ?? 1;
  const jsm = await nc.jetstreamManager();
  if (options.bindOnly) return bindStore(nc, jsm, names);
  await ensureStream(jsm, {
    name: names.verdictStream,
    subjects: [`${names.verdictSubject}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    duplicate_window: (options.duplicateWindowMs ?? 10 * 60_000) * MS,
    discard: DiscardPolicy.Old,
  });
  await ensureStream(jsm, {
    name: names.eventStream,
    subjects: [`${names.eventSubject}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: 30 * 24 * 3600 * 1000 * MS,
    discard: DiscardPolicy.Old,
  });
  const js = nc.jetstream();
  const jobs = await js.views.kv(names.jobsBucket, { history: 1, replicas });
  const logs = await js.views.os(names.logsBucket, { replicas });
  return storeOf(nc, js, jsm, names, jobs, logs);
}

function storeOf(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, names: StoreNames, jobs: KV, logs: ObjectStore): Store {
  return {
    nc,
    js,
    jsm,
    names,
    jobs,
    logs,
    verdictSubject: (jobId, probeId) => verdictSubjectOf(names, jobId, probeId),
    eventSubject: (jobId) => `${names.eventSubject}.${jobId}`,
  };
}

/**
 * Bind to the assets the coordinator created. The KV bucket is bound without any API call; the
 * object store looks its stream up (STREAM.INFO) and, lacking the right to create it, fails at
 * the first use if it does not exist.
 */
async function bindStore(nc: NatsConnection, jsm: JetStreamManager, names: StoreNames): Promise<Store> {
  const js = nc.jetstream();
  const jobs = await js.views.kv(names.jobsBucket, { bindOnly: true });
  const logs = await js.views.os(names.logsBucket);
  return storeOf(nc, js, jsm, names, jobs, logs);
}

/**
 * What an agent needs of NATS: publish verdicts and write log objects. It makes no JetStream
 * API call at all (no stream lookups, no reads), so an agent's NATS user may be denied every
 * read: it fetches nothing it was not given.
 */
export interface AgentStore {
  nc: NatsConnection;
  js: JetStreamClient;
  names: StoreNames;
  verdictSubject(jobId: string, probeId: string): string;
  /** Write a log object (a new name; see shared/log-objects.ts). */
  putLog(name: string, data: Uint8Array): Promise<void>;
}

export function agentStore(nc: NatsConnection, names: StoreNames): AgentStore {
  const js = nc.jetstream();
  return {
    nc,
    js,
    names,
    verdictSubject: (jobId, probeId) => verdictSubjectOf(names, jobId, probeId),
    putLog: (name, data) => putLogObject(nc, js, names.logsBucket, name, data),
  };
}

/** The KV bucket coordinators elect their leader in (coordinator/leader.ts). */
export function leaderBucketName(namespace: string): string {
  return namespace ? `${namespace.replace(/[^A-Za-z0-9_-]/g, '_')}_coordinators` : 'coordinators';
}

type StreamConfigIn = Parameters<JetStreamManager['streams']['add']>[0];

async function ensureStream(jsm: JetStreamManager, config: StreamConfigIn & { name: string }): Promise<void> {
  try {
    // Existing streams are left as they are: an operator may have tuned them (replicas,
    // limits), and agents must not need the right to change them.
    await jsm.streams.info(config.name);
    return;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  try {
    await jsm.streams.add(config);
  } catch (err) {
    // Another coordinator created it between our lookup and our add, with settings of its own
    // (an operator's, or an older version's): leave it as it is, as above.
    if (natsErrorKind(err) !== 'stream-name-in-use') throw err;
  }
}

/** The store names for a namespace: '' = production names, else every name prefixed. */
export function storeNamesFor(namespace: string): StoreNames {
  return namespace ? prefixedStoreNames(namespace) : { ...DEFAULT_STORE_NAMES };
}

/**
 * Retry a JetStream operation until it succeeds, `signal` aborts or `attempts` are spent: state
 * writes must not be lost while a nats-server restarts or a cluster elects a new leader. An error
 * NATS refuses for good (permissions, an expired credential) is thrown at once.
 */
export async function withRetry<T>(
  what: string,
  fn: () => Promise<T>,
  options: { logger?: Logger; signal?: AbortSignal; maxDelayMs?: number; attempts?: number } = {},
): Promise<T> {
  // The first attempt runs even when `signal` has aborted: a last state write at shutdown is
  // still worth one try.
  return retryWithBackoff(fn, {
    baseMs: 100,
    maxMs: options.maxDelayMs ?? 2000,
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    ...(options.signal && !options.signal.aborted ? { signal: options.signal } : {}),
    ...(options.signal?.aborted ? { attempts: 1 } : {}),
    // A refused credential or operation is refused again: no point waiting for it.
    retryable: (err) => !isRefused(err),
    onRetry: (err, attempt) => options.logger?.warn({ what, attempt, err: (err as Error).message }, 'retrying after a NATS error'),
  });
}
