/**
 * Applies the schema migrations in order, each in its own transaction, under an advisory lock so
 * that replicas starting together never race: the first applies, the others wait and find nothing
 * left to do.
 */
import type { Db } from './db.js';
import { MIGRATIONS } from './migrations.js';

// Any constant works; it only has to be the same for every replica.
const MIGRATION_LOCK = 0x76646967; // "vdig"

export async function migrate(db: Db): Promise<number[]> {
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      // Inside the lock: even CREATE TABLE IF NOT EXISTS fails when two sessions run it at once.
      await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        id integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const rows = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
      if (rows.length > 0) return false;
      for (const statement of m.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      return true;
    });
    if (done) applied.push(m.id);
  }
  return applied;
}
