/**
 * gRPC plumbing shared by coordinator, agent and CLI: handler wrappers that route every thrown
 * error through the one status mapping (grpc-errors.ts), and server start/stop helpers.
 */
import {
  Server,
  ServerCredentials,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ChannelCredentials,
  credentials,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from './grpc-errors.js';

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

export const SERVER_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
} as const;

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
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port)));
  });
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

export { Server, ServerCredentials };
