/**
 * The audit trail: sessions and the decisions taken in them (who, when, trust, action, why).
 * Records are plain values built by the caller; writing them is idempotent where a retry could
 * repeat it.
 */
import type { Queryable } from '../../lib/db/db.js';
import type { Decision, TimingReport, TrustPoint } from '../../lib/audit-records.js';

export type { Decision, TrustPoint };

export interface SessionStarted {
  readonly sessionId: string;
  readonly agentId: string;
  readonly desktopId: string;
  readonly clientAddress: string;
  readonly startedAt: Date;
}

export interface SessionEnded {
  readonly sessionId: string;
  readonly endedAt: Date;
  readonly reason: string;
  /** Lowest and last trust of the session; null when nothing was scored. */
  readonly minTrust: number | null;
  readonly finalTrust: number | null;
}

export interface DecisionFilter {
  readonly agentId?: string;
  readonly sessionId?: string;
  readonly action?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly limit?: number;
}

/** A session as the scorer recorded it: when it started and ended, and its trust. */
export interface SessionRecord extends SessionStarted {
  readonly endedAt: Date | null;
  readonly endReason: string | null;
  readonly minTrust: number | null;
  readonly finalTrust: number | null;
}

interface SessionRow {
  session_id: string;
  agent_id: string;
  desktop_id: string;
  client_address: string;
  started_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
  min_trust: number | null;
  final_trust: number | null;
}

export class AuditLog {
  constructor(private readonly db: Queryable) {}

  async sessionStarted(r: SessionStarted): Promise<void> {
    await this.db.query(
      `INSERT INTO sessions (session_id, agent_id, desktop_id, client_address, started_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING`,
      [r.sessionId, r.agentId, r.desktopId, r.clientAddress, r.startedAt],
    );
  }

  async sessionEnded(r: SessionEnded): Promise<void> {
    await this.db.query(
      `UPDATE sessions SET ended_at = $2, end_reason = $3, min_trust = $4, final_trust = $5 WHERE session_id = $1`,
      [r.sessionId, r.endedAt, r.reason, r.minTrust, r.finalTrust],
    );
  }

  /** Ended sessions, newest first, for one agent or all. */
  async endedSessions(filter: { agentId?: string; limit: number }): Promise<SessionRecord[]> {
    const rows = await this.db.query<SessionRow>(
      `SELECT * FROM sessions WHERE ended_at IS NOT NULL AND ($1::text IS NULL OR agent_id = $1) ORDER BY ended_at DESC LIMIT $2`,
      [filter.agentId ?? null, filter.limit],
    );
    return rows.map(sessionOf);
  }

  async session(sessionId: string): Promise<SessionRecord | undefined> {
    const [row] = await this.db.query<SessionRow>('SELECT * FROM sessions WHERE session_id = $1', [sessionId]);
    return row ? sessionOf(row) : undefined;
  }

  /** `recordId`: the id the decision was given when it was made; a decision with one is written once however often this runs. */
  async decision(d: Decision & { readonly recordId?: string }): Promise<void> {
    await this.db.query(
      `INSERT INTO decisions (session_id, agent_id, decided_at, source, trust, state, action, reason, trail, timing, record_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (record_id) DO NOTHING`,
      [d.sessionId, d.agentId, d.decidedAt, d.source, d.trust, d.state, d.action, d.reason, JSON.stringify(d.trail), d.timing === null ? null : JSON.stringify(d.timing), d.recordId ?? null],
    );
  }

  /**
   * Forgets the history older than `before`: sessions that ended before it and decisions taken
   * before it (VDIGUARD_HISTORY_RETENTION_DAYS); live sessions stay whatever their age.
   */
  async prune(before: Date): Promise<void> {
    await this.db.query('DELETE FROM decisions WHERE decided_at < $1', [before]);
    await this.db.query('DELETE FROM sessions WHERE ended_at < $1', [before]);
  }

  /** Decisions, newest first, for one agent, session, action or time range (since inclusive, until exclusive), or all. */
  async decisions(filter: DecisionFilter = {}): Promise<Decision[]> {
    const rows = await this.db.query<{
      session_id: string;
      agent_id: string;
      decided_at: Date;
      source: Decision['source'];
      trust: number;
      state: string;
      action: string;
      reason: string;
      trail: TrustPoint[];
      timing: TimingReport | null;
    }>(
      `SELECT session_id, agent_id, decided_at, source, trust, state, action, reason, trail, timing FROM decisions
        WHERE ($1::text IS NULL OR agent_id = $1) AND ($2::text IS NULL OR session_id = $2) AND ($4::text IS NULL OR action = $4)
          AND ($5::timestamptz IS NULL OR decided_at >= $5) AND ($6::timestamptz IS NULL OR decided_at < $6)
        ORDER BY decided_at DESC, id DESC LIMIT $3`,
      [filter.agentId ?? null, filter.sessionId ?? null, filter.limit ?? 100, filter.action ?? null, filter.since ?? null, filter.until ?? null],
    );
    return rows.map((r) => ({
      sessionId: r.session_id,
      agentId: r.agent_id,
      decidedAt: new Date(r.decided_at),
      source: r.source,
      trust: r.trust,
      state: r.state,
      action: r.action,
      reason: r.reason,
      trail: r.trail,
      timing: r.timing,
    }));
  }
}

function sessionOf(r: SessionRow): SessionRecord {
  return {
    sessionId: r.session_id,
    agentId: r.agent_id,
    desktopId: r.desktop_id,
    clientAddress: r.client_address,
    startedAt: new Date(r.started_at),
    endedAt: r.ended_at === null ? null : new Date(r.ended_at),
    endReason: r.end_reason,
    minTrust: r.min_trust,
    finalTrust: r.final_trust,
  };
}
