/**
 * The one mapping between multisect's typed errors and gRPC status codes, both ways.
 * Anything that is not a MultisectError becomes UNKNOWN, and its stack is logged.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  CancelledError,
  CoordinatorUnavailableError,
  GitError,
  InfraError,
  InvalidJobError,
  JobNotFoundError,
  JobStateError,
  MultisectError,
  NotFoundError,
  PermissionError,
  type ErrorCode,
} from './errors.js';

const CODE_TO_STATUS: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  CANCELLED: status.CANCELLED,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  INTERNAL: status.INTERNAL,
};

export interface StatusObject {
  code: status;
  details: string;
  metadata: Metadata;
}

/** Map an error thrown by a handler to the status sent to the client. */
export function toGrpcStatus(err: unknown, logger?: Logger): StatusObject {
  const metadata = new Metadata();
  if (err instanceof MultisectError) {
    metadata.set('x-multisect-error', err.name);
    if (err.hint) metadata.set('x-multisect-hint', err.hint);
    return { code: CODE_TO_STATUS[err.code], details: err.message, metadata };
  }
  logger?.error({ err }, 'unexpected error in RPC handler');
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.UNKNOWN, details: `internal error: ${message}`, metadata };
}

function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'metadata' in err;
}

/** Turn a client-side gRPC error back into a typed error the CLI can print. */
export function fromGrpcError(err: unknown, address: string): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  const hint = err.metadata?.get('x-multisect-hint')[0]?.toString();
  // The server names the class it threw: the client rebuilds that class, not just one per code.
  const name = err.metadata?.get('x-multisect-error')[0]?.toString();
  const details = err.details || err.message;
  const opts = { cause: err, ...(hint ? { hint } : {}) };
  switch (err.code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return new CoordinatorUnavailableError(address, `no coordinator answers at ${address}: ${details}`, {
        cause: err,
        hint: 'start one with `multisect up` (local farm) or `multisect coordinator`, or pass --coordinator ADDR / MULTISECT_COORDINATOR',
      });
    case status.INVALID_ARGUMENT: {
      const colon = details.indexOf(':');
      const field = colon > 0 ? details.slice(0, colon) : 'request';
      const problem = colon > 0 ? details.slice(colon + 1).trim() : details;
      return new InvalidJobError(field, problem, opts);
    }
    case status.NOT_FOUND: {
      const jobId = name === 'JobNotFoundError' ? /^no job "(.*)"$/.exec(details)?.[1] : undefined;
      return jobId !== undefined ? new JobNotFoundError(jobId) : new NotFoundError(details, opts);
    }
    case status.FAILED_PRECONDITION:
      if (name === 'InfraError') return new InfraError(details, opts);
      if (name === 'GitError') return new GitError(details, [], '', opts);
      return new JobStateError(details, opts);
    case status.PERMISSION_DENIED:
    case status.UNAUTHENTICATED:
      return new PermissionError(details, opts);
    case status.CANCELLED:
      return new CancelledError(details, opts);
    default:
      return new Error(details, { cause: err });
  }
}
