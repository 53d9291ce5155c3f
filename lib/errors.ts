/**
 * Typed errors shared by the services. Each code maps to one gRPC status, so a caller learns what
 * class of problem it hit, and the message says what was wrong and what to do.
 */
import { status } from '@grpc/grpc-js';

export type ErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'failed-precondition'
  | 'unauthenticated'
  | 'permission-denied'
  | 'resource-exhausted'
  | 'unavailable'
  | 'internal';

const GRPC_STATUS: Record<ErrorCode, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'failed-precondition': status.FAILED_PRECONDITION,
  unauthenticated: status.UNAUTHENTICATED,
  'permission-denied': status.PERMISSION_DENIED,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  internal: status.INTERNAL,
};

export class VdiguardError extends Error {
  /** For resource-exhausted: how long the caller should wait before trying again. */
  readonly retryAfterMs?: number;
  /** For invalid-argument: the request field that was wrong, so a form can point at it. */
  readonly field?: string;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number; field?: string },
  ) {
    super(message, options);
    this.name = 'VdiguardError';
    this.retryAfterMs = options?.retryAfterMs;
    this.field = options?.field;
  }

  get grpcStatus(): status {
    return GRPC_STATUS[this.code];
  }
}

/** The gRPC status for any thrown value: typed errors keep their code, anything else is internal. */
export function grpcStatusOf(err: unknown): status {
  return err instanceof VdiguardError ? err.grpcStatus : status.INTERNAL;
}
