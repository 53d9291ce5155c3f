import { describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { TEST_STORES, createTestDatabase } from '../testing/databases.js';
import { migrate } from './migrate.js';
import { MIGRATIONS } from './migrations.js';
import { openDb, redactUrl } from './db.js';
import { VdiguardError } from '../errors.js';

for (const store of TEST_STORES) {
  describe(`store on ${store.name}`, { skip: store.skip }, () => {
    test('migrations create the schema once; running them again applies nothing', async () => {
      const { db, drop } = await store.create();
      try {
        const rows = await db.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
        assert.deepEqual(rows.map((r) => r.id), MIGRATIONS.map((m) => m.id));
        assert.deepEqual(await migrate(db), []);
      } finally {
        await drop();
      }
    });

    test('a transaction that throws leaves nothing behind', async () => {
      const { db, drop } = await store.create();
      try {
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query(`INSERT INTO profiles (agent_id, version, state) VALUES ('a', 1, 'enrolling')`);
            throw new Error('abort');
          }),
          /abort/,
        );
        assert.equal((await db.query('SELECT * FROM profiles')).length, 0);
        await db.transaction((tx) => tx.query(`INSERT INTO profiles (agent_id, version, state) VALUES ('a', 1, 'enrolling')`));
        assert.equal((await db.query('SELECT * FROM profiles')).length, 1);
      } finally {
        await drop();
      }
    });
  });
}

describe('postgres start-up', { skip: TEST_STORES[1]!.skip }, () => {
  test('replicas migrating at the same moment do not race', async () => {
    const { url, dropDatabase } = await createTestDatabase();
    try {
      const dbs = await Promise.all([1, 2, 3].map(() => openDb({ databaseUrl: url })));
      const rows = await dbs[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      assert.equal(rows[0]!.n, MIGRATIONS.length);
      await Promise.all(dbs.map((d) => d.close()));
    } finally {
      await dropDatabase();
    }
  });
});

test('an unreachable PostgreSQL gives an unavailable error that names the URL without its password', async () => {
  await assert.rejects(openDb({ databaseUrl: 'postgres://u:s3cret@127.0.0.1:1/x' }), (err: unknown) => {
    assert.ok(err instanceof VdiguardError);
    assert.equal(err.code, 'unavailable');
    assert.match(err.message, /127\.0\.0\.1:1/);
    assert.doesNotMatch(err.message, /s3cret/);
    return true;
  });
  assert.equal(redactUrl('postgres://u:pw@h/db'), 'postgres://u:***@h/db');
});

test('the embedded store creates its data directory when it is the first to use it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vdiguard-db-'));
  try {
    const db = await openDb({ dataDir: join(root, 'not-yet', 'store') });
    try {
      assert.deepEqual(await db.query<{ one: number }>('SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await db.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
