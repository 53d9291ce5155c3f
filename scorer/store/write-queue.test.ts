import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, TEST_STORES } from '../../lib/testing/databases.js';
import { startTcpProxy } from '../../lib/testing/tcp-proxy.js';
import { openDb } from '../../lib/db/db.js';
import { pino } from 'pino';
import { silentLogger } from '../../lib/log.js';
import { VdiguardError } from '../../lib/errors.js';
import { AuditLog } from './audit.js';
import { WriteQueue } from './write-queue.js';

const options = { log: silentLogger(), maxPending: 100, initialDelayMs: 20, maxDelayMs: 200 };

describe('writes during a database outage', { skip: TEST_STORES[1]!.skip }, () => {
  test('are retried in order and land once PostgreSQL is reachable again', async () => {
    const { url, dropDatabase } = await createTestDatabase();
    const target = new URL(url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const db = await openDb({ databaseUrl: viaProxy.toString() });
    const audit = new AuditLog(db);
    const queue = new WriteQueue(options);
    try {
      proxy.cut();
      const startedAt = new Date();
      for (const id of ['s1', 's2', 's3']) {
        queue.enqueue(`session ${id}`, () => audit.sessionStarted({ sessionId: id, agentId: 'a', desktopId: 'd', clientAddress: '', startedAt }));
      }
      assert.equal(await queue.drain(300), false, 'nothing can land while the database is cut off');
      assert.equal(queue.pending, 3);
      proxy.restore();
      assert.equal(await queue.drain(5000), true);
      const rows = await db.query<{ session_id: string }>('SELECT session_id FROM sessions ORDER BY started_at, session_id');
      assert.deepEqual(rows.map((r) => r.session_id), ['s1', 's2', 's3']);
    } finally {
      queue.close();
      await db.close();
      await proxy.close();
      await dropDatabase();
    }
  });
});

test('a write the database rejects is reported and does not block the ones after it', async () => {
  const queue = new WriteQueue(options);
  const landed: string[] = [];
  queue.enqueue('bad', () => Promise.reject(Object.assign(new Error('syntax error'), { code: '42601' })));
  queue.enqueue('good', async () => void landed.push('good'));
  assert.equal(await queue.drain(1000), true);
  assert.deepEqual(landed, ['good']);
});

test('a full queue drops its oldest write and counts it', async () => {
  const queue = new WriteQueue({ ...options, maxPending: 3 });
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  const landed: string[] = [];
  queue.enqueue('first', () => blocked.then(() => void landed.push('first')));
  for (const label of ['a', 'b', 'c']) queue.enqueue(label, async () => void landed.push(label));
  release();
  assert.equal(await queue.drain(1000), true);
  assert.equal(queue.dropped, 1);
  assert.deepEqual(landed, ['first', 'b', 'c']);
});

test('closing reports the unwritten writes once; one that fails after the close is not retried', async () => {
  const lines: { msg: string; writes?: string[] }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const queue = new WriteQueue({ ...options, log });
  let fail!: () => void;
  const running = new Promise<void>((_, reject) => (fail = () => reject(new VdiguardError('unavailable', 'the fit pool was closed'))));
  queue.enqueue('in flight', () => running);
  queue.enqueue('behind it', async () => undefined);
  queue.close();
  fail();
  await new Promise((resolve) => setTimeout(resolve, options.initialDelayMs * 3));
  assert.deepEqual(lines.map((l) => l.msg), ['shutting down with unwritten records']);
  assert.deepEqual(lines[0]!.writes, ['in flight', 'behind it']);
});
