/**
 * The admin audit trail: every change made through the admin API, the CLI or the admin page, with
 * who made it (lib/db migration 8). Security decisions stay in `decisions`; this says which person
 * killed a session, unlocked an agent or changed a desktop.
 */
import type { Queryable } from '../../lib/db/db.js';
import type { Actor } from './actor.js';

export interface AdminAction {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  readonly actorKind: Actor['kind'];
  /** What was done, as `<noun>.<verb>`: `agent.add`, `desktop.update`, `session.kill`. */
  readonly action: string;
  /** The agent, desktop, session or admin it was done to. */
  readonly target: string;
  /** What changed, never a secret (no passwords, TOTP secrets or desktop credentials). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AdminActionQuery {
  readonly actor?: string;
  readonly target?: string;
  readonly limit?: number;
}

interface ActionRow {
  id: string | number;
  at: Date;
  actor: string;
  actor_kind: Actor['kind'];
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

export class AdminActions {
  constructor(private readonly db: Queryable) {}

  async record(actor: Actor, action: string, target: string, detail: Record<string, unknown> = {}): Promise<void> {
    await this.db.query('INSERT INTO admin_actions (actor, actor_kind, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [
      actor.name,
      actor.kind,
      action,
      target,
      JSON.stringify(detail),
    ]);
  }

  /** Newest first. */
  async list(q: AdminActionQuery = {}): Promise<AdminAction[]> {
    const rows = await this.db.query<ActionRow>(
      `SELECT * FROM admin_actions WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR target = $2)
        ORDER BY id DESC LIMIT $3`,
      [q.actor ?? null, q.target ?? null, Math.max(1, Math.min(1000, q.limit ?? 100))],
    );
    return rows.map((r) => ({ id: Number(r.id), at: new Date(r.at), actor: r.actor, actorKind: r.actor_kind, action: r.action, target: r.target, detail: r.detail }));
  }
}
