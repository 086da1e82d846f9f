/**
 * What a NATS error means, read from its codes, never from its message text: messages change
 * between server and client versions (and are lower-cased by nats.js on the way), codes do not.
 *
 * Two codes exist:
 * - the client's `NatsError.code` (nats.js ErrorCode: 'PERMISSIONS_VIOLATION', 'TIMEOUT', '503'
 *   for no responders, '404' for a JetStream "not found" of any kind...);
 * - JetStream's API error code, `api_error.err_code` (nats-server's errors.json), which tells the
 *   404s and 400s apart: stream not found, no message, wrong last sequence...
 *
 * Our own errors keep the NATS error as `cause` (NatsUnavailableError...), so the chain of
 * `cause` (and nats.js' own `chainedError`) is searched too.
 *
 * Checked against nats.js 2.29 and nats-server 2.9.10 by test/integration/nats-errors.test.ts.
 */

/** JetStream API error codes (nats-server server/errors.json) multisect acts on. */
export const JsErrCode = {
  /** JSConsumerNotFoundErr: "consumer not found". */
  ConsumerNotFound: 10014,
  /** JSNoMessageFoundErr: "no message found". */
  NoMessageFound: 10037,
  /** JSStreamNameExistErr: "stream name already in use with a different configuration". */
  StreamNameInUse: 10058,
  /** JSStreamNotFoundErr: "stream not found". */
  StreamNotFound: 10059,
  /** JSStreamWrongLastSequenceErr: "wrong last sequence: N" (a compare-and-set lost; a KV update on a stale revision). */
  WrongLastSequence: 10071,
} as const;

/** nats.js ErrorCode values multisect acts on (strings, as `NatsError.code` holds them). */
export const NatsClientCode = {
  PermissionsViolation: 'PERMISSIONS_VIOLATION',
  AuthorizationViolation: 'AUTHORIZATION_VIOLATION',
  AuthenticationExpired: 'AUTHENTICATION_EXPIRED',
  AccountExpired: 'ACCOUNT_EXPIRED',
  BadAuthentication: 'BAD_AUTHENTICATION',
  NoResponders: '503',
  Timeout: 'TIMEOUT',
  ConnectionRefused: 'CONNECTION_REFUSED',
  ConnectionClosed: 'CONNECTION_CLOSED',
  ConnectionDraining: 'CONNECTION_DRAINING',
  ConnectionTimeout: 'CONNECTION_TIMEOUT',
  Disconnect: 'DISCONNECT',
} as const;

interface NatsErrorLike {
  code?: unknown;
  api_error?: { code?: number; err_code?: number; description?: string };
  cause?: unknown;
  chainedError?: unknown;
}

/** The error and the errors it wraps, outermost first (bounded: a cycle cannot hang us). */
function chain(err: unknown): NatsErrorLike[] {
  const out: NatsErrorLike[] = [];
  let e: unknown = err;
  for (let i = 0; i < 8 && e !== null && typeof e === 'object' && !out.includes(e as NatsErrorLike); i++) {
    out.push(e as NatsErrorLike);
    const next = e as NatsErrorLike;
    e = next.cause ?? next.chainedError;
  }
  return out;
}

/** JetStream's API error code (`api_error.err_code`) of the error or what it wraps; undefined when none. */
export function jsErrCode(err: unknown): number | undefined {
  for (const e of chain(err)) {
    const c = e.api_error?.err_code;
    if (typeof c === 'number') return c;
  }
  return undefined;
}

/**
 * The nats.js client code (`NatsError.code`) of the error or what it wraps; undefined when none.
 * Only nats.js errors count (their name is 'NatsError'): our own errors and Node's system
 * errors have `code`s of their own.
 */
export function natsClientCode(err: unknown): string | undefined {
  for (const e of chain(err)) {
    if ((e as { name?: unknown }).name === 'NatsError' && typeof e.code === 'string') return e.code;
  }
  return undefined;
}

export type NatsErrorKind =
  /** The stream does not exist (10059). */
  | 'stream-not-found'
  /** The durable consumer does not exist (10014). */
  | 'consumer-not-found'
  /** No message at that sequence or subject (10037). */
  | 'no-message'
  /** A stream of that name exists with another configuration (10058). */
  | 'stream-name-in-use'
  /** A compare-and-set lost: the expected last sequence (KV revision) was not the stream's (10071). */
  | 'wrong-last-sequence'
  /** The server refused the credential or the operation: retrying with the same one cannot help. */
  | 'refused'
  /** Nobody answered the request (JetStream not enabled, a stream without a leader): transient. */
  | 'no-responders'
  /** The request or connection timed out: transient. */
  | 'timeout'
  /** Not connected (refused, closed, draining, cut): transient unless the connection was closed on purpose. */
  | 'connection'
  /** Anything else. */
  | 'other';

const REFUSED = new Set<string>([
  NatsClientCode.PermissionsViolation,
  NatsClientCode.AuthorizationViolation,
  NatsClientCode.AuthenticationExpired,
  NatsClientCode.AccountExpired,
  NatsClientCode.BadAuthentication,
]);
const CONNECTION = new Set<string>([
  NatsClientCode.ConnectionRefused,
  NatsClientCode.ConnectionClosed,
  NatsClientCode.ConnectionDraining,
  NatsClientCode.ConnectionTimeout,
  NatsClientCode.Disconnect,
]);

/** What the error means (see NatsErrorKind). */
export function natsErrorKind(err: unknown): NatsErrorKind {
  switch (jsErrCode(err)) {
    case JsErrCode.StreamNotFound:
      return 'stream-not-found';
    case JsErrCode.ConsumerNotFound:
      return 'consumer-not-found';
    case JsErrCode.NoMessageFound:
      return 'no-message';
    case JsErrCode.StreamNameInUse:
      return 'stream-name-in-use';
    case JsErrCode.WrongLastSequence:
      return 'wrong-last-sequence';
  }
  const code = natsClientCode(err);
  if (code === undefined) return 'other';
  if (REFUSED.has(code)) return 'refused';
  if (code === NatsClientCode.NoResponders) return 'no-responders';
  if (code === NatsClientCode.Timeout) return 'timeout';
  if (CONNECTION.has(code)) return 'connection';
  return 'other';
}

/** The stream does not exist. */
export const isStreamNotFound = (err: unknown): boolean => natsErrorKind(err) === 'stream-not-found';
/** The durable consumer does not exist. */
export const isConsumerNotFound = (err: unknown): boolean => natsErrorKind(err) === 'consumer-not-found';
/** A compare-and-set (KV update/create on a revision) lost to another writer. */
export const isRevisionConflict = (err: unknown): boolean => natsErrorKind(err) === 'wrong-last-sequence';
/** NATS refused the credential or the operation: the same request will be refused again. */
export const isRefused = (err: unknown): boolean => natsErrorKind(err) === 'refused';
