/**
 * Versioned population networks in PostgreSQL or PGlite: what `vdiguard train` learned from the
 * deployment's own enrolled agents, read by every scorer replica when it starts. Every training
 * is a new version; templates record the version they were fitted with, so a scorer never scores
 * a template with a network it was not made for.
 */
import type { Db } from '../../lib/db/db.js';
import type { TfModelJson } from '../models/tf/artifacts.js';

export interface PopulationModelRecord {
  readonly name: string;
  readonly version: number;
  readonly createdAt: Date;
  /** Agents whose enrolled behaviour trained it. */
  readonly agents: number;
  /** What training measured (loss, sizes), for operators. */
  readonly summary: Record<string, unknown>;
  readonly artifacts: TfModelJson;
}

interface Row {
  name: string;
  version: number;
  created_at: Date;
  agents: number;
  summary: Record<string, unknown>;
  artifacts?: TfModelJson;
}

/** Versions kept per network; older ones are pruned when a new one is saved. */
const VERSIONS_KEPT = 5;

export class PopulationModelStore {
  constructor(private readonly db: Db) {}

  /** Saves a new version of `name` (1 for the first) and prunes beyond the versions kept. */
  async save(name: string, agents: number, summary: Record<string, unknown>, artifacts: TfModelJson): Promise<PopulationModelRecord> {
    return this.db.transaction(async (tx) => {
      // Serialises concurrent trainings of one network on its name, so versions never collide.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`population_models:${name}`]);
      const [latest] = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM population_models WHERE name = $1', [name]);
      const version = (latest?.version ?? 0) + 1;
      const [row] = await tx.query<Row>(
        `INSERT INTO population_models (name, version, agents, summary, artifacts) VALUES ($1, $2, $3, $4, $5)
         RETURNING name, version, created_at, agents, summary`,
        [name, version, agents, JSON.stringify(summary), JSON.stringify(artifacts)],
      );
      await tx.query('DELETE FROM population_models WHERE name = $1 AND version <= $2', [name, version - VERSIONS_KEPT]);
      return toRecord({ ...(row as Row), artifacts });
    });
  }

  /** The newest version of `name`, or null when it was never trained. */
  async latest(name: string): Promise<PopulationModelRecord | null> {
    const rows = await this.db.query<Row>(
      'SELECT name, version, created_at, agents, summary, artifacts FROM population_models WHERE name = $1 ORDER BY version DESC LIMIT 1',
      [name],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Every kept version, newest first, without the artifacts. */
  async list(): Promise<Omit<PopulationModelRecord, 'artifacts'>[]> {
    const rows = await this.db.query<Row>('SELECT name, version, created_at, agents, summary FROM population_models ORDER BY name, version DESC');
    return rows.map(({ name, version, created_at, agents, summary }) => ({ name, version, createdAt: created_at, agents, summary }));
  }
}

function toRecord(r: Row): PopulationModelRecord {
  return { name: r.name, version: r.version, createdAt: new Date(r.created_at), agents: r.agents, summary: r.summary, artifacts: r.artifacts as TfModelJson };
}
