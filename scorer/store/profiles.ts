/**
 * Versioned agent profiles in PostgreSQL or PGlite. A change is computed from the latest version
 * outside any transaction (it fits model templates, which takes seconds), then written as the next
 * version inside one short transaction that locks the agent's row and checks that no other writer
 * got there first; if one did, the change is computed again on the newer version. So two sessions
 * of the same agent ending together both land, each built on the latest version, and no row lock
 * or connection is held while a template fits.
 */
import type { Db, Queryable } from '../../lib/db/db.js';
import { VdiguardError } from '../../lib/errors.js';
import { emptyProfile, type Modality, type ProfileBody, type ProfileState } from '../profile/profile.js';

export interface ProfileRecord {
  readonly agentId: string;
  readonly version: number;
  readonly state: ProfileState;
  readonly keystrokes: number;
  readonly mouseActions: number;
  readonly updatedAt: Date;
  readonly body: ProfileBody;
}

export type ProfileSummary = Omit<ProfileRecord, 'body'>;

/** Windows of one modality that a session adds to its agent's profile, with the behaviour they cover. */
export interface ModalityWindows {
  readonly windows: number[][];
  readonly units: number;
}

/**
 * What a session adds to its agent's profile, stored until a scorer applies it as a new version.
 * `id` is chosen when it is made, so writing it again is harmless.
 */
export interface ProfileContribution {
  readonly id: string;
  readonly agentId: string;
  readonly sessionId: string;
  /** Why the profile changes: 'enrolment' or 'adaptation'. */
  readonly reason: string;
  readonly added: Partial<Record<Modality, ModalityWindows>>;
  /**
   * A part written while its session is live: not applied until the session ends and closes its
   * parts (closeContributions). Unset: a whole session's, applicable at once.
   */
  readonly open?: boolean;
}

/**
 * A change: from the latest body (null when the agent has none) to the next one and its state.
 * It may run more than once (once per version it lost a race to), so it must not have effects.
 */
export type ProfileChange = (current: ProfileBody | null) => ProfileNext | Promise<ProfileNext>;

export interface ProfileNext {
  readonly body: ProfileBody;
  readonly state: ProfileState;
}

/** Attempts before an update whose agent keeps changing under it gives up. */
const UPDATE_ATTEMPTS = 20;

/** Versions kept per agent unless configured; older ones are pruned when a new one is written. */
export const DEFAULT_VERSIONS_KEPT = 5;

interface ProfileRow {
  agent_id: string;
  version: number;
  state: ProfileState;
  keystrokes: number;
  mouse_actions: number;
  updated_at: Date;
  body?: ProfileBody;
}

const SUMMARY_COLUMNS = 'p.agent_id, p.version, p.state, p.keystrokes, p.mouse_actions, p.updated_at';

export class ProfileStore {
  /** `versionsKept`: versions kept per agent (the latest included), for rollback and audit. */
  constructor(
    private readonly db: Db,
    private readonly versionsKept = DEFAULT_VERSIONS_KEPT,
  ) {}

