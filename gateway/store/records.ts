/**
 * What the gateway writes behind its sessions, as plain records: its write queue writes them and,
 * at shutdown, spills what it could not write (lib/db/write-queue.ts). Each is idempotent to
 * write: a decision by the id it was given when it was made, the others by overwriting or deleting
 * the same row. Replayed in order, a live session's row and its removal cancel out.
 */
import type { AuditLog, Decision } from '../../scorer/store/audit.js';
import type { GatewayStore } from './gateway-store.js';

export interface LiveSessionRow {
  readonly sessionId: string;
  readonly agentId: string;
  readonly desktopId: string;
}

export type GatewayRecord =
  | { readonly kind: 'decision'; readonly decision: Decision & { readonly recordId: string } }
  | { readonly kind: 'live-session'; readonly replicaId: string; readonly session: LiveSessionRow; readonly beatAt: Date }
  | { readonly kind: 'live-session-ended'; readonly sessionId: string }
  | { readonly kind: 'trust-carried'; readonly agentId: string; readonly trust: number; readonly sessionId: string; readonly endedAt: Date };

/** The queue's name in spill files. */
export const GATEWAY_QUEUE = 'gateway';

export function writeGatewayRecord(r: GatewayRecord, to: { audit: AuditLog; store: GatewayStore }): Promise<void> {
  switch (r.kind) {
    case 'decision':
      return to.audit.decision(r.decision);
    case 'live-session':
      return to.store.heartbeat(r.replicaId, [r.session], r.beatAt);
    case 'live-session-ended':
      return to.store.sessionEnded(r.sessionId);
    case 'trust-carried':
      return to.store.rememberTrust(r.agentId, r.trust, r.sessionId, r.endedAt);
  }
}

export function gatewayRecordLabel(r: GatewayRecord): string {
  switch (r.kind) {
    case 'decision':
      return `gateway decision ${r.decision.action} in ${r.decision.sessionId}`;
    case 'live-session':
      return `live session ${r.session.sessionId}`;
    case 'live-session-ended':
      return `ended session ${r.sessionId}`;
    case 'trust-carried':
      return `trust carried from ${r.sessionId}`;
  }
}

/** Whether a value read back from a spill file is a record this queue writes. */
export function isGatewayRecord(v: unknown): v is GatewayRecord {
  const r = v as { kind?: unknown; decision?: { recordId?: unknown }; session?: { sessionId?: unknown }; sessionId?: unknown; trust?: unknown; endedAt?: unknown; beatAt?: unknown };
  if (typeof r !== 'object' || r === null) return false;
  switch (r.kind) {
    case 'decision':
      return typeof r.decision?.recordId === 'string';
    case 'live-session':
      return typeof r.session?.sessionId === 'string' && r.beatAt instanceof Date;
    case 'live-session-ended':
      return typeof r.sessionId === 'string';
    case 'trust-carried':
      return typeof r.sessionId === 'string' && typeof r.trust === 'number' && r.endedAt instanceof Date;
    default:
      return false;
  }
}
