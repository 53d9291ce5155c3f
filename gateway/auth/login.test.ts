import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../lib/db/db.js';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { silentLogger } from '../../lib/log.js';
import { GatewayStore } from '../store/gateway-store.js';
import { SecretBox } from './secret-box.js';
import { LOCKED_MESSAGE, LoginService } from './login.js';
import { hashPassword } from './password.js';
import { newTotpSecret, totpCode } from './totp.js';
import type { ThrottlePolicy } from './throttle.js';

const POLICY: ThrottlePolicy = { 'agent-address': { burst: 3, perHour: 4 }, agent: { burst: 5, perHour: 12 }, address: { burst: 8, perHour: 60 } };

/** A store with agent alice (password-1) allowed on desktop d1. */
async function aliceAtD1(db: Db): Promise<{ box: SecretBox; store: GatewayStore; secret: string }> {
  const box = new SecretBox(randomBytes(32));
  const store = new GatewayStore(db, box);
  const secret = newTotpSecret();
  await store.addAgent({ agentId: 'alice', displayName: 'Alice', passwordHash: await hashPassword('password-1', { N: 1024, r: 8, p: 1 }), totpSecret: secret });
  await store.addDesktop({ desktopId: 'd1', displayName: 'D1', host: 'h', port: 3389, security: 'tls', domain: '', ignoreCert: false, certFingerprints: '', credentials: { username: 'u', password: 'p' } });
  await store.assign('d1', 'alice');
  return { box, store, secret };
}

