import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countRows, TEST_STORES } from '../../lib/testing/databases.js';
import { silentLogger } from '../../lib/log.js';
import type { Db } from '../../lib/db/db.js';
import { loadScorerSettings } from '../config.js';
import { ALICE, MALLORY, typing } from '../testing/typist.js';
import { engineOptions } from './server.js';
import { CONTRIBUTION_PART_MS, CONTRIBUTION_PART_WINDOWS, mergeContributions, ScorerEngine } from './engine.js';
import { ProfileStore, type ProfileContribution } from '../store/profiles.js';
import { ScoringSession } from '../session/session.js';
import { asMoves, relayedPoints } from '../testing/pointer-paths.js';

/** An engine on `db` as `vdiguard scorer` builds one, its spill in `dataDir`. */
function engineOn(db: Db, dataDir: string, now?: () => Date): ScorerEngine {
  const settings = loadScorerSettings({}, { dataDir, matureKeystrokes: '300' });
  return new ScorerEngine({ ...engineOptions(settings, db, silentLogger()), contributionSweepMs: 0, ...(now ? { now } : {}) });
}

const contribution = (id: string, agentId: string, windows: number[][]): ProfileContribution => ({
  id,
  agentId,
  sessionId: `s-${id}`,
  reason: 'enrolment',
  added: { keystroke: { windows, units: windows.length * 10 } },
});

test('contributions merge oldest first, keep the last windows a profile keeps, and add up what they cover', () => {
  const merged = mergeContributions(
    [contribution('1', 'a', [[1], [2]]), { ...contribution('2', 'a', [[3]]), added: { keystroke: { windows: [[3]], units: 7 }, mouse: { windows: [[9]], units: 4 } } }],
    2,
  );
  assert.deepEqual(merged.get('keystroke'), { windows: [[2], [3]], units: 27 });
  assert.deepEqual(merged.get('mouse'), { windows: [[9]], units: 4 });
});

