/**
 * The one query interface both services use, over PostgreSQL (`pg`) in production or PGlite
 * (PostgreSQL in WebAssembly, in process) as the embedded default. Same SQL, same migrations.
 */
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { VdiguardError } from '../errors.js';
import { migrate } from './migrate.js';
import { ensurePrivateDir, restrictTree } from '../private-dir.js';

export interface Queryable {
  /** Runs one statement with $1.. parameters and returns its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres:// URL; when absent the embedded PGlite store is used. */
  readonly databaseUrl?: string;
  /** PGlite data directory; absent means in memory (tests). */
  readonly dataDir?: string;
}

/** Opens the store and brings its schema up to date. */
export async function openDb(options: DbOptions): Promise<Db> {
  const db = await connectDb(options);
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/** Opens the store as it is, without migrating it (`vdiguard migrate` migrates and reports). */
export async function connectDb(options: DbOptions): Promise<Db> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(options.dataDir);
}

/** A URL safe to print: the password is replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function unavailable(where: string, err: unknown): VdiguardError {
  const detail = err instanceof Error ? err.message : String(err);
  return new VdiguardError(
    'unavailable',
    `database ${where} is unavailable (${detail}); check that it runs and that DATABASE_URL is right`,
    { cause: err },
  );
}

/** True for errors that mean "the database could not be reached", as opposed to a bad statement. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof VdiguardError) return err.code === 'unavailable';
  const code = (err as { code?: string } | null)?.code ?? '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|57P0[1-3]|08\d\d\d)$/.test(code) ||
    // pg-pool's words when no connection came free in time: the database is too busy or away.
    /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test((err as Error)?.message ?? '');
}

async function openPostgres(url: string): Promise<Db> {
  const where = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const run = async <R>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]): Promise<R[]> => {
    try {
      const result = await client.query(sql, params as unknown[] | undefined);
      return result.rows as R[];
    } catch (err) {
      throw isConnectionError(err) ? unavailable(where, err) : err;
    }
  };
  try {
    await run(pool, 'SELECT 1');
  } catch (err) {
    await pool.end();
    throw err;
  }
  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw unavailable(where, err);
      }
      try {
        await client.query('BEGIN');
        const value = await fn({ query: (sql, params) => run(client, sql, params) });
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir: string | undefined): Promise<Db> {
  let lite: PGlite;
  // A command run before anything else (`vdiguard train`, `migrate`) may be the first to use the
  // data directory. The store holds password hashes: refused when others can read it (before
  // PGlite's "cannot open" below could hide why).
  if (dataDir !== undefined) ensurePrivateDir(dataDir);
  try {
    lite = await PGlite.create(dataDir);
  } catch (err) {
    throw new VdiguardError(
      'unavailable',
      `cannot open the embedded store in ${dataDir ?? 'memory'} (${(err as Error).message}); ` +
        'is another vdiguard process using that data directory?',
      { cause: err },
    );
  }
  // Files PGlite creates later are as open as these, but inside a directory only the owner enters.
  if (dataDir !== undefined) restrictTree(dataDir);
  const run = async <R>(q: Pick<PGlite, 'query'>, sql: string, params?: readonly unknown[]): Promise<R[]> =>
    (await q.query<R>(sql, params as unknown[] | undefined)).rows;
  return {
    kind: 'pglite',
    query: (sql, params) => run(lite, sql, params),
    transaction: (fn) => lite.transaction((tx) => fn({ query: (sql, params) => run(tx, sql, params) })),
    close: () => lite.close(),
  };
}
