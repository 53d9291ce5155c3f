/**
 * The ScorerService over gRPC: one bidirectional stream per desktop session, and identity
 * confirmation, both for gateways only (see credentials.ts). Requests of a stream are handled
 * strictly in order.
 */
import type { ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import type { ScorerServiceServer, SessionRequest, SessionResponse } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ScorerEngine } from './engine.js';
import { toProtoProfileState, toProtoVerdict } from './proto-map.js';
import { toServiceError } from './errors.js';
import { extractContext } from '../../lib/telemetry/grpc.js';
import { authorizeGateway, presentedBearer, type GatewayPolicy } from './credentials.js';

/** The service, and how a stopping scorer hands its streams back. */
export interface ScorerServiceHandle {
  readonly service: ScorerServiceServer;
  /**
   * Ends every open session stream with UNAVAILABLE, keeping each session's state as a broken
   * stream does: the gateway's mirror resumes it on another scorer (or this one once it is back),
   * instead of being refused mid-session. Returns how many streams there were.
   */
  handOver(): number;
}

export function scorerService(engine: ScorerEngine, log: Logger, policy: GatewayPolicy): ScorerServiceHandle {
  const streams = new Set<(err: unknown) => void>();
  /** Throws (and logs, for the SOC) unless the caller is a gateway. */
  const authorize = (call: Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer' | 'getAuthContext'>, rpc: string): void => {
    try {
      authorizeGateway(presentedBearer(call.metadata), call.getAuthContext().sslPeerCertificate, policy);
    } catch (err) {
      log.warn({ rpc, peer: call.getPeer(), why: (err as Error).message }, 'refused a call that is not from a gateway');
      throw err;
    }
  };
  const service: ScorerServiceServer = {
    session(call) {
      try {
        authorize(call, 'Session');
      } catch (err) {
        call.emit('error', toServiceError(err, log));
        return;
      }
      handleSessionStream(call, engine, log, streams);
    },
    confirmIdentity(call, callback) {
      try {
        authorize(call, 'ConfirmIdentity');
      } catch (err) {
        callback(toServiceError(err, log));
        return;
      }
      callback(null, { accepted: engine.confirmIdentity(call.request.sessionId) });
    },
  };
  return {
    service,
    handOver() {
      const open = [...streams];
      const goodbye = new VdiguardError('unavailable', 'the scorer is shutting down: resume the session on another scorer');
      for (const end of open) end(goodbye);
      return open.length;
    },
  };
}

function handleSessionStream(call: ServerDuplexStream<SessionRequest, SessionResponse>, engine: ScorerEngine, log: Logger, streams: Set<(err: unknown) => void>): void {
  let sessionId: string | undefined;
  let finished = false;
  let queue = Promise.resolve();

  const finish = (err?: unknown): void => {
    if (finished) return;
    finished = true;
    streams.delete(finish);
    if (sessionId) engine.detach(sessionId);
    if (err === undefined) call.end();
    else call.emit('error', toServiceError(err, log));
  };

  const handle = async (req: SessionRequest): Promise<void> => {
    const kind = req.kind;
    if (kind === undefined) throw new VdiguardError('invalid-argument', 'a session request must carry open, events or close');
    if (kind.$case === 'open') {
      if (sessionId) throw new VdiguardError('failed-precondition', 'open was sent twice on one stream');
      const { sessionId: id, agentId, desktopId, client, resume, initialTrust } = kind.value;
      const opened = await engine.openSession({ sessionId: id, agentId, desktopId, clientAddress: client?.address ?? '' }, resume, extractContext(call.metadata), initialTrust);
      sessionId = id;
      call.write({
        kind: {
          $case: 'accepted',
          value: {
            profileState: toProtoProfileState(opened.profileState),
            resumed: opened.resumed,
            lastBatchSeq: opened.lastBatchSeq,
            maxBatchEvents: opened.maxBatchEvents,
          },
        },
      });
      return;
    }
    if (!sessionId) throw new VdiguardError('failed-precondition', `${kind.$case} before open: the first request of a stream must open the session`);
    if (kind.$case === 'events') {
      for (const v of engine.applyBatch(sessionId, kind.value.seq, kind.value.events)) {
        call.write({ kind: { $case: 'verdict', value: toProtoVerdict(v, kind.value.seq) } });
      }
      return;
    }
    engine.closeSession(sessionId, kind.value.reason);
    sessionId = undefined;
    finish();
  };

  streams.add(finish);
  call.on('data', (req: SessionRequest) => {
    queue = queue.then(() => (finished ? undefined : handle(req))).catch((err) => finish(err));
  });
  call.on('end', () => void queue.then(() => finish()));
  call.on('cancelled', () => finish());
  call.on('error', () => finish());
}
