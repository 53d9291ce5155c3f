/**
 * The gateway's tables in the store it shares with the scorer (lib/db migrations 2, 4 and 5):
 * agents, desktops and who may use them, used TOTP steps and used tickets, the login throttle's
 * counters, agent locks. Secrets (TOTP keys, desktop
 * credentials) are sealed with the gateway's key before they reach the database.
 */
import type { Db } from '../../lib/db/db.js';
import { VdiguardError } from '../../lib/errors.js';
import type { SecretBox } from '../auth/secret-box.js';
import { intervalMs, KNOWN_ADDRESS_MS, toleranceMs, waitMs, type Rate, type ThrottleAnswer, type ThrottleKey, type ThrottleStore } from '../auth/throttle.js';

export type AgentStatus = 'active' | 'disabled';

export interface Agent {
  readonly agentId: string;
  readonly displayName: string;
  readonly status: AgentStatus;
  readonly createdAt: Date;
}

/** 'locked': no logins or tickets until an admin unlocks; 'probation': challenged first, trust carried over. */
export type LockKind = 'locked' | 'probation';

/** An agent held back after a security decision (gateway/session/lockout.ts). */
export interface AgentLock {
  readonly agentId: string;
  readonly kind: LockKind;
  /** Trust the agent's next session starts from (probation): where the last one ended. */
  readonly trust: number;
  /** The session, action and reason of the decision that placed the lock. */
  readonly sessionId: string;
  readonly action: string;
  readonly reason: string;
  readonly lockedAt: Date;
}

export interface AgentSecrets extends Agent {
  readonly passwordHash: string;
  /** Base32 TOTP secret, unsealed. */
  readonly totpSecret: string;
}

/** RDP security negotiation, as guacd names it. */
export const RDP_SECURITY = ['any', 'nla', 'tls', 'rdp', 'vmconnect'] as const;
export type RdpSecurity = (typeof RDP_SECURITY)[number];

export interface Desktop {
  readonly desktopId: string;
  readonly displayName: string;
  readonly host: string;
  readonly port: number;
  readonly security: RdpSecurity;
  readonly domain: string;
  /** Skip the desktop certificate check (development desktops with self-signed certificates). */
  readonly ignoreCert: boolean;
  /** Pinned SHA-256 certificate fingerprints, comma separated (empty: the CA bundle decides). */
  readonly certFingerprints: string;
  /** Agents allowed to use it. */
  readonly agents: readonly string[];
}

export interface DesktopCredentials {
  readonly username: string;
  readonly password: string;
}

