/**
 * `vdiguard replay`: streams a recorded session through a running scorer, as the gateway would
 * (authenticated with the admin token, which the scorer takes in place of the gateway's), and
 * reports each verdict. Batches follow the recording's timing, sped up by `speed` (0 sends as
 * fast as the scorer takes them).
 */
import { randomUUID } from 'node:crypto';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import {
  Action,
  actionToJSON,
  modalityToJSON,
  trustStateToJSON,
  type InputEvent,
  type SessionRequest,
  type SessionResponse,
  type Verdict,
} from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { readRecording } from '../recording/reader.js';
import { bearerMetadata, scorerClient } from '../client.js';
import { adminToken, type AdminOptions } from './admin.js';

export interface ReplayOptions extends AdminOptions {
  readonly file: string;
  /** The agent the session claims to be (the recording's own agent when absent). */
  readonly agent?: string;
  readonly desktop: string;
  readonly speed: number;
  /** Milliseconds of events per batch, as the gateway's mirror batches them. */
  readonly batchMs: number;
  /** Called per verdict, with the time of its window's last event from the session's start, ms. */
  readonly onVerdict: (v: Verdict, sinceStartMs: number) => void;
}

export interface ReplaySummary {
  readonly sessionId: string;
  readonly agent: string;
  readonly events: number;
  readonly verdicts: number;
  readonly minTrust: number;
  readonly terminated: boolean;
  /** Time into the recording of the terminate verdict's last event, ms. */
  readonly terminatedAtMs: number | null;
}

export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  const recording = await readRecording(o.file);
  const agent = o.agent ?? recording.header.agent;
  const metadata = bearerMetadata(adminToken(o));
  const sessionId = randomUUID();
  const client = scorerClient(o);
  const call: ClientDuplexStream<SessionRequest, SessionResponse> = client.session(metadata);
  let verdicts = 0;
  let minTrust = 1;
  let terminatedAtMs: number | null = null;
  let firstEventMs = Number.NaN;

  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (res: SessionResponse) => {
      if (res.kind?.$case !== 'verdict') return;
      const v = res.kind.value;
      verdicts++;
      minTrust = Math.min(minTrust, v.trust);
      if (v.action === Action.ACTION_TERMINATE && terminatedAtMs === null) terminatedAtMs = v.atTimeMs - firstEventMs;
      o.onVerdict(v, v.atTimeMs - firstEventMs);
    });
    call.on('error', (err: Error & { details?: string }) =>
      reject(new VdiguardError('unavailable', `scorer at ${o.address}: ${err.details ?? err.message}`)),
    );
    call.on('end', resolve);
  });
  // The stream can fail while the recording is still being read and sent: stop sending, and let
  // `await done` below report it (left unobserved until then, the rejection would crash the process).
  let failed = false;
  done.catch(() => {
    failed = true;
  });

  call.write({ kind: { $case: 'open', value: { sessionId, agentId: agent, desktopId: o.desktop, resume: false, client: { address: 'replay', userAgent: 'vdiguard replay', screenWidth: 0, screenHeight: 0 } } } });
  let seq = 0;
  let events = 0;
  let batch: InputEvent[] = [];
  const startedAt = performance.now();
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    if (o.speed > 0) {
      const due = ((batch[batch.length - 1] as InputEvent).timeMs - firstEventMs) / o.speed;
      const wait = due - (performance.now() - startedAt);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    call.write({ kind: { $case: 'events', value: { seq: ++seq, events: batch } } });
    events += batch.length;
    batch = [];
  };
  for await (const chunk of recording.batches) {
    for (const e of chunk) {
      if (Number.isNaN(firstEventMs)) firstEventMs = e.timeMs;
      if (batch.length > 0 && e.timeMs - (batch[0] as InputEvent).timeMs >= o.batchMs) await send();
      batch.push(e);
      if (terminatedAtMs !== null || failed) break;
    }
    if (terminatedAtMs !== null || failed) break;
  }
  await send();
  call.write({ kind: { $case: 'close', value: { reason: terminatedAtMs !== null ? 'terminated by verdict' : 'replay finished' } } });
  call.end();
  try {
    await done;
  } finally {
    client.close();
  }
  return { sessionId, agent, events, verdicts, minTrust, terminated: terminatedAtMs !== null, terminatedAtMs };
}

/** A verdict as one line for people. */
export function formatVerdict(v: Verdict, sinceStartMs: number): string {
  const t = (sinceStartMs / 1000).toFixed(1).padStart(7);
  const state = trustStateToJSON(v.state).replace('TRUST_STATE_', '').toLowerCase();
  const action = actionToJSON(v.action).replace('ACTION_', '').toLowerCase();
  const modality = modalityToJSON(v.modality).replace('MODALITY_', '').toLowerCase();
  return `${t}s  ${modality.padEnd(9)} trust ${v.trust.toFixed(2)}  ${state.padEnd(9)} ${action.padEnd(9)} ${v.reason}`;
}

/** A verdict as one JSON object with readable enum names. */
export function verdictJson(v: Verdict, sinceStartMs: number): Record<string, unknown> {
  return {
    atMs: sinceStartMs,
    modality: modalityToJSON(v.modality).replace('MODALITY_', '').toLowerCase(),
    trust: v.trust,
    state: trustStateToJSON(v.state).replace('TRUST_STATE_', '').toLowerCase(),
    action: actionToJSON(v.action).replace('ACTION_', '').toLowerCase(),
    windowScore: Number.isNaN(v.windowScore) ? null : v.windowScore,
    windowsScored: v.windowsScored,
    reason: v.reason,
  };
}
