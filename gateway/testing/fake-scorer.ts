/**
 * A ScorerService stand-in over real gRPC, for tests of the mirror and enforcement: it records
 * what arrives and lets the test send verdicts on any open stream.
 */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  Action,
  Modality,
  ProfileState,
  ScorerServiceService,
  TrustState,
  type InputEvent,
  type SessionOpen,
  type SessionRequest,
  type SessionResponse,
  type Verdict,
} from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

export interface FakeScorerStream {
  open: SessionOpen | undefined;
  readonly batches: { seq: number; events: InputEvent[] }[];
  closeReason: string | undefined;
  ended: boolean;
  verdict(v: Partial<Verdict>): void;
}

export interface FakeScorer {
  readonly port: number;
  readonly address: string;
  readonly streams: FakeScorerStream[];
  readonly confirmed: string[];
  /** Next open's answer: the last batch seq to claim as applied when resumed. */
  lastBatchSeq: number;
  /** Resolves when a stream for `sessionId` has received `n` events in all. */
  events(sessionId: string): InputEvent[];
  close(): Promise<void>;
}

export function verdictOf(v: Partial<Verdict>): Verdict {
  return {
    trust: 1,
    state: TrustState.TRUST_STATE_TRUSTED,
    action: Action.ACTION_NONE,
    reason: 'test',
    modality: Modality.MODALITY_KEYSTROKE,
    windowScore: 0,
    atTimeMs: 0,
    windowsScored: 1,
    profileState: ProfileState.PROFILE_STATE_MATURE,
    timing: undefined,
    batchSeq: 0,
    ...v,
  };
}

export async function startFakeScorer(port = 0): Promise<FakeScorer> {
  const streams: FakeScorerStream[] = [];
  const confirmed: string[] = [];
  const fake = { lastBatchSeq: 0 } as { lastBatchSeq: number };
  const server = new Server();
  server.addService(ScorerServiceService, {
    session(call: ServerDuplexStream<SessionRequest, SessionResponse>) {
      const s: FakeScorerStream = {
        open: undefined,
        batches: [],
        closeReason: undefined,
        ended: false,
        verdict: (v) => call.write({ kind: { $case: 'verdict', value: verdictOf(v) } }),
      };
      streams.push(s);
      call.on('data', (req: SessionRequest) => {
        if (req.kind?.$case === 'open') {
          s.open = req.kind.value;
          const resumed = req.kind.value.resume;
          call.write({ kind: { $case: 'accepted', value: { profileState: ProfileState.PROFILE_STATE_MATURE, resumed, lastBatchSeq: resumed ? fake.lastBatchSeq : 0, maxBatchEvents: 0 } } });
        } else if (req.kind?.$case === 'events') {
          s.batches.push({ seq: Number(req.kind.value.seq), events: req.kind.value.events });
        } else if (req.kind?.$case === 'close') {
          s.closeReason = req.kind.value.reason;
          call.end();
        }
      });
      call.on('end', () => (s.ended = true));
      call.on('error', () => (s.ended = true));
      call.on('cancelled', () => (s.ended = true));
    },
    confirmIdentity(call: { request: { sessionId: string } }, cb: (err: null, res: { accepted: boolean }) => void) {
      confirmed.push(call.request.sessionId);
      cb(null, { accepted: true });
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return Object.assign(fake, {
    port: bound,
    address: `127.0.0.1:${bound}`,
    streams,
    confirmed,
    events: (sessionId: string) => streams.filter((s) => s.open?.sessionId === sessionId).flatMap((s) => s.batches.flatMap((b) => b.events)),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  });
}
