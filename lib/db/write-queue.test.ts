import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TEST_STORES } from '../testing/databases.js';
import { startTcpProxy } from '../testing/tcp-proxy.js';
import { openDb, type Queryable } from './db.js';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../log.js';
import { VdiguardError } from '../errors.js';
import { WriteQueue, type WriteQueueOptions } from './write-queue.js';
import { Spill } from './spill.js';

/** A record of these tests: a name, and when it was made (to see dates survive the spill). */
interface Note {
  readonly name: string;
  readonly madeAt: Date;
}

const isNote = (v: unknown): v is Note => typeof (v as Note)?.name === 'string' && (v as Note).madeAt instanceof Date;
const note = (name: string): Note => ({ name, madeAt: new Date('2026-12-04T10:00:00.000Z') });

function queueOf(write: (n: Note) => Promise<unknown>, more: Partial<WriteQueueOptions<Note>> = {}): WriteQueue<Note> {
  return new WriteQueue<Note>({ log: silentLogger(), maxPending: 100, initialDelayMs: 20, maxDelayMs: 200, write, label: (n) => n.name, ...more });
}

/** A log that keeps its lines. */
function keptLog(): { log: Logger; lines: { msg: string; [k: string]: unknown }[] } {
  const lines: { msg: string }[] = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }), lines };
}

describe('writes during a database outage', { skip: TEST_STORES[1]!.skip }, () => {
  test('are retried in order and land once PostgreSQL is reachable again', async () => {
    const { url, dropDatabase } = await createTestDatabase();
    const target = new URL(url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const db = await openDb({ databaseUrl: viaProxy.toString() });
    const queue = queueOf((n) =>
      db.query(`INSERT INTO sessions (session_id, agent_id, desktop_id, client_address, started_at) VALUES ($1, 'a', 'd', '', $2)`, [n.name, n.madeAt]),
    );
    try {
      proxy.cut();
      for (const id of ['s1', 's2', 's3']) queue.enqueue(note(id));
      assert.equal(await queue.drain(300), false, 'nothing can land while the database is cut off');
      assert.equal(queue.pending, 3);
      proxy.restore();
      assert.equal(await queue.drain(5000), true);
      const rows = await db.query<{ session_id: string }>('SELECT session_id FROM sessions ORDER BY session_id');
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
  const landed: string[] = [];
  const queue = queueOf(async (n) => {
    if (n.name === 'bad') throw Object.assign(new Error('syntax error'), { code: '42601' });
    landed.push(n.name);
  });
  queue.enqueue(note('bad'));
  queue.enqueue(note('good'));
  assert.equal(await queue.drain(1000), true);
  assert.deepEqual(landed, ['good']);
});

test('a full queue drops its oldest write and counts it', async () => {
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  const landed: string[] = [];
  const queue = queueOf(async (n) => {
    if (n.name === 'first') await blocked;
    landed.push(n.name);
  }, { maxPending: 3 });
  for (const name of ['first', 'a', 'b', 'c']) queue.enqueue(note(name));
  release();
  assert.equal(await queue.drain(1000), true);
  assert.equal(queue.dropped, 1);
  assert.deepEqual(landed, ['first', 'b', 'c']);
});

test('without a spill, closing reports the unwritten records once; one that fails after the close is not retried', async () => {
  const { log, lines } = keptLog();
  let fail!: () => void;
  const running = new Promise<void>((_, reject) => (fail = () => reject(new VdiguardError('unavailable', 'the fit pool was closed'))));
  const queue = queueOf((n) => (n.name === 'in flight' ? running : Promise.resolve()), { log });
  queue.enqueue(note('in flight'));
  queue.enqueue(note('behind it'));
  assert.deepEqual(queue.close(), { unwritten: 2 });
  fail();
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(lines.map((l) => l.msg), ['shutting down with unwritten records']);
  assert.deepEqual(lines[0]!.writes, ['in flight', 'behind it']);
});

test('closing spills the unwritten records, the record in flight among them; the next start writes them first, then forgets the file', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'vdiguard-spill-')), 'spill');
  const spill = new Spill({ dir, queue: 'notes', isRecord: isNote });
  const first = queueOf(() => new Promise<never>(() => undefined), { spill });
  for (const name of ['n1', 'n2', 'n3']) first.enqueue(note(name));
  const closed = first.close();
  assert.equal(closed.unwritten, 3);
  assert.ok(closed.spilledTo?.startsWith(dir));
  assert.deepEqual(readdirSync(dir), [closed.spilledTo!.slice(dir.length + 1)]);

  const written: Note[] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const next = queueOf(async (n) => {
    await held;
    written.push(n);
  }, { spill });
  assert.equal(next.recover(), 3);
  next.enqueue(note('new'));
  release();
  assert.equal(await next.drain(1000), true);
  assert.deepEqual(written, [note('n1'), note('n2'), note('n3'), note('new')], 'the spilled records, dates and all, before the new one');
  assert.deepEqual(readdirSync(dir), [], 'the spill file goes once its records are written');
});

