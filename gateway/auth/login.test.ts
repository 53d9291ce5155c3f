import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { silentLogger } from '../../lib/log.js';
import { GatewayStore } from '../store/gateway-store.js';
import { SecretBox } from './secret-box.js';
import { LoginService } from './login.js';
import { hashPassword } from './password.js';
import { newTotpSecret, totpCode } from './totp.js';
import type { ThrottlePolicy } from './throttle.js';

const POLICY: ThrottlePolicy = { 'agent-address': { burst: 3, perHour: 4 }, agent: { burst: 5, perHour: 12 }, address: { burst: 8, perHour: 60 } };

for (const s of TEST_STORES) {
  test(`login on ${s.name}: password + TOTP, replay, rate limits, disabled agents, tickets`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const box = new SecretBox(randomBytes(32));
      const store = new GatewayStore(db, box);
      const secret = newTotpSecret();
      await store.addAgent({ agentId: 'alice', displayName: 'Alice', passwordHash: await hashPassword('password-1', { N: 1024, r: 8, p: 1 }), totpSecret: secret });
      await store.addAgent({ agentId: 'bob', displayName: 'Bob', passwordHash: await hashPassword('password-2', { N: 1024, r: 8, p: 1 }), totpSecret: newTotpSecret() });
      await store.addDesktop({ desktopId: 'd1', displayName: 'D1', host: 'h', port: 3389, security: 'tls', domain: '', ignoreCert: false, certFingerprints: '', credentials: { username: 'u', password: 'p' } });
      await store.assign('d1', 'alice');
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
      await store.setAgentStatus('alice', 'disabled');
      now += 30_000;
      await assert.rejects(login.login({ agent: 'alice', password: 'password-1', code: totpCode(secret, now) }, '10.0.0.9'), /wrong/);
      await assert.rejects(login.ticket(again.token, 'd1'), /no longer/);
      await store.setAgentStatus('alice', 'active');
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
}
