/**
 * ProfileAdminService over gRPC. Every call must present the admin credential as
 * `authorization: Bearer <token>` metadata; it is compared in constant time.
 */
import { sameSecret } from '../../lib/secrets.js';
import type { Metadata, sendUnaryData, ServerReadableStream, ServerUnaryCall } from '@grpc/grpc-js';
import type { EnrollRequest, EnrollResponse, InputEvent, ProfileAdminServiceServer } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ScorerEngine } from './engine.js';
import { toProtoProfileStatus } from './proto-map.js';
import { toServiceError } from './errors.js';

/** Events one Enroll call may carry: a few hours of behaviour. */
const MAX_ENROLL_EVENTS = 5_000_000;

export function adminService(engine: ScorerEngine, adminToken: string, log: Logger, maxBatchEvents: number): ProfileAdminServiceServer {
  const authorize = (metadata: Metadata): void => {
    const presented = metadata.get('authorization')[0];
    if (!sameSecret(typeof presented === 'string' ? presented : undefined, `Bearer ${adminToken}`)) {
      throw new VdiguardError('unauthenticated', 'profile administration needs the admin token as "authorization: Bearer <token>" metadata');
    }
  };
  const unary =
    <Req, Res>(run: (req: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      Promise.resolve()
        .then(() => authorize(call.metadata))
        .then(() => run(call.request))
        .then((res) => callback(null, res), (err) => callback(toServiceError(err, log)));
    };

  return {
    getProfile: unary(async (req) => ({ profile: toProtoProfileStatus(await engine.profileStatus(req.agentId)) })),
    listProfiles: unary(async () => ({ profiles: (await engine.listProfiles()).map(toProtoProfileStatus) })),
    resetProfile: unary(async (req) => ({ profile: toProtoProfileStatus(await engine.resetProfile(req.agentId)) })),
    deleteProfile: unary(async (req) => ({ versionsDeleted: await engine.deleteProfile(req.agentId) })),
    enroll(call, callback) {
      Promise.resolve()
        .then(() => authorize(call.metadata))
        .then(() => enrollFromStream(call, engine, log, maxBatchEvents))
        .then((res) => callback(null, res), (err) => callback(toServiceError(err, log)));
    },
  };
}

async function enrollFromStream(call: ServerReadableStream<EnrollRequest, EnrollResponse>, engine: ScorerEngine, log: Logger, maxBatchEvents: number): Promise<EnrollResponse> {
  let agentId: string | undefined;
  const events: InputEvent[] = [];
  for await (const req of call as AsyncIterable<EnrollRequest>) {
    const kind = req.kind;
    if (kind?.$case === 'start') {
      if (agentId !== undefined) throw new VdiguardError('invalid-argument', 'start was sent twice');
      agentId = kind.value.agentId;
      log.info({ agentId, source: kind.value.source }, 'enrolment from recorded behaviour');
    } else if (kind?.$case === 'events') {
      if (agentId === undefined) throw new VdiguardError('failed-precondition', 'events before start: the first request must name the agent');
      if (kind.value.events.length > maxBatchEvents) {
        throw new VdiguardError('resource-exhausted', `batch ${kind.value.seq} has ${kind.value.events.length} events, more than ${maxBatchEvents}; send smaller batches`);
      }
      if (events.length + kind.value.events.length > MAX_ENROLL_EVENTS) {
        throw new VdiguardError('resource-exhausted', `more than ${MAX_ENROLL_EVENTS} events in one enrolment; split the recording`);
      }
      for (const e of kind.value.events) events.push(e);
    } else {
      throw new VdiguardError('invalid-argument', 'an enrol request must carry start or events');
    }
  }
  if (agentId === undefined) throw new VdiguardError('invalid-argument', 'the enrolment stream ended before start named the agent');
  const { status, accepted } = await engine.enroll(agentId, events);
  return { profile: toProtoProfileStatus(status), eventsAccepted: accepted };
}