test('a process that stops again before its recovered records are written spills them anew, and the old file goes', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'vdiguard-spill-')), 'spill');
  const spill = new Spill({ dir, queue: 'notes', isRecord: isNote });
  const never = (): Promise<never> => new Promise<never>(() => undefined);
  const first = queueOf(never, { spill });
  first.enqueue(note('n1'));
  first.close();
  const second = queueOf(never, { spill });
  second.recover();
  second.enqueue(note('n2'));
  const { spilledTo } = second.close();
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  assert.equal(join(dir, files[0]!), spilledTo);
  assert.deepEqual(new Spill({ dir, queue: 'notes', isRecord: isNote }).load().records, [note('n1'), note('n2')]);
});

test('a damaged spill file: the records before the damage are recovered, the file is kept as .bad, and the error says what to do', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'vdiguard-spill-')), 'spill');
  const spill = new Spill({ dir, queue: 'notes', isRecord: isNote });
  const file = spill.save([note('a'), note('b'), note('c')]);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.slice(0, text.lastIndexOf('"name":"c"') + 4));
  const { log, lines } = keptLog();
  const written: string[] = [];
  const queue = queueOf(async (n) => void written.push(n.name), { spill, log });
  assert.equal(queue.recover(), 2);
  assert.equal(await queue.drain(1000), true);
  assert.deepEqual(written, ['a', 'b']);
  assert.deepEqual(readdirSync(dir), [`${file.slice(dir.length + 1)}.bad`]);
  const problem = lines.find((l) => l.msg === 'spill file damaged: some records could not be recovered')?.problem as string;
  assert.match(problem, /line 4 is not JSON \(the file is truncated or damaged\); the 2 records before it were recovered, and the file is kept as .*\.bad: restore what it holds by hand/);
});

test('a spill file cut short between records is told apart by its header count; a half-written one (.partial) and other queues are not read', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'vdiguard-spill-')), 'spill');
  const spill = new Spill({ dir, queue: 'notes', isRecord: isNote });
  const file = spill.save([note('a'), note('b')]);
  writeFileSync(file, readFileSync(file, 'utf8').split('\n').slice(0, 2).join('\n'));
  writeFileSync(join(dir, 'notes-2026-12-04T100000.000Z-1.jsonl.partial'), 'half');
  new Spill({ dir, queue: 'other', isRecord: isNote }).save([note('x')]);
  const loaded = spill.load();
  assert.deepEqual(loaded.records, [note('a')]);
  assert.deepEqual(loaded.files, []);
  assert.match(loaded.problems[0]!, /holds 1 records where its header says 2 \(truncated\)/);
  const notAnote = new Spill({ dir, queue: 'other', isRecord: (v): v is Note => typeof v === 'number' }).load();
  assert.match(notAnote.problems[0]!, /line 2 is not a record of queue other/);
});

test("a pool that finds no free connection in time is a busy database, not a bad record: the write is retried, not dropped", async () => {
  let tries = 0;
  const landed: string[] = [];
  const queue = queueOf(async (n) => {
    // pg-pool's error when every connection stays taken past connectionTimeoutMillis.
    if (tries++ === 0) throw new Error('timeout exceeded when trying to connect');
    landed.push(n.name);
  });
  queue.enqueue(note('contribution'));
  assert.equal(await queue.drain(2000), true);
  assert.deepEqual(landed, ['contribution']);
  assert.equal(tries, 2);
});