  async get(agentId: string): Promise<ProfileRecord | null> {
    const rows = await this.db.query<ProfileRow>(
      `SELECT ${SUMMARY_COLUMNS}, v.body FROM profiles p
         JOIN profile_versions v ON v.agent_id = p.agent_id AND v.version = p.version
        WHERE p.agent_id = $1`,
      [agentId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * The agent's latest version as a session scores with it: templates and counts, without the
   * windows (up to VDIGUARD_PROFILE_WINDOWS per modality, megabytes for a mature profile), which
   * only a refit needs. Every live session holds one of these, so they are left in the database.
   */
  async forScoring(agentId: string): Promise<ProfileRecord | null> {
    const rows = await this.db.query<ProfileRow>(
      `SELECT ${SUMMARY_COLUMNS}, jsonb_set(jsonb_set(v.body, '{keystroke,windows}', '[]'), '{mouse,windows}', '[]') AS body FROM profiles p
         JOIN profile_versions v ON v.agent_id = p.agent_id AND v.version = p.version
        WHERE p.agent_id = $1`,
      [agentId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async summary(agentId: string): Promise<ProfileSummary | null> {
    const rows = await this.db.query<ProfileRow>(`SELECT ${SUMMARY_COLUMNS} FROM profiles p WHERE p.agent_id = $1`, [agentId]);
    return rows[0] ? toSummary(rows[0]) : null;
  }

  async list(): Promise<ProfileSummary[]> {
    const rows = await this.db.query<ProfileRow>(`SELECT ${SUMMARY_COLUMNS} FROM profiles p ORDER BY p.agent_id`);
    return rows.map(toSummary);
  }

  /** Applies `change` to the latest version and stores the result as the next version. */
  async update(agentId: string, reason: string, change: ProfileChange): Promise<ProfileRecord> {
    return (await this.write(agentId, reason, change)) as ProfileRecord;
  }

  /**
   * update(), with `alsoWrite` run in the version's transaction: when it returns false the
   * transaction is rolled back and the result is null.
   */
  private async write(
    agentId: string,
    reason: string,
    change: ProfileChange,
    alsoWrite?: (tx: Queryable, version: number) => Promise<boolean>,
  ): Promise<ProfileRecord | null> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(agentId);
      const basedOn = current?.version ?? 0;
      const next = await change(current?.body ?? null);
      const written = await this.db.transaction(async (tx) => {
        // Lock the agent's row alone: a lock taken through a join would, after waiting, re-check the
        // locked row but not the joined version, and miss the version the other writer just added.
        await tx.query(
          `INSERT INTO profiles (agent_id, version, state) VALUES ($1, 0, 'enrolling') ON CONFLICT (agent_id) DO NOTHING`,
          [agentId],
        );
        const [locked] = await tx.query<{ version: number }>('SELECT version FROM profiles WHERE agent_id = $1 FOR UPDATE', [agentId]);
        if ((locked?.version ?? 0) !== basedOn) return null;
        const record = await writeVersion(tx, agentId, basedOn + 1, next.state, next.body, reason, this.versionsKept);
        if (alsoWrite && !(await alsoWrite(tx, record.version))) throw new ContributionsTaken();
        return record;
      }).catch((err: unknown) => {
        if (err instanceof ContributionsTaken) return 'taken' as const;
        throw err;
      });
      if (written === 'taken') return null;
      if (written) return written;
      if (attempt >= UPDATE_ATTEMPTS) {
        throw new VdiguardError(
          'unavailable',
          `the profile of agent ${agentId} changed ${attempt} times while this ${reason} was computed; retry when its other updates have finished`,
        );
      }
    }
  }

  /**
   * Stores a contribution to be applied later; one already stored (same id) is left as it is.
   * `on`: a transaction to write it in (a batch of records), else the store's database.
   */
  async addContribution(c: ProfileContribution, on: Queryable = this.db): Promise<void> {
    await on.query(
      `INSERT INTO profile_contributions (id, agent_id, session_id, reason, body, open) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
      [c.id, c.agentId, c.sessionId, c.reason, JSON.stringify(c.added), c.open === true],
    );
  }

  /**
   * The session ended: its open parts become applicable, or are deleted when `withdraw` (what it
   * gathered must not reach the profile). Returns how many parts it closed or deleted. `on` as for
   * addContribution.
   */
  async closeContributions(sessionId: string, withdraw: boolean, on: Queryable = this.db): Promise<number> {
    const rows = withdraw
      ? await on.query('DELETE FROM profile_contributions WHERE session_id = $1 AND open RETURNING id', [sessionId])
      : await on.query('UPDATE profile_contributions SET open = false WHERE session_id = $1 AND open RETURNING id', [sessionId]);
    return rows.length;
  }

  /**
   * Closes the parts of sessions that wrote none since `before`: their session was lost with its
   * scorer and gateway, and what they hold is the agent's behaviour up to then.
   */
  async closeOrphanedContributions(before: Date): Promise<number> {
    const rows = await this.db.query(
      `UPDATE profile_contributions SET open = false WHERE open AND session_id IN (
         SELECT session_id FROM profile_contributions WHERE open GROUP BY session_id HAVING max(created_at) < $1)
       RETURNING id`,
      [before],
    );
    return rows.length;
  }

  /** The agent's contributions not applied yet, oldest first. */
  async pendingContributions(agentId: string): Promise<ProfileContribution[]> {
    const rows = await this.db.query<{ id: string; agent_id: string; session_id: string; reason: string; body: ProfileContribution['added'] }>(
      `SELECT id, agent_id, session_id, reason, body FROM profile_contributions
        WHERE agent_id = $1 AND applied_version IS NULL AND NOT open ORDER BY created_at, id`,
      [agentId],
    );
    return rows.map((r) => ({ id: r.id, agentId: r.agent_id, sessionId: r.session_id, reason: r.reason, added: r.body }));
  }

  /** Agents with contributions not applied yet, and how many each has. */
  async agentsWithPendingContributions(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ agent_id: string; n: number }>(
      'SELECT agent_id, count(*)::int AS n FROM profile_contributions WHERE applied_version IS NULL AND NOT open GROUP BY agent_id ORDER BY agent_id',
    );
    return new Map(rows.map((r) => [r.agent_id, r.n]));
  }

  /**
   * Applies `contributions` (one agent's, from pendingContributions) through `change` as the next
   * version, and marks them applied in the same transaction. Null when another writer applied any
   * of them first: read the pending ones again.
   */
  async applyContributions(agentId: string, contributions: readonly ProfileContribution[], change: ProfileChange): Promise<ProfileRecord | null> {
    const ids = contributions.map((c) => c.id);
    return this.write(agentId, reasonOf(contributions), change, async (tx, version) => {
      // Applied, a contribution's windows are in the version: its row only has to recognise a replay.
      const marked = await tx.query(
        `UPDATE profile_contributions SET applied_version = $2, body = '{}' WHERE id = ANY($1) AND applied_version IS NULL RETURNING id`,
        [ids, version],
      );
      return marked.length === ids.length;
    });
  }

  /** Forgets contributions applied and made before `before` (kept until then to recognise a replay). */
  async pruneContributions(before: Date): Promise<void> {
    await this.db.query('DELETE FROM profile_contributions WHERE applied_version IS NOT NULL AND created_at < $1', [before]);
  }

  /** Discards the learned behaviour: the next version is empty and enrolling. */
  async reset(agentId: string): Promise<ProfileRecord> {
    if (!(await this.summary(agentId))) throw unknownAgent(agentId);
    // Contributions still waiting are behaviour from before the reset: settled by it, never applied.
    const reset = await this.write(agentId, 'reset', () => ({ body: emptyProfile(), state: 'enrolling' }), async (tx, version) => {
      await tx.query(`UPDATE profile_contributions SET applied_version = $2, body = '{}' WHERE agent_id = $1 AND applied_version IS NULL`, [agentId, version]);
      return true;
    });
    return reset as ProfileRecord;
  }

  /** Removes the profile and all its versions; returns how many versions there were. */
  async delete(agentId: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM profile_versions WHERE agent_id = $1',
        [agentId],
      );
      const deleted = await tx.query('DELETE FROM profiles WHERE agent_id = $1 RETURNING agent_id', [agentId]);
      if (deleted.length === 0) throw unknownAgent(agentId);
      await tx.query('DELETE FROM profile_contributions WHERE agent_id = $1', [agentId]);
      return rows[0]?.n ?? 0;
    });
  }
}

/** Why a version made of `contributions` changed the profile: their reasons, each once. */
export function reasonOf(contributions: readonly ProfileContribution[]): string {
  return [...new Set(contributions.map((c) => c.reason))].join(', ');
}

/** Rolls back a version whose contributions another writer applied first. */
class ContributionsTaken extends Error {}

export function unknownAgent(agentId: string): VdiguardError {
  return new VdiguardError(
    'not-found',
    `no profile for agent ${JSON.stringify(agentId)}; list the known agents with ListProfiles`,
  );
}

async function writeVersion(
  tx: Queryable,
  agentId: string,
  version: number,
  state: ProfileState,
  body: ProfileBody,
  reason: string,
  versionsKept: number,
): Promise<ProfileRecord> {
  const keystrokes = body.keystroke.units;
  const mouseActions = body.mouse.units;
  const rows = await tx.query<ProfileRow>(
    `UPDATE profiles SET version = $2, state = $3, keystrokes = $4, mouse_actions = $5, updated_at = now()
      WHERE agent_id = $1 RETURNING ${SUMMARY_COLUMNS.replaceAll('p.', '')}`,
    [agentId, version, state, keystrokes, mouseActions],
  );
  await tx.query('INSERT INTO profile_versions (agent_id, version, reason, body) VALUES ($1, $2, $3, $4)', [
    agentId,
    version,
    reason,
    JSON.stringify(body),
  ]);
  await tx.query('DELETE FROM profile_versions WHERE agent_id = $1 AND version <= $2', [agentId, version - versionsKept]);
  return { ...toSummary(rows[0] as ProfileRow), body };
}

function toSummary(row: ProfileRow): ProfileSummary {
  return {
    agentId: row.agent_id,
    version: row.version,
    state: row.state,
    keystrokes: row.keystrokes,
    mouseActions: row.mouse_actions,
    updatedAt: new Date(row.updated_at),
  };
}

function toRecord(row: ProfileRow): ProfileRecord {
  return { ...toSummary(row), body: row.body as ProfileBody };
}
