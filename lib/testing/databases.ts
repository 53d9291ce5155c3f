/**
 * The stores every storage test runs on: PGlite always, and a real PostgreSQL server when
 * VDIGUARD_TEST_DATABASE_URL names one (CI sets it). Each PostgreSQL test gets a database of its own,
 * created from that URL and dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, type Db } from '../db/db.js';

export interface TestStore {
  readonly name: 'pglite' | 'postgres';
  /** Why it is skipped, when it is. */
  readonly skip: string | false;
  /** A fresh, migrated, empty store, plus the URL of a PostgreSQL one. */
  create(): Promise<{ db: Db; url?: string; drop(): Promise<void> }>;
}

const adminUrl = process.env.VDIGUARD_TEST_DATABASE_URL;

export const TEST_STORES: readonly TestStore[] = [
  {
    name: 'pglite',
    skip: false,
    async create() {
      const db = await openDb({});
      return { db, drop: () => db.close() };
    },
  },
  {
    name: 'postgres',
    skip: adminUrl ? false : 'set VDIGUARD_TEST_DATABASE_URL to run against PostgreSQL (.ci/run does)',
    async create() {
      const { url, dropDatabase } = await createTestDatabase();
      const db = await openDb({ databaseUrl: url });
      return {
        db,
        url,
        async drop() {
          await db.close().catch(() => undefined);
          await dropDatabase();
        },
      };
    },
  },
];

/** How many rows `sql` returns. */
export async function countRows(db: Db, sql: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) AS t`);
  return row?.n ?? 0;
}

/**
 * Creates an empty database on the test server (or the server of `serverUrl`, whose user may
 * create databases) and returns its URL.
 */
export async function createTestDatabase(serverUrl = adminUrl, prefix = 'vdiguard_test'): Promise<{ url: string; dropDatabase(): Promise<void> }> {
  if (!serverUrl) throw new Error('VDIGUARD_TEST_DATABASE_URL is not set');
  const server = serverUrl;
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async dropDatabase() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
