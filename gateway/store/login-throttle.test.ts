/**
 * The login throttle's counters in the store, on PGlite and on PostgreSQL: the one statement that
 * counts and decides, under concurrency (on PostgreSQL, attempts really run in parallel on a pool).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { SecretBox } from '../auth/secret-box.js';
import { KNOWN_ADDRESS_MS, LoginThrottle, throttleKey, type Admission, type ThrottlePolicy } from '../auth/throttle.js';
import { GatewayStore } from './gateway-store.js';

const T0 = Date.UTC(2030, 0, 1);
const MIN = 60_000;

for (const s of TEST_STORES) {
  test(`login throttle counters on ${s.name}: burst, then one per interval; refunds; successes; pruning`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      const rate = { burst: 3, perHour: 4 };
      const key = throttleKey('agent-address', 'alice', '10.0.0.1');
      for (let i = 0; i < 3; i++) assert.deepEqual(await store.countAttempt(key, rate, T0), { admitted: true, known: false });
      assert.deepEqual(await store.countAttempt(key, rate, T0), { admitted: false, waitMs: 15 * MIN });
      assert.deepEqual(await store.countAttempt(key, rate, T0 + 10 * MIN), { admitted: false, waitMs: 5 * MIN }, 'refused attempts are not counted');
      assert.equal((await store.countAttempt(key, rate, T0 + 15 * MIN)).admitted, true);
      assert.equal((await store.countAttempt(key, rate, T0 + 15 * MIN)).admitted, false);
      assert.equal((await store.countAttempt(throttleKey('agent-address', 'alice', '10.0.0.2'), rate, T0)).admitted, true, 'keys are separate');

      await store.refundAttempt(key, rate);
      assert.equal((await store.countAttempt(key, rate, T0 + 15 * MIN)).admitted, true, 'a refund gives back one attempt');
      assert.equal((await store.countAttempt(key, rate, T0 + 15 * MIN)).admitted, false, 'and only one');

      await store.loginSucceeded('alice', '10.0.0.1', T0 + 16 * MIN);
      for (let i = 0; i < 3; i++) assert.deepEqual(await store.countAttempt(key, rate, T0 + 16 * MIN), { admitted: true, known: true }, 'a success restores the burst and makes the address known');
      assert.deepEqual(await store.countAttempt(key, rate, T0 + 16 * MIN + KNOWN_ADDRESS_MS + 2 * 60 * MIN), { admitted: true, known: false }, 'known for 30 days');

      const spent = throttleKey('address', 'bob', '10.9.9.9');
      await store.countAttempt(spent, rate, T0);
      await store.loginSucceeded('carol', '10.0.0.7', T0);
      await store.prune(new Date(T0 + 20 * MIN));
      const left = await db.query<{ scope: string; agent_id: string; address: string }>('SELECT scope, agent_id, address FROM login_throttle ORDER BY agent_id, address');
      assert.deepEqual(left.map((r) => `${r.scope} ${r.agent_id} ${r.address}`), ['agent-address alice 10.0.0.1', 'agent-address carol 10.0.0.7'], 'spent counters go (10.0.0.2, the address key), known addresses stay');
      await store.prune(new Date(T0 + KNOWN_ADDRESS_MS + 20 * MIN));
      assert.deepEqual((await db.query('SELECT agent_id FROM login_throttle')).map((r) => r.agent_id), ['alice'], 'known addresses go after 30 days');
    } finally {
      await drop();
    }
  });

  test(`login throttle on ${s.name}: 60 concurrent attempts, exactly the burst admitted; refusals give back; known addresses skip the agent key`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      const policy: ThrottlePolicy = { 'agent-address': { burst: 5, perHour: 4 }, agent: { burst: 7, perHour: 12 }, address: { burst: 9, perHour: 60 } };
      let now = T0;
      const throttle = new LoginThrottle(store, policy, () => now);
      const answers = await Promise.all(Array.from({ length: 60 }, () => throttle.admit('alice', '10.0.0.1')));
      assert.equal(answers.filter((a) => a.admitted).length, 5);
      for (const a of answers) if (!a.admitted) assert.equal(a.waitMs, 15 * MIN);

      // Other addresses: the agent key (7) runs out after two more; the refused attempt at 10.0.0.3
      // gives back what its agent-and-address key took.
      assert.equal((await throttle.admit('alice', '10.0.0.2')).admitted, true);
      assert.equal((await throttle.admit('alice', '10.0.0.2')).admitted, true);
      assert.deepEqual(await throttle.admit('alice', '10.0.0.3'), { admitted: false, waitMs: 5 * MIN });
      const [row] = await db.query<{ tat: Date }>(`SELECT tat FROM login_throttle WHERE scope = 'agent-address' AND address = '10.0.0.3'`);
      assert.ok(row && new Date(row.tat).getTime() <= now, 'given back: the key is as if unused');

      // A success at an address makes it known: from then on the agent key does not hold it.
      now += 5 * MIN;
      const ok = await throttle.admit('alice', '10.0.0.3');
      assert.ok(ok.admitted);
      await throttle.succeeded(ok as Admission);
      const again = await Promise.all(Array.from({ length: 20 }, () => throttle.admit('alice', '10.0.0.3')));
      assert.equal(again.filter((a) => a.admitted).length, 5, 'its own burst, though the agent key is spent');
      assert.equal((await throttle.admit('alice', '10.0.0.4')).admitted, true, 'the success gave its attempt back to the agent key');
      assert.equal((await throttle.admit('alice', '10.0.0.5')).admitted, false, 'and new addresses are held again');

      // The address key: nine failures over agents, then the address waits.
      const spray = await Promise.all(Array.from({ length: 30 }, (_, i) => throttle.admit(`agent-${i}`, '10.7.7.7')));
      assert.equal(spray.filter((a) => a.admitted).length, 9);
      const [agentKeys] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM login_throttle WHERE scope = 'agent' AND agent_id LIKE 'agent-%' AND tat > $1`, [new Date(now)]);
      assert.equal(agentKeys?.n, 9, 'attempts the address key refused were given back by the agent keys');
    } finally {
      await drop();
    }
  });
}
