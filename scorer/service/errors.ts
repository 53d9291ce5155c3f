/** Turns what a handler threw into a gRPC status: typed errors keep their message, bugs do not leak. */
import type { ServiceError } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import { grpcStatusOf, VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

export function toServiceError(err: unknown, log: Logger): Partial<ServiceError> {
  if (err instanceof VdiguardError) return { code: grpcStatusOf(err), details: err.message, metadata: new Metadata() };
  log.error({ err }, 'unexpected error in a request');
  return { code: status.INTERNAL, details: 'internal error in the scorer; see its log', metadata: new Metadata() };
}
