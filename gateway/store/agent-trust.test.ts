/**
 * Trust carried from an agent's session to the next, and locks seen by other replicas, in the
 * store on PGlite and on PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { SecretBox } from '../auth/secret-box.js';
import { GatewayStore } from './gateway-store.js';

const T0 = new Date(Date.UTC(2030, 0, 1));
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

for (const s of TEST_STORES) {
  test(`carried trust on ${s.name}: the newest ending wins, only below 1 and within the window, cleared by an unlock`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      await store.addAgent({ agentId: 'alice', displayName: 'Alice', passwordHash: 'x', totpSecret: 'JBSWY3DPEHPK3PXP' });
      assert.equal(await store.carriedTrust('alice', at(-60)), undefined, 'nothing yet');
      await store.rememberTrust('alice', 0.6, 's1', at(10));
      assert.equal(await store.carriedTrust('alice', at(-60)), 0.6);
      assert.equal(await store.carriedTrust('alice', at(11)), undefined, 'outside the window');
      await store.rememberTrust('alice', 0.9, 's0', at(5));
      assert.equal(await store.carriedTrust('alice', at(-60)), 0.6, 'an older ending written late does not win');
      await store.rememberTrust('alice', 1, 's2', at(20));
      assert.equal(await store.carriedTrust('alice', at(-60)), undefined, 'a session that ended trusted carries nothing');
      await store.rememberTrust('nobody', 0.1, 's3', at(20));
      assert.equal(await store.carriedTrust('nobody', at(-60)), undefined, 'unknown agents are not remembered');

      await store.rememberTrust('alice', 0.2, 's4', at(30));
      await store.lockAgent({ agentId: 'alice', kind: 'locked', trust: 0.2, sessionId: 's4', action: 'terminate', reason: 'mismatch' });
      const locks = await store.locksAmong(['alice', 'bob']);
      assert.deepEqual(locks.map((l) => l.agentId), ['alice']);
      assert.ok(locks[0]!.lockedAt instanceof Date && !Number.isNaN(locks[0]!.lockedAt.getTime()));
      assert.deepEqual(await store.locksAmong([]), []);
      await store.unlockAgent('alice');
      assert.equal(await store.carriedTrust('alice', at(-60)), undefined, "an admin's unlock starts afresh");
      assert.deepEqual(await store.locksAmong(['alice']), []);
    } finally {
      await drop();
    }
  });
}

for (const s of TEST_STORES) {
  test(`live sessions on ${s.name}: other replicas' fresh heartbeats count, stale ones and ended sessions do not`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      await store.heartbeat('replica-a', [{ sessionId: 's1', agentId: 'alice', desktopId: 'd1' }, { sessionId: 's2', agentId: 'bob', desktopId: 'd1' }], at(0));
      await store.heartbeat('replica-a', [], at(0));
      assert.deepEqual(await store.liveElsewhere('alice', 'replica-b', at(-1)), [{ sessionId: 's1', desktopId: 'd1' }]);
      assert.deepEqual(await store.liveElsewhere('alice', 'replica-a', at(-1)), [], "a replica's own sessions are not elsewhere");
      assert.deepEqual(await store.liveElsewhere('alice', 'replica-b', at(1)), [], 'a heartbeat older than the window does not count');
      await store.heartbeat('replica-a', [{ sessionId: 's1', agentId: 'alice', desktopId: 'd1' }], at(5));
      assert.equal((await store.liveElsewhere('alice', 'replica-b', at(1))).length, 1, 'refreshed');
      await store.sessionEnded('s1');
      assert.deepEqual(await store.liveElsewhere('alice', 'replica-b', at(-1)), []);
    } finally {
      await drop();
    }
  });
}