/** A write the test holds until it releases it, and what each write call carried. */
function heldWrites(): { calls: string[][]; release: () => void; write: (n: Note) => Promise<void>; writeBatch: (ns: readonly Note[]) => Promise<void> } {
  const calls: string[][] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  return {
    calls,
    release: () => release(),
    write: async (n) => {
      calls.push([n.name]);
      if (n.name === 'first') await held;
    },
    writeBatch: async (ns) => void calls.push(ns.map((n) => n.name)),
  };
}

test('with batches, what queued up while a write ran goes in the next write together, in order, at most maxBatch at a time', async () => {
  const w = heldWrites();
  const queue = queueOf(w.write, { writeBatch: w.writeBatch, maxBatch: 3 });
  for (const name of ['first', 'a', 'b', 'c', 'd']) queue.enqueue(note(name));
  w.release();
  assert.equal(await queue.drain(1000), true);
  assert.deepEqual(w.calls, [['first'], ['a', 'b', 'c'], ['d']]);
});

test('a batch the database rejects is written again one record at a time: only the bad record is refused', async () => {
  const { log, lines } = keptLog();
  const calls: string[][] = [];
  const landed: string[] = [];
  const reject = (names: readonly string[]) => {
    if (names.includes('bad')) throw Object.assign(new Error('new row violates check constraint'), { code: '23514' });
  };
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const queue = queueOf(
    async (n) => {
      calls.push([n.name]);
      if (n.name === 'first') await held;
      reject([n.name]);
      landed.push(n.name);
    },
    {
      log,
      writeBatch: async (ns) => {
        calls.push(ns.map((n) => n.name));
        reject(ns.map((n) => n.name));
        landed.push(...ns.map((n) => n.name));
      },
    },
  );
  for (const name of ['first', 'a', 'bad', 'b', 'c', 'd']) queue.enqueue(note(name));
  release();
  assert.equal(await queue.drain(1000), true);
  assert.deepEqual(calls, [['first'], ['a', 'bad', 'b', 'c', 'd'], ['a'], ['bad'], ['b'], ['c'], ['d']]);
  assert.deepEqual(landed, ['first', 'a', 'b', 'c', 'd']);
  assert.deepEqual(lines.filter((l) => l.msg === 'write rejected by the database').map((l) => l.write), ['bad']);
});

test('a batch that meets an outage is retried whole, and lands once the database is back', async () => {
  const calls: string[][] = [];
  let down = true;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const queue = queueOf(
    async (n) => {
      calls.push([n.name]);
      await held;
    },
    {
      writeBatch: async (ns) => {
        calls.push(ns.map((n) => n.name));
        if (down) {
          down = false;
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        }
      },
    },
  );
  for (const name of ['first', 'a', 'b']) queue.enqueue(note(name));
  release();
  assert.equal(await queue.drain(2000), true);
  assert.deepEqual(calls, [['first'], ['a', 'b'], ['a', 'b']]);
});

for (const store of TEST_STORES) {
  test(`batches on ${store.name}: one transaction each, all or none, and a rejected one lands all but its bad record`, { skip: store.skip }, async () => {
    const { db, drop } = await store.create();
    try {
      await db.query("CREATE TABLE notes (name text PRIMARY KEY CHECK (name <> 'bad'))");
      const insert = (on: Queryable, n: Note) => on.query('INSERT INTO notes (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [n.name]);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const batches: number[] = [];
      const queue = queueOf(
        async (n) => {
          if (n.name === 'first') await held;
          await insert(db, n);
        },
        {
          writeBatch: (ns) => {
            batches.push(ns.length);
            return db.transaction(async (tx) => {
              for (const n of ns) await insert(tx, n);
            });
          },
        },
      );
      for (const name of ['first', 'a', 'b', 'bad', 'c']) queue.enqueue(note(name));
      release();
      assert.equal(await queue.drain(5000), true);
      assert.deepEqual(batches, [4], 'the four behind the first went as one batch, which the database refused whole');
      const rows = await db.query<{ name: string }>('SELECT name FROM notes ORDER BY name');
      assert.deepEqual(rows.map((r) => r.name), ['a', 'b', 'c', 'first']);
    } finally {
      await drop();
    }
  });
}
