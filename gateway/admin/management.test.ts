import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { VdiguardError } from '../../lib/errors.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { hashPassword, verifyPassword } from '../auth/password.js';
import { SecretBox } from '../auth/secret-box.js';
import { unlockAgent } from '../session/lockout.js';
import { GatewayStore } from '../store/gateway-store.js';
import { AdminActions } from './actions.js';
import type { Actor } from './actor.js';
import { Management, type SessionMatch } from './management.js';

const ADMIN: Actor = { kind: 'cli', name: 'cli:tester', role: 'admin' };
const ANALYST: Actor = { kind: 'admin', name: 'sam', role: 'analyst' };
const PIN = 'AB:'.repeat(31) + 'AB';

/** The error a call fails with: its code, field and message. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; field?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof VdiguardError, String(err));
    return { code: err.code, field: err.field, message: err.message };
  }
  assert.fail('expected a refusal');
}

for (const s of TEST_STORES) {
  test(`management on ${s.name}: agents and desktops added, changed, unlocked, removed, each recorded without secrets`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      const audit = new AuditLog(db);
      const ended: [SessionMatch, string][] = [];
      const deps = {
        store,
        actions: new AdminActions(db),
        issuer: 'vdiguard-test',
        liftLock: (id: string) => unlockAgent((a) => store.unlockAgent(a), (d) => audit.decision(d), id, new Date()),
        endSessions: (m: SessionMatch, why: string) => void ended.push([m, why]),
        hash: (p: string) => hashPassword(p, { N: 1024, r: 8, p: 1 }),
      };
      const m = new Management(deps, ADMIN);

      const { agent, totp } = await m.addAgent({ id: 'alice', name: 'Alice A.', password: 'first password' });
      assert.deepEqual([agent.agentId, agent.displayName, agent.status, agent.desktops], ['alice', 'Alice A.', 'active', []]);
      assert.match(totp.uri, /^otpauth:\/\/totp\/vdiguard-test%3Aalice\?secret=[A-Z2-7]+/);
      assert.ok(totp.uri.includes(totp.secret));
      assert.match(totp.qrSvg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 (\d+) \1".*<path d="M4 4h1v1h-1z/);
      assert.equal((await store.agentSecrets('alice'))?.totpSecret, totp.secret);
      assert.match((await refusal(m.addAgent({ id: 'alice', password: 'another one' }))).message, /agent alice already exists/);

      await m.updateAgent('alice', { name: 'Alice B.', password: 'second password' });
      const secrets = await store.agentSecrets('alice');
      assert.equal(secrets?.displayName, 'Alice B.');
      assert.ok(await verifyPassword('second password', secrets!.passwordHash));
      const { totp: again } = await m.resetMfa('alice');
      assert.notEqual(again.secret, totp.secret);

      const { desktop } = await m.addDesktop({ id: 'desk1', host: '10.0.0.5', security: 'tls', username: 'rdp-user', password: 'rdp-secret', certFingerprints: PIN });
      assert.deepEqual([desktop.port, desktop.security, desktop.certFingerprints], [3389, 'tls', `sha256:${'ab:'.repeat(31)}ab`]);
      await m.assign('desk1', 'alice');
      assert.deepEqual((await m.listAgents())[0]?.desktops, ['desk1']);
      // Password omitted: unchanged; username changed.
      await m.updateDesktop('desk1', { host: 'desk1.corp', port: 3390, username: 'other-user', ignoreCert: true });
      const full = await store.desktopFor('alice', 'desk1');
      assert.deepEqual([full?.host, full?.port, full?.ignoreCert, full?.credentials], ['desk1.corp', 3390, true, { username: 'other-user', password: 'rdp-secret' }]);
      await m.updateDesktop('desk1', { password: 'new-secret' });
      assert.deepEqual((await store.desktopFor('alice', 'desk1'))?.credentials, { username: 'other-user', password: 'new-secret' });

      // Unlock lifts the security lock and the login throttle; nothing left: not found.
      await store.lockAgent({ agentId: 'alice', kind: 'locked', trust: 0.1, sessionId: 's1', action: 'terminate', reason: 'mismatch' });
      await store.countAttempt({ scope: 'agent', agentId: 'alice', address: '' }, { burst: 1, perHour: 1 }, Date.now());
      assert.deepEqual(await m.unlockAgent('alice'), { unlocked: 'alice', lifted: ['locked', 'login-throttle'] });
      assert.equal((await store.countAttempt({ scope: 'agent', agentId: 'alice', address: '' }, { burst: 1, perHour: 1 }, Date.now())).admitted, true);
      assert.equal(await store.agentLock('alice'), undefined);
      assert.equal((await audit.decisions({ agentId: 'alice' }))[0]?.action, 'agent-unlocked');
      assert.deepEqual((await m.unlockAgent('alice')).lifted, ['login-throttle'], 'the attempt just counted');
      assert.match((await refusal(m.unlockAgent('alice'))).message, /neither locked, on probation nor held by the login throttle/);
      assert.equal((await refusal(m.unlockAgent('nobody'))).code, 'not-found');

      await m.updateAgent('alice', { status: 'disabled' });
      await m.unassign('desk1', 'alice');
      await m.removeDesktop('desk1');
      await m.removeAgent('alice');
      assert.deepEqual(ended, [
        [{ agentId: 'alice' }, 'the agent was disabled by cli:tester'],
        [{ agentId: 'alice', desktopId: 'desk1' }, 'the agent was unassigned from the desktop by cli:tester'],
        [{ desktopId: 'desk1' }, 'the desktop was removed by cli:tester'],
        [{ agentId: 'alice' }, 'the agent was removed by cli:tester'],
      ]);
      assert.deepEqual(await m.listAgents(), []);
      assert.equal((await refusal(m.removeAgent('alice'))).code, 'not-found');
      // History stays: the unlock decision outlives the agent.
      assert.equal((await audit.decisions({ agentId: 'alice' })).length, 1);

      const actions = (await deps.actions.list({ limit: 100 })).reverse();
      assert.deepEqual(
        actions.map((a) => `${a.actor} ${a.action} ${a.target}`),
        ['agent.add alice', 'agent.update alice', 'agent.reset-mfa alice', 'desktop.add desk1', 'desktop.assign desk1', 'desktop.update desk1', 'desktop.update desk1', 'agent.unlock alice', 'agent.unlock alice', 'agent.update alice', 'desktop.unassign desk1', 'desktop.remove desk1', 'agent.remove alice'].map((x) => `cli:tester ${x}`),
      );
      const trail = JSON.stringify(actions);
      for (const secret of ['first password', 'second password', 'rdp-secret', 'new-secret', totp.secret, again.secret]) assert.ok(!trail.includes(secret), `${secret} in the audit trail`);
      assert.deepEqual(actions[1]?.detail, { name: 'Alice B.', password: 'changed' });
      assert.deepEqual(actions[5]?.detail, { host: 'desk1.corp', port: 3390, username: 'changed', ignoreCert: true });
    } finally {
      await drop();
    }
  });
}

test('management validation: each refusal names the field and what to fix; an analyst changes nothing', async () => {
  const { db, drop } = await TEST_STORES[0]!.create();
  try {
    const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
    const deps = { store, actions: new AdminActions(db), issuer: 'x', liftLock: async () => undefined, endSessions: () => undefined, hash: (p: string) => hashPassword(p, { N: 1024, r: 8, p: 1 }) };
    const m = new Management(deps, ADMIN);
    const table: [string, Promise<unknown>, string, RegExp][] = [
      ['no id', m.addAgent({ password: 'long enough' }), 'id', /id is missing: give the agent's id/],
      ['bad id', m.addAgent({ id: 'a b', password: 'long enough' }), 'id', /agent id must be 1 to 100 letters, digits or \. _ @ -/],
      ['short password', m.addAgent({ id: 'bob', password: 'short' }), 'password', /a password must be 8 to \d+ characters/],
      ['no password', m.addAgent({ id: 'bob' }), 'password', /password is missing/],
      ['name not text', m.addAgent({ id: 'bob', name: 5, password: 'long enough' }), 'name', /name must be text \(got number\)/],
      ['bad status', m.updateAgent('bob', { status: 'gone' }), 'status', /status must be one of active, disabled \(got "gone"\)/],
      ['nothing to change', m.updateAgent('bob', {}), 'name', /nothing to change: give name, status \(active or disabled\) or password/],
      ['no host', m.addDesktop({ id: 'd1' }), 'host', /host is missing: give the desktop's host name or address/],
      ['host with port', m.addDesktop({ id: 'd1', host: 'h:3389 x' }), 'host', /host must be a host name or an IP address, without a port or spaces/],
      ['port', m.addDesktop({ id: 'd1', host: 'h', port: 70000 }), 'port', /port must be a whole number from 1 to 65535 \(got 70000\)/],
      ['port text', m.addDesktop({ id: 'd1', host: 'h', port: '33a' }), 'port', /port must be a whole number from 1 to 65535 \(got "33a"\)/],
      ['security', m.addDesktop({ id: 'd1', host: 'h', security: 'ssl' }), 'security', /security must be one of any, nla, tls, rdp, vmconnect/],
      ['ignoreCert', m.addDesktop({ id: 'd1', host: 'h', ignoreCert: 'yes' }), 'ignoreCert', /ignoreCert must be true or false/],
      ['pins', m.addDesktop({ id: 'd1', host: 'h', certFingerprints: 'sha1:00' }), 'certFingerprints', /"sha1:00" is not a SHA-256 fingerprint \(64 hex digits/],
      ['check host', m.checkTarget({ host: '' }), 'host', /host must not be empty/],
    ];
    for (const [name, call, field, message] of table) {
      const r = await refusal(call);
      assert.deepEqual([name, r.code, r.field], [name, 'invalid-argument', field]);
      assert.match(r.message, message, name);
    }
    const analyst = new Management(deps, ANALYST);
    const r = await refusal(analyst.addAgent({ id: 'bob', password: 'long enough' }));
    assert.equal(r.code, 'permission-denied');
    assert.deepEqual(await store.listAgents(), []);
    assert.deepEqual(await deps.actions.list(), []);
  } finally {
    await drop();
  }
});
