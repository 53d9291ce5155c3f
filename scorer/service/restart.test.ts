/**
 * `vdiguard scorer` stopped under load, as Kubernetes stops it (a child process, a real
 * PostgreSQL server behind a TCP proxy the test can cut): every record its sessions produced is in
 * the store afterwards, counted, none twice: whether SIGTERM comes while the database is away (the
 * records go to the spill and the next start writes them) or SIGKILL comes while profile updates
 * are being fitted (the contributions are stored; the next start applies them and says so).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Action } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { countRows, createTestDatabase, TEST_STORES } from '../../lib/testing/databases.js';
import { startTcpProxy, type TcpProxy } from '../../lib/testing/tcp-proxy.js';
import { openDb, type Db } from '../../lib/db/db.js';
import { ALICE, MALLORY, typing } from '../testing/typist.js';
import { eventsRequest, openRequest, openStream, TEST_GATEWAY_TOKEN } from '../testing/scorer-harness.js';
import { startServiceProcess, type ServiceProcess, type ServiceProcessOptions } from '../../lib/testing/service-process.js';

function startScorerProcess(dataDir: string, databaseUrl: string, options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  return startServiceProcess(
    ['scorer', '--listen', '127.0.0.1:0', '--data', dataDir],
    {
      DATABASE_URL: databaseUrl,
      VDIGUARD_GATEWAY_TOKEN: TEST_GATEWAY_TOKEN,
      VDIGUARD_MATURE_KEYSTROKES: '300',
      VDIGUARD_SHUTDOWN_GRACE_SECONDS: '5',
      VDIGUARD_LOG_LEVEL: 'info',
    },
    /^vdiguard scorer listening on (\S+)/,
    options,
  );
}

/** One whole session over gRPC: open, `keys` keystrokes of `who`, close; returns the decisions it was told of. */
async function runSession(address: string, sessionId: string, agentId: string, who: typeof ALICE, keys: number, seed: number): Promise<number> {
  const s = openStream(address);
  s.call.write(openRequest(sessionId, agentId));
  s.call.write(eventsRequest(1, typing(who, keys, seed)));
  s.call.write({ kind: { $case: 'close', value: { reason: 'agent signed out' } } });
  s.call.end();
  assert.equal(await s.ended, null);
  return s.responses.filter((r) => r.kind?.$case === 'verdict' && r.kind.value.action !== Action.ACTION_NONE).length;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withDatabase(fn: (db: Db, proxy: TcpProxy, urlViaProxy: string) => Promise<void>): Promise<void> {
  const { url, dropDatabase } = await createTestDatabase();
  const proxy = await startTcpProxy('127.0.0.1', Number(new URL(url).port || 5432));
  const viaProxy = new URL(url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const db = await openDb({ databaseUrl: url });
  try {
    await fn(db, proxy, viaProxy.toString());
  } finally {
    await db.close();
    await proxy.close();
    await dropDatabase();
  }
}

describe('a scorer stopped under load', { skip: TEST_STORES[1]!.skip }, () => {
  test('SIGTERM with the database cut off: its records are spilled, and the next start writes every one of them, once', { timeout: 180_000 }, async () => {
    await withDatabase(async (db, proxy, viaProxy) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'vdiguard-restart-'));
      const first = await startScorerProcess(dataDir, viaProxy);
      // Alice enrols, then 6 sessions: hers and an impostor's on her profile, and newcomers enrolling.
      await runSession(first.address, 'enrol', 'alice', ALICE, 700, 1);
      await first.logged((l) => l.msg === 'profile updated' && l.agentId === 'alice');
      const plan = [
        { sessionId: 's1', agentId: 'alice', who: ALICE },
        { sessionId: 's2', agentId: 'alice', who: MALLORY },
        { sessionId: 's3', agentId: 'bob', who: MALLORY },
        { sessionId: 's4', agentId: 'carol', who: ALICE },
        { sessionId: 's5', agentId: 'dave', who: MALLORY },
        { sessionId: 's6', agentId: 'dave', who: ALICE },
      ];
      // Their profiles are loaded (sessions open) before the cut; everything they write after is queued.
      const streams = plan.map((p) => ({ ...p, stream: openStream(first.address) }));
      for (const s of streams) s.stream.call.write(openRequest(s.sessionId, s.agentId));
      await Promise.all(streams.map((s) => s.stream.received(1)));
      await until('every session start in the store', async () => (await countRows(db, `SELECT 1 FROM sessions WHERE session_id LIKE 's%'`)) === plan.length);
      proxy.cut();
      for (const [i, s] of streams.entries()) {
        s.stream.call.write(eventsRequest(1, typing(s.who, 400, 10 + i)));
        s.stream.call.write({ kind: { $case: 'close', value: { reason: 'agent signed out' } } });
        s.stream.call.end();
      }
      assert.deepEqual(await Promise.all(streams.map((s) => s.stream.ended)), plan.map(() => null));
      const decisions = streams.reduce((n, s) => n + s.stream.responses.filter((r) => r.kind?.$case === 'verdict' && r.kind.value.action !== Action.ACTION_NONE).length, 0);
      assert.ok(decisions > 0, 'the impostor on alice was decided on');

      const stoppedAt = Date.now();
      first.child.kill('SIGTERM');
      assert.deepEqual(await first.exited, { code: 0, signal: null });
      assert.ok(Date.now() - stoppedAt < 8000, `stopped within its 5 s grace (${Date.now() - stoppedAt} ms)`);
      const spilled = await first.logged((l) => l.msg === 'unwritten records spilled: the next start writes them');
      // Each session's end and decisions, and what the four enrolling sessions add to their
      // profiles with the close of those parts at the session's end (alice's is mature: it adapts
      // only after a passed challenge).
      assert.equal(spilled.records, plan.length + 4 * 2 + decisions);
      const spillFiles = readdirSync(join(dataDir, 'spill'));
      assert.equal(spillFiles.length, 1);
      assert.doesNotMatch(readFileSync(join(dataDir, 'spill', spillFiles[0]!), 'utf8'), /"keysym"|"key"/, 'timings only in the spill');

      proxy.restore();
      const second = await startScorerProcess(dataDir, viaProxy);
      try {
        const recovered = await second.logged((l) => l.msg === 'recovered records spilled at the last shutdown');
        assert.equal(recovered.records, spilled.records);
        await until('every spilled record written and every contribution applied', async () =>
          (await countRows(db, `SELECT 1 FROM sessions WHERE session_id LIKE 's%' AND ended_at IS NOT NULL`)) === plan.length &&
          (await countRows(db, 'SELECT 1 FROM profile_contributions WHERE applied_version IS NULL')) === 0 &&
          (await countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id LIKE 's%'`)) === 4,
        );
        assert.equal(await countRows(db, `SELECT 1 FROM decisions WHERE session_id LIKE 's%'`), decisions, 'every decision, none twice');
        const profiles = await db.query<{ agent_id: string; keystrokes: number }>('SELECT agent_id, keystrokes FROM profiles ORDER BY agent_id');
        assert.deepEqual(profiles.map((p) => [p.agent_id, p.keystrokes]), [['alice', 700], ['bob', 400], ['carol', 400], ['dave', 800]], "alice's mature profile as it was; the newcomers enrolled from each of their sessions once");
        await until('the spill file removed', async () => readdirSync(join(dataDir, 'spill')).length === 0);
      } finally {
        second.child.kill('SIGTERM');
        assert.deepEqual(await second.exited, { code: 0, signal: null });
      }
      assert.deepEqual(readdirSync(join(dataDir, 'spill')), [], 'nothing left to spill the second time');
    });
  });

  test('SIGKILL while profile updates are fitted: the contributions were stored, and the next start applies each once and says how many', { timeout: 180_000 }, async () => {
    await withDatabase(async (db, _proxy, viaProxy) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'vdiguard-restart-'));
      const first = await startScorerProcess(dataDir, viaProxy);
      const agents = Array.from({ length: 8 }, (_, i) => `agent-${i}`);
      await Promise.all(agents.map((a, i) => runSession(first.address, `k${i}`, a, i % 2 ? ALICE : MALLORY, 400, 30 + i)));
      // Stored, acknowledged by the store, while one fit worker works through eight agents.
      await until('every contribution stored', async () => (await countRows(db, 'SELECT 1 FROM profile_contributions')) === agents.length);
      first.child.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      const waiting = await countRows(db, 'SELECT 1 FROM profile_contributions WHERE applied_version IS NULL');
      assert.ok(waiting > 0, 'killed before every profile update was fitted');

      const second = await startScorerProcess(dataDir, viaProxy);
      try {
        const said = await second.logged((l) => l.msg === 'recovered what the last stop left unwritten');
        assert.equal(said.contributions, waiting);
        assert.equal(said.records, 0, 'nothing was spilled: a SIGKILL leaves no time to');
        await until('every contribution applied', async () => (await countRows(db, 'SELECT 1 FROM profile_contributions WHERE applied_version IS NULL')) === 0);
        const profiles = await db.query<{ keystrokes: number }>('SELECT keystrokes FROM profiles ORDER BY agent_id');
        assert.deepEqual(profiles.map((p) => p.keystrokes), agents.map(() => 400), 'each session enrolled once');
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    });
  });

  test('SIGTERM while it starts and writes a spill: it finishes starting, then stops through its drain, and nothing is lost', { timeout: 180_000 }, async () => {
    await withDatabase(async (db, proxy, viaProxy) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'vdiguard-restart-'));
      const first = await startScorerProcess(dataDir, viaProxy);
      await runSession(first.address, 'enrol', 'erin', ALICE, 400, 3);
      await until('the first session in the store', async () => (await countRows(db, `SELECT 1 FROM sessions WHERE session_id = 'enrol'`)) === 1);
      // Frank's session is open (his profile loaded) before the cut; its end and contribution are queued after.
      const u1 = openStream(first.address);
      u1.call.write(openRequest('u1', 'frank'));
      await u1.received(1);
      await until('the session start in the store', async () => (await countRows(db, `SELECT 1 FROM sessions WHERE session_id = 'u1'`)) === 1);
      proxy.cut();
      u1.call.write(eventsRequest(1, typing(MALLORY, 400, 4)));
      u1.call.write({ kind: { $case: 'close', value: { reason: 'agent signed out' } } });
      u1.call.end();
      assert.equal(await u1.ended, null);
      await first.stop();
      const spilled = await first.logged((l) => l.msg === 'unwritten records spilled: the next start writes them');
      proxy.restore();

      // The first line a starting scorer writes is the signal's cue: it comes long before it listens.
      let signalled = false;
      const second = await startScorerProcess(dataDir, viaProxy, {
        onLine: (_line, child) => {
          if (signalled) return;
          signalled = true;
          child.kill('SIGTERM');
        },
      });
      assert.ok(signalled);
      assert.deepEqual(await second.exited, { code: 0, signal: null }, 'stopped through its handler, not by the signal');
      await second.logged((l) => l.msg === 'shutting down');

      // Whatever the second start wrote or spilled again, a third start leaves every record in the store.
      const third = await startScorerProcess(dataDir, viaProxy);
      try {
        await until('every record of the spill written', async () =>
          (await countRows(db, `SELECT 1 FROM sessions WHERE session_id = 'u1' AND ended_at IS NOT NULL`)) === 1 &&
          (await countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id = 'u1'`)) === 1 &&
          readdirSync(join(dataDir, 'spill')).length === 0,
        );
        assert.ok(Number(spilled.records) >= 2, `the session's end and contribution were spilled (${spilled.records})`);
      } finally {
        await third.stop();
      }
    });
  });
});
