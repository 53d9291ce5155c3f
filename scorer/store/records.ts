/**
 * What the scorer writes behind its sessions, as plain records: its write queue writes them and,
 * at shutdown, spills what it could not write (lib/db/write-queue.ts). Each is idempotent to
 * write: a session start or a contribution by its id, a decision by the id it was given when it
 * was made, a session end by overwriting the same values, the close of a session's contribution
 * parts by finding none left open.
 */
import type { Queryable } from '../../lib/db/db.js';
import { AuditLog, type Decision, type SessionEnded, type SessionStarted } from './audit.js';
import type { ProfileContribution, ProfileStore } from './profiles.js';

export type ScorerRecord =
  | { readonly kind: 'session-started'; readonly session: SessionStarted }
  | { readonly kind: 'session-ended'; readonly session: SessionEnded }
  | { readonly kind: 'decision'; readonly decision: Decision & { readonly recordId: string } }
  | { readonly kind: 'contribution'; readonly contribution: ProfileContribution }
  | { readonly kind: 'contributions-closed'; readonly sessionId: string; readonly agentId: string; readonly withdraw: boolean };

/** The queue's name in spill files. */
export const SCORER_QUEUE = 'scorer';

/** Writes records in order on `on`: the database, or a transaction for a batch of them. */
export async function writeScorerRecords(records: readonly ScorerRecord[], on: Queryable, profiles: ProfileStore): Promise<void> {
  const audit = new AuditLog(on);
  for (const r of records) await writeScorerRecord(r, audit, profiles, on);
}

function writeScorerRecord(r: ScorerRecord, audit: AuditLog, profiles: ProfileStore, on: Queryable): Promise<void> {
  switch (r.kind) {
    case 'session-started':
      return audit.sessionStarted(r.session);
    case 'session-ended':
      return audit.sessionEnded(r.session);
    case 'decision':
      return audit.decision(r.decision);
    case 'contribution':
      return profiles.addContribution(r.contribution, on);
    case 'contributions-closed':
      return profiles.closeContributions(r.sessionId, r.withdraw, on).then(() => undefined);
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