export interface NewDesktop extends Omit<Desktop, 'agents'> {
  readonly credentials: DesktopCredentials;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

export function checkId(kind: string, id: string): void {
  if (!ID.test(id)) throw new VdiguardError('invalid-argument', `${kind} id must be 1 to 100 letters, digits or . _ @ - (got ${JSON.stringify(id.slice(0, 40))})`);
}

interface AgentRow {
  agent_id: string;
  display_name: string;
  status: AgentStatus;
  created_at: Date;
  password_hash: string;
  totp_secret: string;
}

interface LockRow {
  agent_id: string;
  kind: LockKind;
  trust: number;
  session_id: string;
  action: string;
  reason: string;
  locked_at: Date;
}

interface DesktopRow {
  desktop_id: string;
  display_name: string;
  host: string;
  port: number;
  security: RdpSecurity;
  domain: string;
  ignore_cert: boolean;
  cert_fingerprints: string;
  credentials: string;
  agents: string[] | null;
}

export class GatewayStore implements ThrottleStore {
  constructor(
    readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async addAgent(a: { agentId: string; displayName: string; passwordHash: string; totpSecret: string }): Promise<void> {
    checkId('agent', a.agentId);
    const rows = await this.db.query(
      `INSERT INTO agents (agent_id, display_name, password_hash, totp_secret) VALUES ($1, $2, $3, $4)
       ON CONFLICT (agent_id) DO NOTHING RETURNING agent_id`,
      [a.agentId, a.displayName, a.passwordHash, this.box.seal('totp-secret', a.totpSecret)],
    );
    if (rows.length === 0) throw new VdiguardError('failed-precondition', `agent ${a.agentId} already exists`);
  }

  async listAgents(): Promise<Agent[]> {
    const rows = await this.db.query<AgentRow>('SELECT agent_id, display_name, status, created_at FROM agents ORDER BY agent_id');
    return rows.map(agentOf);
  }

  /** The agent with its secrets, or undefined when unknown. */
  async agentSecrets(agentId: string): Promise<AgentSecrets | undefined> {
    const [row] = await this.db.query<AgentRow>('SELECT * FROM agents WHERE agent_id = $1', [agentId]);
    if (!row) return undefined;
    const totpSecret = this.box.open('totp-secret', row.totp_secret);
    if (totpSecret === undefined) {
      throw new VdiguardError('internal', `the TOTP secret of agent ${agentId} does not open with this gateway's key; is VDIGUARD_GATEWAY_SECRET_KEY the one it was created with?`);
    }
    return { ...agentOf(row), passwordHash: row.password_hash, totpSecret };
  }

  async agent(agentId: string): Promise<Agent | undefined> {
    const [row] = await this.db.query<AgentRow>('SELECT agent_id, display_name, status, created_at FROM agents WHERE agent_id = $1', [agentId]);
    return row && agentOf(row);
  }

  /** Changes what is given (a field left undefined stays); returns the agent as it is now. */
  async updateAgent(agentId: string, change: { displayName?: string; status?: AgentStatus; passwordHash?: string }): Promise<Agent> {
    const [row] = await this.db.query<AgentRow>(
      `UPDATE agents SET display_name = coalesce($2, display_name), status = coalesce($3, status), password_hash = coalesce($4, password_hash), updated_at = now()
        WHERE agent_id = $1 RETURNING agent_id, display_name, status, created_at`,
      [agentId, change.displayName ?? null, change.status ?? null, change.passwordHash ?? null],
    );
    if (!row) throw unknown('agent', agentId);
    return agentOf(row);
  }

  /**
   * Removes the agent: assignments, lock and carried trust go with the row (foreign keys), used
   * TOTP steps and the agent's throttle counters here. Sessions and decisions stay as history
   * (pruned after VDIGUARD_HISTORY_RETENTION_DAYS).
   */
  async removeAgent(agentId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const rows = await tx.query('DELETE FROM agents WHERE agent_id = $1 RETURNING agent_id', [agentId]);
      if (rows.length === 0) throw unknown('agent', agentId);
      await tx.query('DELETE FROM totp_used_steps WHERE agent_id = $1', [agentId]);
      await tx.query(`DELETE FROM login_throttle WHERE agent_id = $1`, [agentId]);
    });
  }

  /**
   * Gives back every login attempt counted against the agent (at any address, and agent-wide), so
   * a rate-limited agent may log in at once; the addresses they are known at stay known. True when
   * some were counted. Per-address keys over all agents are not the agent's to lift.
   */
  async liftThrottle(agentId: string, now: Date): Promise<boolean> {
    const rows = await this.db.query(`UPDATE login_throttle SET tat = $2 WHERE agent_id = $1 AND tat > $2 RETURNING agent_id`, [agentId, now]);
    return rows.length > 0;
  }

  async setTotpSecret(agentId: string, totpSecret: string): Promise<void> {
    const rows = await this.db.query('UPDATE agents SET totp_secret = $2, updated_at = now() WHERE agent_id = $1 RETURNING agent_id', [
      agentId,
      this.box.seal('totp-secret', totpSecret),
    ]);
    if (rows.length === 0) throw unknown('agent', agentId);
  }

  /** Records a TOTP step as used by the agent; false when it was used before (a replay). */
  async useTotpStep(agentId: string, step: number): Promise<boolean> {
    const rows = await this.db.query(
      'INSERT INTO totp_used_steps (agent_id, step) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING step',
      [agentId, step],
    );
    return rows.length > 0;
  }