for (const s of TEST_STORES) {
  test(`login on ${s.name}: password + TOTP, replay, rate limits, disabled agents, tickets`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const { box, store, secret } = await aliceAtD1(db);
      await store.addAgent({ agentId: 'bob', displayName: 'Bob', passwordHash: await hashPassword('password-2', { N: 1024, r: 8, p: 1 }), totpSecret: newTotpSecret() });
      let now = 1_700_000_000_000;
      const login = new LoginService({ store, box, log: silentLogger(), ticketMs: 60_000, totpSkewSteps: 1, throttle: POLICY, now: () => now });

      const ok = await login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.1');
      assert.equal(ok.agentId, 'alice');
      assert.deepEqual(ok.desktops, [{ id: 'd1', name: 'D1' }]);
      assert.ok(ok.ticket, 'one desktop: a ticket comes with the login');
      assert.equal((await login.tickets.redeem(ok.ticket.ticket)).desktopId, 'd1');

      await assert.rejects(login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.1'), /wrong agent, password or code/, 'a used code is refused');
      now += 30_000;
      await assert.rejects(login.login({ agent: 'alice', password: 'nope', code: totpCode(secret, now) }, '10.0.0.1'), /wrong agent, password or code/);
      await assert.rejects(login.login({ agent: 'nobody', password: 'x', code: '123456' }, '10.0.0.1'), /wrong agent, password or code/);
      await assert.rejects(login.ticket(ok.token, 'd2'), /no desktop/);
      await assert.rejects(login.ticket('forged', 'd1'), /not logged in/);
      const t2 = await login.ticket(ok.token, 'd1');
      assert.equal(t2.desktopId, 'd1');

      // Per agent and address: alice has failed twice at 10.0.0.1; one more and that address waits
      // 15 minutes, even with the right password, while another address still gets in.
      await assert.rejects(login.login({ agent: 'alice', password: 'bad', code: '000000' }, '10.0.0.1'), /wrong/);
      await assert.rejects(login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.1'), /too many login attempts; try again in 15 minutes/);
      assert.equal((await login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.3')).agentId, 'alice');
      // Per address: 10.0.0.1 has failed 4 times (its success does not count); 4 more reach its burst of 8.
      for (let i = 0; i < 4; i++) await assert.rejects(login.login({ agent: `nobody-${i}`, password: 'bad', code: '1' }, '10.0.0.1'), /wrong/);
      await assert.rejects(login.login({ agent: 'carol', password: 'x', code: '1' }, '10.0.0.1'), /too many login attempts; try again in 30 seconds/);

      // A disabled agent cannot log in, and its logins get no new tickets.
      now += 16 * 60_000;
      const again = await login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.9');
      await store.updateAgent('alice', { status: 'disabled' });
      now += 30_000;
      await assert.rejects(login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.9'), /wrong/);
      await assert.rejects(login.ticket(again.token, 'd1'), /no longer/);
      await store.updateAgent('alice', { status: 'active' });
      const pending = await login.ticket(again.token, 'd1');
      await login.revoke((await login.check(again.token)).loginId);
      await assert.rejects(login.ticket(again.token, 'd1'), /login was ended/);
      await assert.rejects(login.tickets.redeem(pending.ticket), /login was ended/, 'tickets issued before the revocation too');
      // Another replica (same store and key) refuses it as well.
      const replica = new LoginService({ store, box, log: silentLogger(), ticketMs: 60_000, totpSkewSteps: 1, throttle: POLICY, now: () => now });
      await assert.rejects(replica.ticket(again.token, 'd1'), /login was ended/);

      // Challenge codes share the replay protection.
      now += 30_000;
      const code = totpCode(secret, now);
      assert.equal(await login.verifyCode('alice', code, '10.0.0.9'), true);
      assert.equal(await login.verifyCode('alice', code, '10.0.0.9'), false);
      // ...and the throttle: wrong codes use up the address's attempts, then even the right code is refused.
      for (let i = 0; i < 2; i++) assert.equal(await login.verifyCode('alice', '000000', '10.0.0.9'), false);
      now += 30_000;
      assert.equal(await login.verifyCode('alice', totpCode(secret, now), '10.0.0.9'), false, 'throttled before the code is checked');
      now += 15 * 60_000;
      assert.equal(await login.verifyCode('alice', totpCode(secret, now), '10.0.0.9'), true);
    } finally {
      await drop();
    }
  });

  test(`gateway store on ${s.name}: desktops, assignments, secrets sealed at rest`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      await store.addAgent({ agentId: 'a1', displayName: 'A', passwordHash: 'scrypt$x', totpSecret: 'SECRETSECRET' });
      await assert.rejects(store.addAgent({ agentId: 'a1', displayName: 'A', passwordHash: 'h', totpSecret: 's' }), /already exists/);
      await assert.rejects(store.addAgent({ agentId: 'bad id', displayName: 'A', passwordHash: 'h', totpSecret: 's' }), /agent id must be/);
      await store.addDesktop({ desktopId: 'd1', displayName: 'D', host: 'h', port: 3389, security: 'nla', domain: 'CORP', ignoreCert: false, certFingerprints: '', credentials: { username: 'u', password: 'pw-Ω' } });
      await assert.rejects(store.assign('d1', 'zz'), /no agent/);
      await assert.rejects(store.assign('zz', 'a1'), /no desktop/);
      assert.equal(await store.desktopFor('a1', 'd1'), undefined, 'not assigned yet');
      await store.assign('d1', 'a1');
      const d = await store.desktopFor('a1', 'd1');
      assert.deepEqual(d?.credentials, { username: 'u', password: 'pw-Ω' });
      assert.deepEqual((await store.listDesktops())[0]?.agents, ['a1']);
      assert.equal((await store.listDesktops('nobody')).length, 0);
      const raw = await db.query<{ credentials: string; totp_secret: string }>('SELECT credentials, (SELECT totp_secret FROM agents) AS totp_secret FROM desktops');
      assert.doesNotMatch(raw[0]!.credentials, /pw-/);
      assert.doesNotMatch(raw[0]!.totp_secret, /SECRET/);
      assert.equal(await store.useTicket('t1', new Date(Date.now() + 1000)), true);
      assert.equal(await store.useTicket('t1', new Date(Date.now() + 1000)), false);
      assert.equal(await store.useTotpStep('a1', 5), true);
      assert.equal(await store.useTotpStep('a1', 5), false);
      await store.prune(new Date(Date.now() + 2000));
      assert.equal(await store.useTicket('t1', new Date(Date.now() + 1000)), true, 'expired ticket ids are pruned');
    } finally {
      await drop();
    }
  });

  test(`agent locks on ${s.name}: stored for every replica, never weakened, lifted by unlock`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const box = new SecretBox(randomBytes(32));
      const store = new GatewayStore(db, box);
      await store.addAgent({ agentId: 'a1', displayName: 'A', passwordHash: 'scrypt$x', totpSecret: 'SECRETSECRET' });
      await store.addAgent({ agentId: 'a2', displayName: 'B', passwordHash: 'scrypt$x', totpSecret: 'SECRETSECRET' });
      await assert.rejects(store.lockAgent({ agentId: 'nobody', kind: 'locked', trust: 0, sessionId: 's0', action: 'terminate', reason: 'r' }), /no agent "nobody"/);
      await store.lockAgent({ agentId: 'a2', kind: 'probation', trust: 0.3, sessionId: 's1', action: 'challenge-failed', reason: 'wrong MFA code 3 times' });
      await store.lockAgent({ agentId: 'a1', kind: 'locked', trust: 0, sessionId: 's2', action: 'terminate', reason: 'mismatch' });
      await store.lockAgent({ agentId: 'a1', kind: 'probation', trust: 0.1, sessionId: 's3', action: 'terminate', reason: 'mismatch again' });
      const a1 = await store.agentLock('a1');
      assert.deepEqual({ ...a1, lockedAt: undefined }, { agentId: 'a1', kind: 'locked', trust: 0.1, sessionId: 's3', action: 'terminate', reason: 'mismatch again', lockedAt: undefined }, 'a lock is never weakened to probation');
      assert.ok(a1!.lockedAt instanceof Date && Math.abs(a1!.lockedAt.getTime() - Date.now()) < 60_000);
      assert.deepEqual((await store.listLocks()).map((l) => [l.agentId, l.kind, l.trust]), [['a1', 'locked', 0.1], ['a2', 'probation', 0.3]]);
      await assert.rejects(db.query(`UPDATE agent_locks SET trust = 1.5 WHERE agent_id = 'a2'`), 'trust outside [0, 1] is refused by the schema');

      const probation = (await store.agentLock('a2'))!;
      await store.carryTrust(probation, 0.8);
      assert.equal((await store.agentLock('a2'))?.trust, 0.8, 'a probation session hands its final trust on');
      await store.lockAgent({ agentId: 'a2', kind: 'probation', trust: 0, sessionId: 's4', action: 'terminate', reason: 'mismatch' });
      await store.carryTrust(probation, 0.9);
      assert.equal((await store.agentLock('a2'))?.trust, 0, 'not over a newer decision');

      const now = 1_700_000_000_000;
      const login = new LoginService({ store, box, log: silentLogger(), ticketMs: 60_000, totpSkewSteps: 1, throttle: POLICY, now: () => now });
      await assert.rejects(login.admit('a1'), (err: Error & { code?: string }) => err.code === 'permission-denied' && err.message === LOCKED_MESSAGE);
      assert.equal((await login.admit('a2'))?.kind, 'probation', 'probation admits, and says so');
      assert.equal(await login.admit('nobody'), undefined);
      assert.equal((await login.unlock('a1'))?.kind, 'locked');
      assert.equal(await login.unlock('a1'), undefined, 'nothing left to lift');
      assert.equal(await login.admit('a1'), undefined);

      // Placed on one replica: refused there at once and, once stored, on another.
      const replica = new LoginService({ store, box, log: silentLogger(), ticketMs: 60_000, totpSkewSteps: 1, throttle: POLICY, now: () => now });
      const placing = login.lock({ agentId: 'a1', kind: 'locked', trust: 0, sessionId: 's5', action: 'terminate', reason: 'mismatch' });
      await assert.rejects(login.admit('a1'), /locked after a security decision/, 'before the store write has landed');
      await placing;
      await assert.rejects(replica.admit('a1'), /locked after a security decision/);
      assert.equal((await replica.unlock('a1'))?.sessionId, 's5');
      assert.equal(await login.admit('a1'), undefined, "another replica's unlock counts here");
    } finally {
      await drop();
    }
  });

  test(`login on ${s.name}: a locked agent hears why only after password and code were right`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const { box, store, secret } = await aliceAtD1(db);
      let now = 1_700_000_000_000;
      const login = new LoginService({ store, box, log: silentLogger(), ticketMs: 60_000, totpSkewSteps: 1, throttle: POLICY, now: () => now });
      const before = await login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.1');
      await store.lockAgent({ agentId: 'alice', kind: 'locked', trust: 0, sessionId: 's1', action: 'terminate', reason: 'mismatch' });
      now += 30_000;
      await assert.rejects(login.login({ agent: 'alice', password: 'nope', code: totpCode(secret, now) }, '10.0.0.1'), /^VdiguardError: wrong agent, password or code$/);
      await assert.rejects(login.login({ agent: 'alice', password: 'password-1', code: '000000' }, '10.0.0.1'), /^VdiguardError: wrong agent, password or code$/);
      await assert.rejects(login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.1'), (err: Error & { code?: string }) => err.code === 'permission-denied' && err.message === LOCKED_MESSAGE);
      await assert.rejects(login.ticket(before.token, 'd1'), /locked after a security decision/, 'a login from before the lock gets no tickets');
      await login.unlock('alice');
      now += 30_000;
      assert.equal((await login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.1')).agentId, 'alice');
    } finally {
      await drop();
    }
  });
}
