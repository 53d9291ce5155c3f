import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MIGRATIONS } from '../../lib/db/migrations.js';
import { TEST_STORES, createTestDatabase } from '../../lib/testing/databases.js';
import { formatMigrate, runMigrate } from './migrate.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url));
const last = MIGRATIONS.at(-1)!.id;

describe('vdiguard migrate', () => {
  test('applies every migration to a new embedded store, then nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdiguard-migrate-'));
    try {
      const first = await runMigrate({ dataDir: dir });
      assert.deepEqual(first.applied.map((m) => m.id), MIGRATIONS.map((m) => m.id));
      assert.equal(first.current, last);
      assert.match(formatMigrate(first), new RegExp(`applied migration 1: ${MIGRATIONS[0]!.name}`));
      const again = await runMigrate({ dataDir: dir });
      assert.deepEqual(again.applied, []);
      assert.match(formatMigrate(again), /is current .*nothing applied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('creates the data directory of a new embedded store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdiguard-migrate-new-'));
    try {
      const result = await runMigrate({ dataDir: join(dir, 'not', 'there', 'yet') });
      assert.equal(result.applied.length, MIGRATIONS.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the command prints what it applied and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdiguard-migrate-cli-'));
    const env = { ...process.env, DATABASE_URL: '' };
    try {
      const first = await run(process.execPath, [CLI, 'migrate', '--data', dir], { env });
      assert.match(first.stdout, /applied migration 1:/);
      assert.match(first.stdout, new RegExp(`now at migration ${last}`));
      const again = await run(process.execPath, [CLI, 'migrate', '--data', dir], { env });
      assert.match(again.stdout, /nothing applied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad DATABASE_URL is a configuration error (exit 2) that does not print the password', async () => {
    const env = { ...process.env, DATABASE_URL: 'mysql://u:s3cret@h/db' };
    await assert.rejects(run(process.execPath, [CLI, 'migrate'], { env }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /DATABASE_URL/);
      assert.doesNotMatch(err.stderr, /s3cret/);
      return true;
    });
  });

  test('on PostgreSQL it reports the URL without its password', { skip: TEST_STORES[1]!.skip }, async () => {
    const { url, dropDatabase } = await createTestDatabase();
    try {
      const withPassword = new URL(url);
      const first = await runMigrate({ databaseUrl: url, dataDir: '/nonexistent' });
      assert.equal(first.applied.length, MIGRATIONS.length);
      if (withPassword.password) assert.doesNotMatch(first.store, new RegExp(withPassword.password));
      assert.deepEqual((await runMigrate({ databaseUrl: url, dataDir: '/nonexistent' })).applied, []);
    } finally {
      await dropDatabase();
    }
  });
});
