/**
 * `vdiguard migrate`: brings the database schema up to date and says what it applied. Both services
 * also migrate at start (under an advisory lock); deployments run this once per upgrade instead (the
 * Helm chart's migration Job), so a new schema is in place before new replicas start.
 */
import { ensurePrivateDir } from '../../lib/private-dir.js';
import { join } from 'node:path';
import { connectDb, redactUrl } from '../../lib/db/db.js';
import { migrate } from '../../lib/db/migrate.js';
import { MIGRATIONS } from '../../lib/db/migrations.js';

export interface MigrateResult {
  /** Where: the PostgreSQL URL without its password, or the embedded store's directory. */
  readonly store: string;
  /** The migrations this run applied, in order (empty when the schema was already current). */
  readonly applied: readonly { id: number; name: string }[];
  /** The newest migration this build knows. */
  readonly current: number;
}

export async function runMigrate(settings: { readonly databaseUrl?: string; readonly dataDir: string }): Promise<MigrateResult> {
  const dataDir = join(settings.dataDir, 'store');
  // PGlite creates its own folder but not the data directory above it (the scorer's start-up does).
  if (!settings.databaseUrl) ensurePrivateDir(settings.dataDir);
  const db = await connectDb({ databaseUrl: settings.databaseUrl, dataDir });
  try {
    const ids = await migrate(db);
    return {
      store: settings.databaseUrl ? redactUrl(settings.databaseUrl) : dataDir,
      applied: MIGRATIONS.filter((m) => ids.includes(m.id)).map(({ id, name }) => ({ id, name })),
      current: MIGRATIONS.at(-1)?.id ?? 0,
    };
  } finally {
    await db.close();
  }
}

/** What `vdiguard migrate` prints. */
export function formatMigrate(r: MigrateResult): string {
  if (r.applied.length === 0) return `schema of ${r.store} is current (migration ${r.current}); nothing applied`;
  const lines = r.applied.map((m) => `applied migration ${m.id}: ${m.name}`);
  return [...lines, `schema of ${r.store} is now at migration ${r.current}`].join('\n');
}
