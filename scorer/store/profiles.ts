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
        return writeVersion(tx, agentId, basedOn + 1, next.state, next.body, reason, this.versionsKept);
      });
      if (written) return written;
      if (attempt >= UPDATE_ATTEMPTS) {
        throw new VdiguardError(
          'unavailable',
          `the profile of agent ${agentId} changed ${attempt} times while this ${reason} was computed; retry when its other updates have finished`,
        );
      }
    }
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
