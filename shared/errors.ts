/**
 * Typed errors. One class per failure; `name` is set so logs and JSON output say what failed;
 * `cause` is kept. `toGrpcStatus` (shared/grpc-errors.ts) is the single place that maps them to
 * gRPC status codes.
 */

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL';

/** Base class of every error multisect raises on purpose. */
export abstract class MultisectError extends Error {
  abstract readonly code: ErrorCode;
  /** A hint for the operator: what to do about it. */
  readonly hint: string | undefined;

  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** An option, flag or spec field is wrong. `field` names it. */
export class InvalidOptionError extends MultisectError {
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(
    readonly field: string,
    problem: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/** A job spec cannot be run: bad refs, empty range, a good commit not an ancestor of bad... */
export class InvalidJobError extends MultisectError {
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(
    readonly field: string,
    problem: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/** No commit in the repository has the title a job gave for a ref it could not find. */
export class UnknownCommitTitleError extends InvalidJobError {
  constructor(field: string, readonly title: string, options?: { cause?: unknown; hint?: string }) {
    super(field, `no commit titled ${JSON.stringify(title)} in the repository`, options);
  }
}

/** Several commits have the title a job gave: the coordinator will not guess which one is meant. */
export class AmbiguousCommitTitleError extends InvalidJobError {
  constructor(field: string, readonly title: string, readonly commits: readonly string[]) {
    super(field, `the title ${JSON.stringify(title)} names ${commits.length} commits (${commits.map((c) => c.slice(0, 12)).join(', ')}): it does not say which one is meant`, {
      hint: 'give the commit\'s current hash instead (git log --all --grep)',
    });
  }
}

export class JobNotFoundError extends MultisectError {
  readonly code = 'NOT_FOUND' as const;
  constructor(readonly jobId: string) {
    super(`no job ${JSON.stringify(jobId)}`, { hint: 'list jobs with `multisect jobs`' });
  }
}

export class NotFoundError extends MultisectError {
  readonly code = 'NOT_FOUND' as const;
}

/** The job is in a state that does not allow the request (cancel a finished job...). */
export class JobStateError extends MultisectError {
  readonly code = 'FAILED_PRECONDITION' as const;
}

/** Git failed: repository missing, ref unknown, fetch failed. */
export class GitError extends MultisectError {
  readonly code = 'FAILED_PRECONDITION' as const;
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(message, options);
  }
}

/** NATS could not be reached or refused an operation. */
export class NatsUnavailableError extends MultisectError {
  readonly code = 'UNAVAILABLE' as const;
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(message, options);
  }
}

/** The coordinator could not be reached. */
export class CoordinatorUnavailableError extends MultisectError {
  readonly code = 'UNAVAILABLE' as const;
  constructor(
    readonly address: string,
    message: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(message, options);
  }
}

/** A protocol rule was broken by the peer (Work stream without Hello...). */
export class ProtocolError extends MultisectError {
  readonly code = 'FAILED_PRECONDITION' as const;
}

/** The peer is not allowed to do this. */
export class PermissionError extends MultisectError {
  readonly code = 'PERMISSION_DENIED' as const;
}

/** A recipe could not run because of the host (qemu missing...), not because of the commit. */
export class InfraError extends MultisectError {
  readonly code = 'FAILED_PRECONDITION' as const;
}

/** Work was cancelled. */
export class CancelledError extends MultisectError {
  readonly code = 'CANCELLED' as const;
}

/** A limit was hit: a spec or message too large. */
export class TooLargeError extends MultisectError {
  readonly code = 'INVALID_ARGUMENT' as const;
}

/** Render an error for an operator: message, then hint. */
export function describeError(err: unknown): string {
  if (err instanceof MultisectError) {
    return err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