  /** Records a ticket as used; false when it was used before. */
  async useTicket(ticketId: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.db.query('INSERT INTO used_tickets (ticket_id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING ticket_id', [
      ticketId,
      expiresAt,
    ]);
    return rows.length > 0;
  }

  async revokeLogin(loginId: string, expiresAt: Date): Promise<void> {
    await this.db.query('INSERT INTO revoked_logins (login_id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [loginId, expiresAt]);
  }

  async isLoginRevoked(loginId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM revoked_logins WHERE login_id = $1', [loginId])).length > 0;
  }

  /** Which of these logins were revoked (by any replica): one query for all of a replica's sessions. */
  async revokedAmong(loginIds: readonly string[]): Promise<string[]> {
    if (loginIds.length === 0) return [];
    const rows = await this.db.query<{ login_id: string }>('SELECT login_id FROM revoked_logins WHERE login_id = ANY($1::text[])', [loginIds]);
    return rows.map((r) => r.login_id);
  }

  /**
   * One statement counts the attempt and decides: the key's tat moves one interval on only when it
   * is within the tolerance, so concurrent attempts (on any replica) are admitted one at a time
   * under the row's lock and never beyond the burst.
   */
  async countAttempt(key: ThrottleKey, rate: Rate, now: number): Promise<ThrottleAnswer> {
    const at = new Date(now);
    const rows = await this.db.query<{ known: boolean }>(
      `INSERT INTO login_throttle AS t (scope, agent_id, address, tat)
            VALUES ($1, $2, $3, $4::timestamptz + $5::double precision * interval '1 millisecond')
       ON CONFLICT (scope, agent_id, address) DO UPDATE
               SET tat = greatest(t.tat, $4::timestamptz) + $5::double precision * interval '1 millisecond'
             WHERE t.tat <= $4::timestamptz + $6::double precision * interval '1 millisecond'
       RETURNING coalesce(t.known_at > $4::timestamptz - $7::double precision * interval '1 millisecond', false) AS known`,
      [key.scope, key.agentId, key.address, at, intervalMs(rate), toleranceMs(rate), KNOWN_ADDRESS_MS],
    );
    if (rows[0]) return { admitted: true, known: rows[0].known };
    const [row] = await this.db.query<{ tat: Date }>('SELECT tat FROM login_throttle WHERE scope = $1 AND agent_id = $2 AND address = $3', [
      key.scope,
      key.agentId,
      key.address,
    ]);
    return { admitted: false, waitMs: Math.max(1000, row ? waitMs(new Date(row.tat).getTime(), now, rate) : 0) };
  }

  async refundAttempt(key: ThrottleKey, rate: Rate): Promise<void> {
    await this.db.query(
      `UPDATE login_throttle SET tat = tat - $4::double precision * interval '1 millisecond' WHERE scope = $1 AND agent_id = $2 AND address = $3`,
      [key.scope, key.agentId, key.address, intervalMs(rate)],
    );
  }

  async loginSucceeded(agentId: string, address: string, now: number): Promise<void> {
    await this.db.query(
      `INSERT INTO login_throttle (scope, agent_id, address, tat, known_at) VALUES ('agent-address', $1, $2, $3, $3)
       ON CONFLICT (scope, agent_id, address) DO UPDATE SET tat = excluded.tat, known_at = excluded.known_at`,
      [agentId, address, new Date(now)],
    );
  }

  /**
   * Locks the agent, or puts them on probation; a lock already there is never weakened to
   * probation, and the trust is the newest decision's.
   */
  async lockAgent(l: Omit<AgentLock, 'lockedAt'>): Promise<void> {
    const rows = await this.db.query(
      `INSERT INTO agent_locks (agent_id, kind, trust, session_id, action, reason)
       SELECT agent_id, $2::text, $3::double precision, $4::text, $5::text, $6::text FROM agents WHERE agent_id = $1
       ON CONFLICT (agent_id) DO UPDATE SET
         kind = CASE WHEN agent_locks.kind = 'locked' THEN 'locked' ELSE EXCLUDED.kind END,
         trust = EXCLUDED.trust, session_id = EXCLUDED.session_id, action = EXCLUDED.action, reason = EXCLUDED.reason, locked_at = now()
       RETURNING agent_id`,
      [l.agentId, l.kind, l.trust, l.sessionId, l.action, l.reason],
    );
    if (rows.length === 0) throw unknown('agent', l.agentId);
  }

  async agentLock(agentId: string): Promise<AgentLock | undefined> {
    const [row] = await this.db.query<LockRow>('SELECT * FROM agent_locks WHERE agent_id = $1', [agentId]);
    return row && lockOf(row);
  }

  async listLocks(): Promise<AgentLock[]> {
    return (await this.db.query<LockRow>('SELECT * FROM agent_locks ORDER BY agent_id')).map(lockOf);
  }

  /**
   * Lifts the agent's lock or probation, and the trust their last sessions left, so the next
   * session starts afresh; returns what was lifted, or undefined when there was no lock.
   */
  async unlockAgent(agentId: string): Promise<AgentLock | undefined> {
    const [row] = await this.db.query<LockRow>('DELETE FROM agent_locks WHERE agent_id = $1 RETURNING *', [agentId]);
    if (row) await this.db.query('DELETE FROM agent_trust WHERE agent_id = $1', [agentId]);
    return row && lockOf(row);
  }

  /** Locks placed on any of these agents (by any replica), with when: sessions begun before end. */
  async locksAmong(agentIds: readonly string[]): Promise<{ agentId: string; lockedAt: Date }[]> {
    if (agentIds.length === 0) return [];
    const rows = await this.db.query<{ agent_id: string; locked_at: Date }>('SELECT agent_id, locked_at FROM agent_locks WHERE agent_id = ANY($1::text[])', [agentIds]);
    return rows.map((r) => ({ agentId: r.agent_id, lockedAt: new Date(r.locked_at) }));
  }

  /** This replica's live sessions are alive now (one statement for all of them). */
  async heartbeat(replicaId: string, sessions: readonly { sessionId: string; agentId: string; desktopId: string }[], at: Date): Promise<void> {
    if (sessions.length === 0) return;
    await this.db.query(
      `INSERT INTO live_sessions (session_id, agent_id, desktop_id, replica_id, heartbeat_at)
       SELECT s, a, d, $4, $5 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(s, a, d)
       ON CONFLICT (session_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, replica_id = excluded.replica_id`,
      [sessions.map((s) => s.sessionId), sessions.map((s) => s.agentId), sessions.map((s) => s.desktopId), replicaId, at],
    );
  }

  async sessionEnded(sessionId: string): Promise<void> {
    await this.db.query('DELETE FROM live_sessions WHERE session_id = $1', [sessionId]);
  }

  /** The agent's sessions live on other replicas (heartbeat since `since`). */
  async liveElsewhere(agentId: string, replicaId: string, since: Date): Promise<{ sessionId: string; desktopId: string }[]> {
    const rows = await this.db.query<{ session_id: string; desktop_id: string }>(
      'SELECT session_id, desktop_id FROM live_sessions WHERE agent_id = $1 AND replica_id <> $2 AND heartbeat_at > $3',
      [agentId, replicaId, since],
    );
    return rows.map((r) => ({ sessionId: r.session_id, desktopId: r.desktop_id }));
  }

  /** The trust the agent's session ended on; the newest ending wins. */
  async rememberTrust(agentId: string, trust: number, sessionId: string, endedAt: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_trust (agent_id, trust, session_id, ended_at) SELECT agent_id, $2, $3, $4 FROM agents WHERE agent_id = $1
       ON CONFLICT (agent_id) DO UPDATE SET trust = excluded.trust, session_id = excluded.session_id, ended_at = excluded.ended_at
        WHERE agent_trust.ended_at <= excluded.ended_at`,
      [agentId, Math.max(0, Math.min(1, trust)), sessionId, endedAt],
    );
  }

  /** The trust the agent's last session ended on, if it ended after `since` below 1. */
  async carriedTrust(agentId: string, since: Date): Promise<number | undefined> {
    const [row] = await this.db.query<{ trust: number }>('SELECT trust FROM agent_trust WHERE agent_id = $1 AND ended_at > $2 AND trust < 1', [agentId, since]);
    return row?.trust;
  }

  /**
   * A session on probation ended: the next one continues from its final trust, unless a newer
   * decision (another session) has placed the lock since (`lock` is the one the session started under).
   */
  async carryTrust(lock: AgentLock, trust: number): Promise<void> {
    await this.db.query(`UPDATE agent_locks SET trust = $3 WHERE agent_id = $1 AND session_id = $2 AND kind = 'probation'`, [lock.agentId, lock.sessionId, trust]);
  }

  /** Forgets used tickets, revoked logins, TOTP steps and throttle counters too old to matter. */
  async prune(now = new Date()): Promise<void> {
    await this.db.query('DELETE FROM used_tickets WHERE expires_at < $1', [now]);
    await this.db.query('DELETE FROM revoked_logins WHERE expires_at < $1', [now]);
    await this.db.query(`DELETE FROM live_sessions WHERE heartbeat_at < $1::timestamptz - interval '1 hour'`, [now]);
    await this.db.query(`DELETE FROM totp_used_steps WHERE used_at < $1::timestamptz - interval '10 minutes'`, [now]);
    await this.db.query(
      `DELETE FROM login_throttle WHERE tat < $1 AND (known_at IS NULL OR known_at < $1::timestamptz - $2::double precision * interval '1 millisecond')`,
      [now, KNOWN_ADDRESS_MS],
    );
  }

  async addDesktop(d: NewDesktop): Promise<void> {
    checkId('desktop', d.desktopId);
    if (!(RDP_SECURITY as readonly string[]).includes(d.security)) {
      throw new VdiguardError('invalid-argument', `security must be one of ${RDP_SECURITY.join(', ')}`);
    }
    const rows = await this.db.query(
      `INSERT INTO desktops (desktop_id, display_name, host, port, security, domain, credentials, ignore_cert, cert_fingerprints)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (desktop_id) DO NOTHING RETURNING desktop_id`,
      [d.desktopId, d.displayName, d.host, d.port, d.security, d.domain, this.box.seal('desktop-credentials', JSON.stringify(d.credentials)), d.ignoreCert, d.certFingerprints],
    );
    if (rows.length === 0) throw new VdiguardError('failed-precondition', `desktop ${d.desktopId} already exists`);
  }

  async assign(desktopId: string, agentId: string): Promise<void> {
    const [d] = await this.db.query('SELECT 1 FROM desktops WHERE desktop_id = $1', [desktopId]);
    if (!d) throw unknown('desktop', desktopId);
    const [a] = await this.db.query('SELECT 1 FROM agents WHERE agent_id = $1', [agentId]);
    if (!a) throw unknown('agent', agentId);
    await this.db.query('INSERT INTO desktop_assignments (desktop_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [desktopId, agentId]);
  }

  async unassign(desktopId: string, agentId: string): Promise<void> {
    const rows = await this.db.query('DELETE FROM desktop_assignments WHERE desktop_id = $1 AND agent_id = $2 RETURNING agent_id', [desktopId, agentId]);
    if (rows.length === 0) throw new VdiguardError('not-found', `agent ${JSON.stringify(agentId)} is not assigned to desktop ${JSON.stringify(desktopId)}`);
  }

  async desktop(desktopId: string): Promise<Desktop | undefined> {
    return (await this.listDesktops()).find((d) => d.desktopId === desktopId);
  }

  /**
   * Changes what is given; the credentials' password stays when `password` is undefined, the
   * username when `username` is. Returns the desktop as it is now.
   */
  async updateDesktop(desktopId: string, change: Partial<Omit<NewDesktop, 'desktopId' | 'credentials'>> & Partial<DesktopCredentials>): Promise<Desktop> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<DesktopRow>('SELECT * FROM desktops WHERE desktop_id = $1 FOR UPDATE', [desktopId]);
      if (!row) throw unknown('desktop', desktopId);
      let credentials = row.credentials;
      if (change.username !== undefined || change.password !== undefined) {
        const old = this.credentialsOf(desktopId, row);
        credentials = this.box.seal('desktop-credentials', JSON.stringify({ username: change.username ?? old.username, password: change.password ?? old.password }));
      }
      await tx.query(
        `UPDATE desktops SET display_name = $2, host = $3, port = $4, security = $5, domain = $6, ignore_cert = $7, cert_fingerprints = $8, credentials = $9
          WHERE desktop_id = $1`,
        [
          desktopId,
          change.displayName ?? row.display_name,
          change.host ?? row.host,
          change.port ?? row.port,
          change.security ?? row.security,
          change.domain ?? row.domain,
          change.ignoreCert ?? row.ignore_cert,
          change.certFingerprints ?? row.cert_fingerprints,
          credentials,
        ],
      );
    });
    return (await this.desktop(desktopId)) as Desktop;
  }

  /** Removes the desktop and its assignments; its sessions' history stays. */
  async removeDesktop(desktopId: string): Promise<void> {
    const rows = await this.db.query('DELETE FROM desktops WHERE desktop_id = $1 RETURNING desktop_id', [desktopId]);
    if (rows.length === 0) throw unknown('desktop', desktopId);
  }

  /** The account name the gateway logs in with (never the password), for the admin's forms. */
  async desktopUsername(desktopId: string): Promise<string | undefined> {
    const [row] = await this.db.query<DesktopRow>('SELECT * FROM desktops WHERE desktop_id = $1', [desktopId]);
    return row && this.credentialsOf(desktopId, row).username;
  }

  async listDesktops(agentId?: string): Promise<Desktop[]> {
    const rows = await this.db.query<DesktopRow>(
      `SELECT d.*, array_remove(array_agg(a.agent_id ORDER BY a.agent_id), NULL) AS agents
         FROM desktops d LEFT JOIN desktop_assignments a ON a.desktop_id = d.desktop_id
        GROUP BY d.desktop_id
       HAVING $1::text IS NULL OR bool_or(a.agent_id = $1)
        ORDER BY d.desktop_id`,
      [agentId ?? null],
    );
    return rows.map(desktopOf);
  }

  /** A desktop the agent may use, with its credentials; undefined when unknown or not assigned. */
  async desktopFor(agentId: string, desktopId: string): Promise<(Desktop & { credentials: DesktopCredentials }) | undefined> {
    const [row] = await this.db.query<DesktopRow>(
      `SELECT d.*, ARRAY[a.agent_id] AS agents FROM desktops d
         JOIN desktop_assignments a ON a.desktop_id = d.desktop_id AND a.agent_id = $1
        WHERE d.desktop_id = $2`,
      [agentId, desktopId],
    );
    if (!row) return undefined;
    return { ...desktopOf(row), credentials: this.credentialsOf(desktopId, row) };
  }

  private credentialsOf(desktopId: string, row: DesktopRow): DesktopCredentials {
    const text = this.box.open('desktop-credentials', row.credentials);
    if (text === undefined) throw new VdiguardError('internal', `the credentials of desktop ${desktopId} do not open with this gateway's key`);
    return JSON.parse(text) as DesktopCredentials;
  }
}

function agentOf(r: AgentRow): Agent {
  return { agentId: r.agent_id, displayName: r.display_name, status: r.status, createdAt: new Date(r.created_at) };
}

function lockOf(r: LockRow): AgentLock {
  return { agentId: r.agent_id, kind: r.kind, trust: Number(r.trust), sessionId: r.session_id, action: r.action, reason: r.reason, lockedAt: new Date(r.locked_at) };
}

function desktopOf(r: DesktopRow): Desktop {
  return {
    desktopId: r.desktop_id,
    displayName: r.display_name,
    host: r.host,
    port: r.port,
    security: r.security,
    domain: r.domain,
    ignoreCert: r.ignore_cert,
    certFingerprints: r.cert_fingerprints,
    agents: r.agents ?? [],
  };
}

function unknown(kind: string, id: string): VdiguardError {
  return new VdiguardError('not-found', `no ${kind} ${JSON.stringify(id)}`);
}
