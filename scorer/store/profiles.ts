/**
 * Versioned agent profiles in PostgreSQL or PGlite. Every change writes a new version inside one
 * transaction that locks the agent's row, so two sessions of the same agent ending together both
 * land, one after the other, each built on the latest version.
 */
import type { Db, Queryable } from '../../lib/db/db.js';
import { VdiguardError } from '../../lib/errors.js';
import { emptyProfile, type ProfileBody, type ProfileState } from '../profile/profile.js';

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

/** A change: from the latest body (null when the agent has none) to the next one and its state. */
export type ProfileChange = (current: ProfileBody | null) => { body: ProfileBody; state: ProfileState };

/** Versions kept per agent; older ones are pruned when a new one is written. */
const VERSIONS_KEPT = 20;

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
  constructor(private readonly db: Db) {}

  async get(agentId: string): Promise<ProfileRecord | null> {
    const rows = await this.db.query<ProfileRow>(
      `SELECT ${SUMMARY_COLUMNS}, v.body FROM profiles p
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
    return this.db.transaction(async (tx) => {
      // Lock the agent's row alone: a lock taken through a join would, after waiting, re-check the
      // locked row but not the joined version, and miss the version the other writer just added.
      await tx.query(
        `INSERT INTO profiles (agent_id, version, state) VALUES ($1, 0, 'enrolling') ON CONFLICT (agent_id) DO NOTHING`,
        [agentId],
      );
      const [locked] = await tx.query<{ version: number }>('SELECT version FROM profiles WHERE agent_id = $1 FOR UPDATE', [agentId]);
      const version = locked?.version ?? 0;
      const [latest] = await tx.query<{ body: ProfileBody }>(
        'SELECT body FROM profile_versions WHERE agent_id = $1 AND version = $2',
        [agentId, version],
      );
      const { body, state } = change(latest?.body ?? null);
      return writeVersion(tx, agentId, version + 1, state, body, reason);
    });
  }

  /** Discards the learned behaviour: the next version is empty and enrolling. */
  async reset(agentId: string): Promise<ProfileRecord> {
    if (!(await this.summary(agentId))) throw unknownAgent(agentId);
    return this.update(agentId, 'reset', () => ({ body: emptyProfile(), state: 'enrolling' }));
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
      return rows[0]?.n ?? 0;
    });
  }
}

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
  await tx.query('DELETE FROM profile_versions WHERE agent_id = $1 AND version <= $2', [agentId, version - VERSIONS_KEPT]);
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
