/**
 * gRPC plumbing shared by coordinator, agent and CLI: handler wrappers that route every thrown
 * error through the one status mapping (grpc-errors.ts), server start/stop helpers, credentials
 * (mutual TLS or explicit plaintext) and `guardService`, which every service the coordinator
 * serves goes through: peer role check, and malformed or oversized requests answered with
 * INVALID_ARGUMENT instead of grpc-js's INTERNAL / RESOURCE_EXHAUSTED.
 */
import {
  Server,
  ServerCredentials,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ChannelCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  credentials,
} from '@grpc/grpc-js';
import { createServer as createNetServer } from 'node:net';
import type { Logger } from 'pino';
import { InvalidOptionError, PermissionError } from './errors.js';
import { toGrpcStatus } from './grpc-errors.js';
import { identityOf, loadTls, UnauthenticatedError, type PeerIdentity, type PeerRole, type Security } from './tls.js';

/** The address every command uses unless given --coordinator or MULTISECT_COORDINATOR. */
export const DEFAULT_COORDINATOR_ADDRESS = '127.0.0.1:7420';

/** Channel options: keepalive so a dead peer is noticed within seconds, and message limits. */
export const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
} as const;

/**
 * The transport's limit is well above the per-request limits `guardService` applies, so that a
 * request that is merely too large reaches the guard and is answered INVALID_ARGUMENT naming the
 * limit; only a request beyond this hard cap is cut by grpc-js (RESOURCE_EXHAUSTED).
 */
export const SERVER_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
} as const;

/** Largest request message accepted by default (a job spec is far smaller: see SPEC_LIMITS). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export function unary<Req, Res>(
  logger: Logger,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toGrpcStatus(err, logger)),
      );
  };
}

export function serverStream<Req, Res>(
  logger: Logger,
  fn: (request: Req, call: ServerWritableStream<Req, Res>) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    fn(call.request, call).then(
      () => {
        if (!call.cancelled && !call.writableEnded) call.end();
      },
      (err: unknown) => {
        if (!call.cancelled) call.emit('error', toGrpcStatus(err, logger));
      },
    );
  };
}

/** Bind a server and return the port it got (address may end in :0). */
export async function bindServer(server: Server, address: string, creds: ServerCredentials = ServerCredentials.createInsecure()): Promise<number> {
  try {
    return await new Promise((resolve, reject) => {
      server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port)));
    });
  } catch (err) {
    throw (await explainBindFailure(address, err)) ?? err;
  }
}

/**
 * grpc-js reports a failed bind only as text ("No address added out of total 1 resolved").
 * To tell the operator *why* (port taken, not ours to bind, no such local address) by error
 * code rather than by that text, listen once on the same address with node's net module and
 * read its errno code.
 */
