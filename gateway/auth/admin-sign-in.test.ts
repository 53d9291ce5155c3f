import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { silentLogger } from '../../lib/log.js';
import { AdminStore } from '../store/admin-store.js';
import { GatewayStore } from '../store/gateway-store.js';
import { ADMIN_IDLE_MS, ADMIN_MAX_MS, ADMIN_REFRESH_MS, AdminSignIn } from './admin-sign-in.js';
import { LoginService } from './login.js';
import { hashPassword } from './password.js';
import { SecretBox } from './secret-box.js';
import type { ThrottlePolicy } from './throttle.js';
import { newTotpSecret, totpCode } from './totp.js';

const POLICY: ThrottlePolicy = { 'agent-address': { burst: 3, perHour: 4 }, agent: { burst: 5, perHour: 12 }, address: { burst: 50, perHour: 60 } };
const FAST = { N: 1024, r: 8, p: 1 };

for (const s of TEST_STORES) {
  test(`admin sign-in on ${s.name}: password + TOTP, replay, throttle apart from agents, disabled admins`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const box = new SecretBox(randomBytes(32));
      const store = new GatewayStore(db, box);
      const admins = new AdminStore(db, box);
      const secret = newTotpSecret();
      await admins.add({ name: 'ann', role: 'admin', passwordHash: await hashPassword('admin-pass-1', FAST), totpSecret: secret });
      // An agent of the same name and TOTP secret: neither may use up the other's attempts or codes.
      await store.addAgent({ agentId: 'ann', displayName: 'Ann', passwordHash: await hashPassword('agent-pass-1', FAST), totpSecret: secret });
      let now = 1_700_000_000_000;
      const signIn = new AdminSignIn({ admins, store, box, log: silentLogger(), totpSkewSteps: 1, throttle: POLICY, now: () => now });
      const agents = new LoginService({ store, box, log: silentLogger(), ticketMs: 60_000, totpSkewSteps: 1, throttle: POLICY, now: () => now });

      const ok = await signIn.signIn({ name: 'ann', password: 'admin-pass-1', code: totpCode(secret, now) }, '10.0.0.1');
      assert.deepEqual([ok.admin.name, ok.admin.role], ['ann', 'admin']);
      assert.deepEqual((await signIn.authenticate(ok.token)).actor, { kind: 'admin', name: 'ann', role: 'admin' });
      assert.equal((await agents.login({ agent: 'ann', password: 'agent-pass-1', code: totpCode(secret, now) }, '10.0.0.1')).agentId, 'ann', "the admin's used step is not the agent's");

      await assert.rejects(signIn.signIn({ name: 'ann', password: 'admin-pass-1', code: totpCode(secret, now) }, '10.0.0.1'), /^Error: wrong name, password or code$|wrong name, password or code/, 'a replayed code');
      now += 30_000;
      await assert.rejects(signIn.signIn({ name: 'ann', password: 'agent-pass-1', code: totpCode(secret, now) }, '10.0.0.1'), /wrong name, password or code/, "the agent's password is not the admin's");
      await assert.rejects(signIn.signIn({ name: 'ann', password: 'admin-pass-1', code: '000000' }, '10.0.0.1'), /wrong name, password or code/, 'a wrong code');
      await assert.rejects(signIn.signIn({ name: 'nobody', password: 'admin-pass-1', code: totpCode(secret, now) }, '10.0.0.1'), /wrong name, password or code/);
      // Three failures for ann at 10.0.0.1 (burst 3): the right password and code now wait...
      await assert.rejects(signIn.signIn({ name: 'ann', password: 'admin-pass-1', code: totpCode(secret, now) }, '10.0.0.1'), /too many login attempts; try again in 15 minutes/);
      // ...while the agent ann at the same address is not held back by the admin's failures.
      assert.equal((await agents.login({ agent: 'ann', password: 'agent-pass-1', code: totpCode(secret, now) }, '10.0.0.1')).agentId, 'ann');
      // Another address still gets in.
      now += 30_000;
      await signIn.signIn({ name: 'ann', password: 'admin-pass-1', code: totpCode(secret, now) }, '10.0.0.2');

      await admins.add({ name: 'bea', role: 'analyst', passwordHash: await hashPassword('admin-pass-2', FAST), totpSecret: secret });
      const bea = await signIn.signIn({ name: 'bea', password: 'admin-pass-2', code: totpCode(secret, now) }, '10.0.0.3');
      assert.deepEqual((await signIn.authenticate(bea.token)).actor, { kind: 'admin', name: 'bea', role: 'analyst' });
      await admins.update('bea', { status: 'disabled' });
      await assert.rejects(signIn.authenticate(bea.token), /admin bea was disabled; sign in again at \/admin/, 'a session ends with its admin');
      now += 30_000;
      await assert.rejects(signIn.signIn({ name: 'bea', password: 'admin-pass-2', code: totpCode(secret, now) }, '10.0.0.3'), /wrong name, password or code/, 'a disabled admin is told nothing more');
      await admins.update('bea', { status: 'active' });
      await admins.update('bea', { role: 'admin' });
      assert.equal((await signIn.authenticate(bea.token)).actor.role, 'admin', 'a role change applies to open sessions');
      await admins.update('bea', { role: 'analyst' });
      await admins.remove('bea');
      await assert.rejects(signIn.authenticate(bea.token), /admin bea was removed/);
    } finally {
      await drop();
    }
  });

  test(`admin sessions on ${s.name}: idle and maximum lifetimes, renewal, forged tokens, sign-out on every replica`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const box = new SecretBox(randomBytes(32));
      const store = new GatewayStore(db, box);
      const admins = new AdminStore(db, box);
      const secret = newTotpSecret();
      await admins.add({ name: 'ann', role: 'admin', passwordHash: await hashPassword('admin-pass-1', FAST), totpSecret: secret });
      let now = 1_700_000_000_000;
      const options = { admins, store, box, log: silentLogger(), totpSkewSteps: 1, throttle: POLICY, now: () => now };
      const signIn = new AdminSignIn(options);
      const fresh = async (): Promise<string> => {
        now += 30_000;
        return (await signIn.signIn({ name: 'ann', password: 'admin-pass-1', code: totpCode(secret, now) }, '10.0.0.1')).token;
      };

      // Renewed while in use: each request within the idle limit moves it on, up to the maximum.
      let token = await fresh();
      const signedInAt = now;
      assert.equal((await signIn.authenticate(token)).renewed, undefined, 'no renewal within minutes');
      while (now + ADMIN_IDLE_MS - 60_000 < signedInAt + ADMIN_MAX_MS) {
        now += ADMIN_IDLE_MS - 60_000;
        const { renewed } = await signIn.authenticate(token);
        assert.ok(renewed, 'renewed after idling most of the limit');
        assert.equal(renewed.maxAgeMs, signedInAt + ADMIN_MAX_MS - now, 'the cookie lasts no longer than the session may');
        token = renewed.token;
      }
      now = signedInAt + ADMIN_MAX_MS + 1;
      await assert.rejects(signIn.authenticate(token), /ended 12 h after sign-in; sign in again at \/admin/);

      token = await fresh();
      now += ADMIN_REFRESH_MS + 1;
      const renewed = (await signIn.authenticate(token)).renewed!.token;
      now += ADMIN_IDLE_MS;
      await assert.rejects(signIn.authenticate(token), /after 8 h without use/, 'the old token idles out');
      assert.equal((await signIn.authenticate(renewed)).actor.name, 'ann', 'the renewed one has not');

      await assert.rejects(signIn.authenticate('forged'), /the admin session is not valid/);
      await assert.rejects(signIn.authenticate(box.seal('login', JSON.stringify({ sid: 'x', name: 'ann', iat: now, seen: now }))), /not valid/, "an agent's sealed login is no admin session");
      await assert.rejects(signIn.authenticate(new SecretBox(randomBytes(32)).seal('admin-session', JSON.stringify({ sid: 'x', name: 'ann', iat: now, seen: now }))), /not valid/, 'another key');

      token = await fresh();
      assert.equal(await signIn.signOut(token), 'ann');
      await assert.rejects(signIn.authenticate(token), /this admin session was signed out/);
      await assert.rejects(new AdminSignIn(options).authenticate(token), /signed out/, 'on another replica too');
      assert.equal(await signIn.signOut('forged'), undefined);
    } finally {
      await drop();
    }
  });
}
