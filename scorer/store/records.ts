/**
 * What the scorer writes behind its sessions, as plain records: its write queue writes them and,
 * at shutdown, spills what it could not write (lib/db/write-queue.ts). Each is idempotent to
 * write: a session start or a contribution by its id, a decision by the id it was given when it
 * was made, a session end by overwriting the same values, the close of a session's contribution
 * parts by finding none left open.
 */
import type { AuditLog, Decision, SessionEnded, SessionStarted } from './audit.js';
import type { ProfileContribution, ProfileStore } from './profiles.js';

export type ScorerRecord =
  | { readonly kind: 'session-started'; readonly session: SessionStarted }
  | { readonly kind: 'session-ended'; readonly session: SessionEnded }
  | { readonly kind: 'decision'; readonly decision: Decision & { readonly recordId: string } }
  | { readonly kind: 'contribution'; readonly contribution: ProfileContribution }
  | { readonly kind: 'contributions-closed'; readonly sessionId: string; readonly agentId: string; readonly withdraw: boolean };

/** The queue's name in spill files. */
export const SCORER_QUEUE = 'scorer';

export function writeScorerRecord(r: ScorerRecord, to: { audit: AuditLog; profiles: ProfileStore }): Promise<void> {
  switch (r.kind) {
    case 'session-started':
      return to.audit.sessionStarted(r.session);
    case 'session-ended':
      return to.audit.sessionEnded(r.session);
    case 'decision':
      return to.audit.decision(r.decision);
    case 'contribution':
      return to.profiles.addContribution(r.contribution);
    case 'contributions-closed':
      return to.profiles.closeContributions(r.sessionId, r.withdraw).then(() => undefined);
  }
}

export function scorerRecordLabel(r: ScorerRecord): string {
  switch (r.kind) {
    case 'session-started':
      return `session ${r.session.sessionId} start`;
    case 'session-ended':
      return `session ${r.session.sessionId} end`;
    case 'decision':
      return `decision ${r.decision.action} in ${r.decision.sessionId}`;
    case 'contribution':
      return `profile contribution of ${r.contribution.agentId} from session ${r.contribution.sessionId}`;
    case 'contributions-closed':
      return `${r.withdraw ? 'withdrawal' : 'close'} of the profile contributions of session ${r.sessionId}`;
  }
}

/** Whether a value read back from a spill file is a record this queue writes. */
export function isScorerRecord(v: unknown): v is ScorerRecord {
  const r = v as {
    kind?: unknown;
    session?: { sessionId?: unknown };
    decision?: { recordId?: unknown; sessionId?: unknown };
    contribution?: { id?: unknown; agentId?: unknown };
    sessionId?: unknown;
    agentId?: unknown;
    withdraw?: unknown;
  };
  if (typeof r !== 'object' || r === null) return false;
  switch (r.kind) {
    case 'session-started':
    case 'session-ended':
      return typeof r.session?.sessionId === 'string';
    case 'decision':
      return typeof r.decision?.recordId === 'string' && typeof r.decision.sessionId === 'string';
    case 'contribution':
      return typeof r.contribution?.id === 'string' && typeof r.contribution.agentId === 'string';
    case 'contributions-closed':
      return typeof r.sessionId === 'string' && typeof r.agentId === 'string' && typeof r.withdraw === 'boolean';
    default:
      return false;
  }
}