for (const store of TEST_STORES) {
  describe(`profile contributions on ${store.name}`, { skip: store.skip }, () => {
    test('stored once by id, applied once: a second writer of the same ones finds them taken; a reset settles what waits, a delete removes it', async () => {
      const { db, drop } = await store.create();
      try {
        const profiles = new ProfileStore(db);
        const c1 = contribution('c1', 'alice', [[1, 2]]);
        await profiles.addContribution(c1);
        await profiles.addContribution(c1);
        await profiles.addContribution(contribution('c2', 'alice', [[3, 4]]));
        await profiles.addContribution(contribution('c3', 'bob', [[5, 6]]));
        assert.deepEqual([...(await profiles.agentsWithPendingContributions())], [['alice', 2], ['bob', 1]]);

        const pending = await profiles.pendingContributions('alice');
        assert.deepEqual(pending.map((c) => c.id), ['c1', 'c2']);
        assert.deepEqual(pending[0], c1);
        const body = (await profiles.get('alice'))?.body;
        assert.equal(body, undefined);
        const change = () => ({ body: { keystroke: { windows: [], units: 20, template: null }, mouse: { windows: [], units: 0, template: null } } as never, state: 'enrolling' as const });
        const applied = await profiles.applyContributions('alice', pending, change);
        assert.equal(applied?.version, 1);
        assert.equal(await profiles.applyContributions('alice', pending, change), null, 'applied already: the second writer is told to read them again');
        assert.equal((await profiles.get('alice'))?.version, 1, 'and its version was rolled back');
        assert.deepEqual(await profiles.pendingContributions('alice'), []);

        await profiles.addContribution(contribution('c4', 'alice', [[7, 8]]));
        const reset = await profiles.reset('alice');
        assert.deepEqual(await profiles.pendingContributions('alice'), [], 'behaviour from before a reset is never applied');
        const [settled] = await db.query<{ applied_version: number }>(`SELECT applied_version FROM profile_contributions WHERE id = 'c4'`);
        assert.equal(settled?.applied_version, reset.version);

        await profiles.addContribution(contribution('c5', 'alice', [[9, 9]]));
        await profiles.delete('alice');
        const left = await db.query<{ id: string }>(`SELECT id FROM profile_contributions ORDER BY id`);
        assert.deepEqual(left.map((r) => r.id), ['c3']);
      } finally {
        await drop();
      }
    });

    test('the contributions of an agent waiting when its update starts become one version: a restart after a thousand sessions costs one fit per agent', async () => {
      const { db, drop } = await store.create();
      const engine = engineOn(db, mkdtempSync(join(tmpdir(), 'vdiguard-contributions-')));
      try {
        const options = engineOptions(loadScorerSettings({}, { matureKeystrokes: '300' }), db, silentLogger());
        for (const i of [0, 1, 2]) {
          const scoring = new ScoringSession(null, options.pipelines, options.policy);
          scoring.push(typing(ALICE, 150, 40 + i));
          await engine.profiles.addContribution({ id: `w${i}`, agentId: 'carol', sessionId: `s${i}`, reason: 'enrolment', added: Object.fromEntries(scoring.takeContribution()) });
        }
        assert.deepEqual(await engine.recover(), { records: 0, contributions: 3, agents: 1 });
        assert.equal(await engine.drainWrites(30_000), true);
        const versions = await db.query<{ version: number; reason: string }>(`SELECT version, reason FROM profile_versions WHERE agent_id = 'carol'`);
        assert.deepEqual(versions, [{ version: 1, reason: 'enrolment' }]);
        assert.equal((await engine.profiles.get('carol'))?.keystrokes, 450);
      } finally {
        await engine.shutdown(1000);
        await drop();
      }
    });

    test('a session handed over by a stopping scorer: its first part waits for the rest, and the agent gets one version when it ends', async () => {
      const { db, drop } = await store.create();
      const dir = mkdtempSync(join(tmpdir(), 'vdiguard-contributions-'));
      const first = engineOn(db, join(dir, 'a'));
      const next = engineOn(db, join(dir, 'b'));
      try {
        await first.recover();
        await next.recover();
        const id = { sessionId: 'h1', agentId: 'erin', desktopId: 'd', clientAddress: '127.0.0.1' };
        await first.openSession(id, false);
        first.applyBatch('h1', 1, typing(ALICE, 200, 60));
        // The first scorer stops: the session's part so far is written, not fitted.
        await first.shutdown(10_000);
        const stored = await db.query<{ applied_version: number | null }>(`SELECT applied_version FROM profile_contributions WHERE session_id = 'h1'`);
        assert.deepEqual(stored, [{ applied_version: null }], 'written by the stopping scorer, not applied by it');
        // The gateway resumes the session on the next scorer. The first part stays open: the
        // session goes on, and the part is applied with the rest when it ends.
        await next.openSession(id, true);
        assert.deepEqual((await next.recover()).contributions, 0);
        next.applyBatch('h1', 2, typing(ALICE, 200, 61, 60_000));
        assert.equal(await next.drainWrites(30_000), true);
        assert.equal(await countRows(db, `SELECT 1 FROM profile_versions WHERE agent_id = 'erin'`), 0, 'nothing fitted while the session lives here');
        next.closeSession('h1', 'agent signed out');
        assert.equal(await next.drainWrites(30_000), true);
        const versions = await db.query<{ version: number }>(`SELECT version FROM profile_versions WHERE agent_id = 'erin'`);
        assert.deepEqual(versions, [{ version: 1 }], 'both parts in one version');
        assert.equal((await next.profiles.get('erin'))?.keystrokes, 400);
      } finally {
        await next.shutdown(1000);
        await drop();
      }
    });

    test('a long session writes what it adds in parts as it goes, holds no more than a part, and its parts become one version when it ends', async () => {
      const { db, drop } = await store.create();
      const engine = engineOn(db, mkdtempSync(join(tmpdir(), 'vdiguard-contributions-')));
      try {
        await engine.recover();
        const id = { sessionId: 'long', agentId: 'gina', desktopId: 'd', clientAddress: '127.0.0.1' };
        await engine.openSession(id, false);
        const keys = typing(ALICE, 4000, 70);
        // What the scorer holds of the session, read from the engine's private state.
        const live = (): ScoringSession => (engine as unknown as { sessions: Map<string, { scoring: ScoringSession }> }).sessions.get('long')!.scoring;
        for (let i = 0, seq = 1; i < keys.length; i += 200, seq++) {
          engine.applyBatch('long', seq, keys.slice(i, i + 200));
          assert.ok(live().gatheredWindows < CONTRIBUTION_PART_WINDOWS, `${live().gatheredWindows} windows held after ${i + 200} keystrokes`);
        }
        assert.equal(await engine.drainWrites(30_000), true);
        const parts = await countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id = 'long' AND open`);
        assert.ok(parts >= 2, `${parts} parts written while the session lives`);
        assert.equal(await countRows(db, `SELECT 1 FROM profile_versions WHERE agent_id = 'gina'`), 0, 'none applied while it lives');
        engine.closeSession('long', 'agent signed out');
        assert.equal(await engine.drainWrites(30_000), true);
        assert.equal(await countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id = 'long' AND (open OR applied_version IS NULL)`), 0, 'every part closed and applied');
        assert.deepEqual(await db.query(`SELECT version FROM profile_versions WHERE agent_id = 'gina'`), [{ version: 1 }], 'all parts in one version');
        assert.equal((await engine.profiles.get('gina'))?.keystrokes, 4000, 'every keystroke of the session');
      } finally {
        await engine.shutdown(1000);
        await drop();
      }
    });

    test('a slow session writes what it gathered at least every minute, however few windows', async () => {
      const { db, drop } = await store.create();
      let now = Date.parse('2026-12-05T09:00:00Z');
      const engine = engineOn(db, mkdtempSync(join(tmpdir(), 'vdiguard-contributions-')), () => new Date(now));
      try {
        await engine.recover();
        await engine.openSession({ sessionId: 'slow', agentId: 'ivy', desktopId: 'd', clientAddress: '127.0.0.1' }, false);
        const live = (): ScoringSession => (engine as unknown as { sessions: Map<string, { scoring: ScoringSession }> }).sessions.get('slow')!.scoring;
        const parts = () => countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id = 'slow' AND open`);
        // The first 150 keystrokes: three windows, far fewer than a part's 32.
        const keys = typing(ALICE, 300, 72);
        engine.applyBatch('slow', 1, keys.slice(0, 300));
        const held = live().gatheredWindows;
        assert.ok(held > 0 && held < CONTRIBUTION_PART_WINDOWS, `${held} windows gathered`);
        assert.equal(await engine.drainWrites(30_000), true);
        assert.equal(await parts(), 0, 'within the minute, nothing written');
        now += CONTRIBUTION_PART_MS;
        engine.applyBatch('slow', 2, keys.slice(300));
        assert.equal(live().gatheredWindows, 0, 'a minute on, what it held is written');
        assert.equal(await engine.drainWrites(30_000), true);
        assert.equal(await parts(), 1);
      } finally {
        await engine.shutdown(1000);
        await drop();
      }
    });

    test('a session ended for suspected remote control withdraws the parts it wrote: none of it enrols', async () => {
      const { db, drop } = await store.create();
      const engine = engineOn(db, mkdtempSync(join(tmpdir(), 'vdiguard-contributions-')));
      try {
        await engine.recover();
        const id = { sessionId: 'relayed', agentId: 'hank', desktopId: 'd', clientAddress: '127.0.0.1' };
        await engine.openSession(id, false);
        const keys = typing(MALLORY, 3000, 71);
        let seq = 0;
        for (let i = 0; i < keys.length; i += 500) engine.applyBatch('relayed', ++seq, keys.slice(i, i + 500));
        assert.equal(await engine.drainWrites(30_000), true);
        assert.ok((await countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id = 'relayed'`)) >= 1, 'a part written before the finding');
        const after = keys[keys.length - 1]!.timeMs;
        const verdicts = engine.applyBatch('relayed', ++seq, asMoves(relayedPoints(125, 60, 20).map((p) => ({ ...p, timeMs: p.timeMs + after }))));
        assert.ok(verdicts.some((v) => v.action === 'terminate' && /remote control suspected/.test(v.reason)));
        engine.closeSession('relayed', 'terminated');
        assert.equal(await engine.drainWrites(30_000), true);
        assert.equal(await countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id = 'relayed'`), 0, 'its parts are withdrawn');
        assert.equal(await engine.profiles.get('hank'), null, 'no profile learned from it');
      } finally {
        await engine.shutdown(1000);
        await drop();
      }
    });

    test('the parts of a session lost without an end anywhere are closed by a sweep after a shift, and applied', async () => {
      const { db, drop } = await store.create();
      const dir = mkdtempSync(join(tmpdir(), 'vdiguard-contributions-'));
      const lost = engineOn(db, join(dir, 'a'));
      try {
        await lost.recover();
        const id = { sessionId: 'orphan', agentId: 'ivy', desktopId: 'd', clientAddress: '127.0.0.1' };
        await lost.openSession(id, false);
        const keys = typing(ALICE, 2000, 72);
        for (let i = 0, seq = 1; i < keys.length; i += 500, seq++) lost.applyBatch('orphan', seq, keys.slice(i, i + 500));
        assert.equal(await lost.drainWrites(30_000), true);
        // Its scorer stops, handing the session over, and its gateway is gone too: nobody resumes it.
        await lost.shutdown(10_000);
        const written = await countRows(db, `SELECT 1 FROM profile_contributions WHERE session_id = 'orphan' AND open`);
        assert.ok(written >= 2, `${written} parts`);
        const soon = engineOn(db, join(dir, 'b'));
        assert.equal((await soon.recover()).contributions, 0, 'an hour later the session may still be live elsewhere');
        await soon.shutdown(1000);
        const later = new ScorerEngine({ ...engineOptions(loadScorerSettings({}, { dataDir: join(dir, 'c'), matureKeystrokes: '300' }), db, silentLogger()), contributionSweepMs: 0, now: () => new Date(Date.now() + 13 * 3_600_000) });
        try {
          assert.deepEqual(await later.recover(), { records: 0, contributions: written, agents: 1 });
          assert.equal(await later.drainWrites(30_000), true);
          assert.equal((await later.profiles.get('ivy'))?.keystrokes, 2000, 'every part applied');
        } finally {
          await later.shutdown(1000);
        }
      } finally {
        await drop();
      }
    });

    test('two scorers that find the same stored contributions apply each once', async () => {
      const { db, drop } = await store.create();
      const dir = mkdtempSync(join(tmpdir(), 'vdiguard-contributions-'));
      const a = engineOn(db, join(dir, 'a'));
      const b = engineOn(db, join(dir, 'b'));
      try {
        // Stored by a scorer that stopped before applying them: what three real sessions add.
        const options = engineOptions(loadScorerSettings({}, { matureKeystrokes: '300' }), db, silentLogger());
        for (const [i, agentId] of ['alice', 'alice', 'bob'].entries()) {
          const scoring = new ScoringSession(null, options.pipelines, options.policy);
          scoring.push(typing(agentId === 'bob' ? MALLORY : ALICE, 200, 20 + i));
          await a.profiles.addContribution({ id: `c${i}`, agentId, sessionId: `s${i}`, reason: 'enrolment', added: Object.fromEntries(scoring.takeContribution()) });
        }
        const [ra, rb] = await Promise.all([a.recover(), b.recover()]);
        assert.deepEqual([ra.contributions, ra.agents], [3, 2], 'each scorer finds all three waiting');
        assert.deepEqual([rb.contributions, rb.agents], [3, 2]);
        assert.equal(await a.drainWrites(30_000), true);
        assert.equal(await b.drainWrites(30_000), true);
        const rows = await db.query<{ agent_id: string; applied_version: number | null }>('SELECT agent_id, applied_version FROM profile_contributions ORDER BY id');
        assert.equal(rows.length, 3);
        assert.ok(rows.every((r) => r.applied_version !== null));
        const alice = await a.profiles.get('alice');
        const bob = await a.profiles.get('bob');
        assert.equal(alice?.keystrokes, 400, "both of alice's sessions, once each");
        assert.equal(bob?.keystrokes, 200);
      } finally {
        await a.shutdown(1000);
        await b.shutdown(1000);
        await drop();
      }
    });
  });
}