async function explainBindFailure(address: string, bindError: unknown): Promise<InvalidOptionError | undefined> {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  const code = await new Promise<string | undefined>((resolve) => {
    const probe = createNetServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
    probe.listen({ host: host === '' ? undefined : host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  const why: Record<string, [string, string]> = {
    EADDRINUSE: [`${address} is in use by another process`, `pick another --listen address, or find what holds it: ss -ltnp 'sport = :${port}'`],
    EACCES: [`${address} may not be bound by this user (ports below 1024 need root or CAP_NET_BIND_SERVICE)`, 'pick a port from 1024 up'],
    EADDRNOTAVAIL: [`${host} is not an address of this machine`, 'give an address of one of its interfaces, 0.0.0.0 for all, or 127.0.0.1'],
  };
  const hit = code ? why[code] : undefined;
  return hit ? new InvalidOptionError('--listen', hit[0], { cause: bindError, hint: hit[1] }) : undefined;
}

/** Graceful shutdown, forced after `graceMs`. */
export async function shutdownServer(server: Server, graceMs = 2000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function insecureChannel(): ChannelCredentials {
  return credentials.createInsecure();
}

/** Client credentials: mutual TLS with the lab's CA, or plaintext when explicitly insecure. */
export function channelCredentials(security: Security): ChannelCredentials {
  if (security.kind === 'insecure') return credentials.createInsecure();
  const m = loadTls(security.files);
  return credentials.createSsl(m.ca, m.key, m.cert);
}

/**
 * Server credentials. With TLS the server demands a client certificate signed by the lab's CA
 * (checkClientCertificate): a peer without one, or with one from another CA, fails the
 * handshake and never reaches a handler.
 */
export function serverCredentials(security: Security): ServerCredentials {
  if (security.kind === 'insecure') return ServerCredentials.createInsecure();
  const m = loadTls(security.files);
  return ServerCredentials.createSsl(m.ca, [{ private_key: m.key, cert_chain: m.cert }], true);
}

/** The verified identity of the peer of a server call (undefined on a plaintext connection). */
export function peerIdentity(call: { getAuthContext?: () => { sslPeerCertificate?: unknown } }): PeerIdentity | undefined {
  const ctx = call.getAuthContext?.();
  return identityOf(ctx?.sslPeerCertificate as Parameters<typeof identityOf>[0]);
}

/** Stands in for a request that could not be decoded or was too large; handlers refuse it. */
export class RejectedMessage {
  constructor(readonly problem: string) {}
  toError(): InvalidOptionError {
    return new InvalidOptionError('request', this.problem);
  }
}

export interface GuardPolicy {
  /** Peers must present a certificate (the server runs mutual TLS). */
  requireIdentity: boolean;
  /** Roles (certificate OU) allowed on this service. */
  roles: readonly PeerRole[];
  /** Per-method request limit in bytes (by the method's name in the implementation). Default MAX_REQUEST_BYTES. */
  maxRequestBytes?: Record<string, number>;
  logger: Logger;
}

/** The reason a peer may not call this service, or undefined when it may. */
export function checkPeer(call: Parameters<typeof peerIdentity>[0], policy: GuardPolicy): Error | undefined {
  if (!policy.requireIdentity) return undefined;
  const id = peerIdentity(call);
  if (!id) return new UnauthenticatedError('a client certificate from the lab CA is required');
  if (!id.role || !policy.roles.includes(id.role)) {
    return new PermissionError(`certificate ${JSON.stringify(id.id)} has role ${JSON.stringify(id.role ?? '')}; this service takes ${policy.roles.join(', ')}`);
  }
  return undefined;
}

/**
 * Wrap a service: requests are decoded by a deserializer that never throws (a malformed or
 * oversized message becomes a RejectedMessage), and every handler first checks the peer's role.
 * Unary and server-streaming handlers refuse a RejectedMessage themselves; bidirectional
 * handlers receive it as a message and must refuse it (see agent-service.ts).
 */
export function guardService(
  definition: ServiceDefinition,
  impl: UntypedServiceImplementation,
  policy: GuardPolicy,
): { definition: ServiceDefinition; impl: UntypedServiceImplementation } {
  const def: Record<string, unknown> = {};
  const wrapped: UntypedServiceImplementation = {};
  const logger = policy.logger;
  for (const [name, method] of Object.entries(definition)) {
    const limit = policy.maxRequestBytes?.[name] ?? MAX_REQUEST_BYTES;
    def[name] = {
      ...method,
      requestDeserialize: (buf: Buffer) => {
        if (buf.length > limit) return new RejectedMessage(`message of ${buf.length} bytes is larger than the limit of ${limit} bytes`);
        try {
          return method.requestDeserialize(buf);
        } catch (err) {
          return new RejectedMessage(`malformed message: ${(err as Error).message}`);
        }
      },
    };
    const inner = impl[name] as ((...args: never[]) => void) | undefined;
    if (!inner) continue;
    if (!method.requestStream && !method.responseStream) {
      wrapped[name] = ((call: ServerUnaryCall<unknown, unknown>, callback: (err: unknown) => void) => {
        const err = checkPeer(call, policy) ?? (call.request instanceof RejectedMessage ? call.request.toError() : undefined);
        if (err) return callback(toGrpcStatus(err, logger));
        (inner as unknown as (c: unknown, cb: unknown) => void)(call, callback);
      }) as never;
    } else {
      wrapped[name] = ((call: ServerWritableStream<unknown, unknown>) => {
        const err = checkPeer(call, policy) ?? (!method.requestStream && call.request instanceof RejectedMessage ? call.request.toError() : undefined);
        if (err) {
          call.emit('error', toGrpcStatus(err, logger));
          return;
        }
        (inner as unknown as (c: unknown) => void)(call);
      }) as never;
    }
  }
  return { definition: def as ServiceDefinition, impl: wrapped };
}

export { Server, ServerCredentials };
