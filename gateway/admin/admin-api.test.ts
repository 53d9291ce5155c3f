import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, adminCall, api, cookieOf, PASSWORD, startHarness, TunnelClient, type Harness } from '../testing/harness.js';
import { ADMIN_COOKIE } from '../http/login-cookie.js';
import { AuditLog } from '../../scorer/store/audit.js';

let h: Harness;
let ann: { cookie: string };
before(async () => {
  h = await startHarness();
  ann = await h.signInAdmin('ann');
});
after(async () => {
  await h.close();
});

type Body = { error?: string; code?: string; field?: string } & Record<string, unknown>;

test('admin sign-in: the session cookie is HttpOnly, SameSite=Strict and for the admin API only; me names the admin', async () => {
  const carl = await h.signInAdmin('carl', 'analyst');
  const res = await api(h.gateway.url, '/api/admin/login', { name: 'carl', password: PASSWORD, code: h.codeFor(carl.totpSecret) });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { name: 'carl', role: 'analyst' });
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${ADMIN_COOKIE}=`))!;
  assert.match(set, /; Path=\/api\/admin\/; Max-Age=43200; HttpOnly; SameSite=Strict$/, 'no Secure over plain HTTP');
  assert.deepEqual((await adminCall(h.gateway.url, '/api/admin/me', cookieOf(res.headers, ADMIN_COOKIE))).body, { kind: 'admin', name: 'carl', role: 'analyst' });
  assert.deepEqual((await api(h.gateway.url, '/api/admin/me', undefined, ADMIN_TOKEN)).body, { kind: 'token', name: 'admin-token', role: 'admin' });
  const actions = (await api(h.gateway.url, '/api/admin/actions?target=carl', undefined, ADMIN_TOKEN)).body as { actions: { actor: string; action: string; detail: { address?: string } }[] };
  assert.ok(actions.actions.some((a) => a.actor === 'carl' && a.action === 'admin.sign-in' && a.detail.address === '127.0.0.1'), 'sign-ins are in the audit trail');
});

test('admin sign-in refused: wrong password, wrong code, replayed code, disabled admin: all alike; no actor: where to sign in', async () => {
  const dora = await h.signInAdmin('dora');
  const code = h.codeFor(dora.totpSecret);
  assert.equal((await api(h.gateway.url, '/api/admin/login', { name: 'dora', password: PASSWORD, code })).status, 200);
  const tries = [
    { name: 'dora', password: PASSWORD, code },
    { name: 'dora', password: 'wrong password', code: h.codeFor(dora.totpSecret) },
    { name: 'dora', password: PASSWORD, code: '000000' },
    { name: 'nobody', password: PASSWORD, code: h.codeFor(dora.totpSecret) },
  ];
  for (const body of tries) {
    const res = await api(h.gateway.url, '/api/admin/login', body);
    assert.equal(res.status, 401, JSON.stringify(body));
    assert.deepEqual(res.body, { error: 'wrong name, password or code', code: 'unauthenticated' });
    assert.equal(res.headers.getSetCookie().length, 0);
  }
  assert.equal((await api(h.gateway.url, '/api/admin/admins/dora', { status: 'disabled' }, ADMIN_TOKEN, 'PATCH')).status, 200);
  const disabled = await api(h.gateway.url, '/api/admin/login', { name: 'dora', password: PASSWORD, code: h.codeFor(dora.totpSecret) });
  assert.deepEqual([disabled.status, (disabled.body as Body).error], [401, 'wrong name, password or code']);
  const out = await adminCall(h.gateway.url, '/api/admin/me', dora.cookie);
  assert.deepEqual([out.status, (out.body as Body).error], [401, 'admin dora was disabled; sign in again at /admin'], 'her open session ended too');

  const none = await api(h.gateway.url, '/api/admin/sessions');
  assert.deepEqual([none.status, (none.body as Body).error], [401, 'sign in at /admin, or send the admin token (Authorization: Bearer ...)']);
  assert.match(((await api(h.gateway.url, '/api/admin/sessions', undefined, 'wrong')).body as Body).error!, /^wrong admin token/);
  const forged = await adminCall(h.gateway.url, '/api/admin/sessions', 'forged');
  assert.deepEqual([forged.status, (forged.body as Body).error], [401, 'the admin session is not valid; sign in again at /admin']);
  assert.match(forged.headers.getSetCookie()[0] ?? '', /^vdiguard-admin=; Path=\/api\/admin\/; Max-Age=0/, 'the dead cookie is cleared');
  // An agent's login cookie is no admin session.
  const { token } = await h.login();
  assert.equal((await adminCall(h.gateway.url, '/api/admin/sessions', token)).status, 401);
});

test('admin sign-out revokes the session: the cookie no longer works, even replayed', async () => {
  const eve = await h.signInAdmin('eve');
  assert.equal((await adminCall(h.gateway.url, '/api/admin/sessions', eve.cookie)).status, 200);
  const out = await adminCall(h.gateway.url, '/api/admin/logout', eve.cookie, 'POST', {});
  assert.deepEqual(out.body, { signedOut: true });
  assert.match(out.headers.getSetCookie()[0] ?? '', /^vdiguard-admin=; Path=\/api\/admin\/; Max-Age=0/);
  const again = await adminCall(h.gateway.url, '/api/admin/sessions', eve.cookie);
  assert.deepEqual([again.status, (again.body as Body).error], [401, 'this admin session was signed out; sign in again at /admin']);
});

/** Every route of the admin API that changes something (contract of issue 18, and what exists). */
const CHANGES: readonly [string, string, unknown?][] = [
  ['POST', '/api/admin/sessions/s1/kill', {}],
  ['POST', '/api/admin/agents/alice/unlock', {}],
  ['POST', '/api/admin/agents', { id: 'zed', password: 'password-123' }],
  ['PATCH', '/api/admin/agents/alice', { status: 'disabled' }],
  ['POST', '/api/admin/agents/alice/reset-mfa', {}],
  ['DELETE', '/api/admin/agents/alice'],
  ['POST', '/api/admin/desktops', { id: 'd9', host: 'h' }],
  ['PATCH', '/api/admin/desktops/desk-1', { host: 'h2' }],
  ['DELETE', '/api/admin/desktops/desk-1'],
  ['PUT', '/api/admin/desktops/desk-1/agents/alice', {}],
  ['DELETE', '/api/admin/desktops/desk-1/agents/alice'],
  ['POST', '/api/admin/desktops/check', { host: '127.0.0.1', port: 3389 }],
  ['POST', '/api/admin/desktops/desk-1/check', {}],
  ['POST', '/api/admin/admins', { name: 'mallory', role: 'admin', password: 'password-123' }],
  ['PATCH', '/api/admin/admins/ann', { role: 'analyst' }],
  ['POST', '/api/admin/admins/ann/reset-mfa', {}],
  ['DELETE', '/api/admin/admins/ann'],
];

test('an analyst reads sessions, decisions, agents and desktops, and is refused every change (and the admin list)', async () => {
  const fay = await h.signInAdmin('fay', 'analyst');
  for (const path of ['/api/admin/sessions', '/api/admin/decisions', '/api/admin/actions', '/api/admin/agents', '/api/admin/desktops', '/api/admin/locks']) {
    assert.equal((await adminCall(h.gateway.url, path, fay.cookie)).status, 200, path);
  }
  const recorded = await h.db.query('SELECT count(*)::int AS n FROM admin_actions');
  for (const [method, path, body] of [...CHANGES, ['GET', '/api/admin/admins'] as [string, string]]) {
    const res = await adminCall(h.gateway.url, path, fay.cookie, method, body);
    assert.equal(res.status, 403, `${method} ${path}`);
    assert.match((res.body as Body).error!, /^fay is an analyst: analysts can read sessions, decisions and profiles but not change anything; ask an admin$/);
  }
  assert.deepEqual(await h.db.query('SELECT count(*)::int AS n FROM admin_actions'), recorded, 'nothing recorded, nothing changed');
  assert.equal((await h.gateway.store.agentSecrets('alice'))?.status, 'active');
  assert.equal((await h.gateway.admins.get('ann'))?.role, 'admin');
});

test('admin accounts through the API: add with a TOTP QR shown once, change, reset MFA, remove; never the last admin; recorded under the admin', async () => {
  const added = await adminCall(h.gateway.url, '/api/admin/admins', ann.cookie, 'POST', { name: 'gus', role: 'analyst', password: 'gus-password-1' });
  assert.equal(added.status, 201);
  const { admin, totp } = added.body as { admin: { name: string; role: string; status: string }; totp: { uri: string; secret: string; qrSvg: string } };
  assert.deepEqual([admin.name, admin.role, admin.status], ['gus', 'analyst', 'active']);
  assert.match(totp.uri, /^otpauth:\/\/totp\/vdiguard%3Agus%20\(admin\)\?secret=[A-Z2-7]{32}&/);
  assert.match(totp.qrSvg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+".*<path d="M/);
  const gus = await api(h.gateway.url, '/api/admin/login', { name: 'gus', password: 'gus-password-1', code: h.codeFor(totp.secret) });
  assert.equal(gus.status, 200, 'the new admin signs in with the secret shown');

  const bad = await adminCall(h.gateway.url, '/api/admin/admins', ann.cookie, 'POST', { name: 'hal', role: 'analyst', password: 'short' });
  assert.deepEqual([bad.status, (bad.body as Body).field], [400, 'password']);
  assert.match((bad.body as Body).error!, /a password must be 8 to 1024 characters/);
  const dup = await adminCall(h.gateway.url, '/api/admin/admins', ann.cookie, 'POST', { name: 'gus', role: 'admin', password: 'gus-password-1' });
  assert.deepEqual([dup.status, (dup.body as Body).field], [409, 'name']);
  const role = await adminCall(h.gateway.url, '/api/admin/admins', ann.cookie, 'POST', { name: 'hal', role: 'root', password: 'hal-password-1' });
  assert.deepEqual([role.status, (role.body as Body).field], [400, 'role']);

  assert.equal(((await adminCall(h.gateway.url, '/api/admin/admins/gus', ann.cookie, 'PATCH', { role: 'admin' })).body as { admin: { role: string } }).admin.role, 'admin');
  const reset = (await adminCall(h.gateway.url, '/api/admin/admins/gus/reset-mfa', ann.cookie, 'POST', {})).body as { totp: { secret: string } };
  assert.notEqual(reset.totp.secret, totp.secret);
  const old = await api(h.gateway.url, '/api/admin/login', { name: 'gus', password: 'gus-password-1', code: h.codeFor(totp.secret) });
  assert.equal(old.status, 401, 'the old authenticator entry stopped working');
  const list = (await adminCall(h.gateway.url, '/api/admin/admins', ann.cookie)).body as { admins: { name: string; role: string; status: string; createdAt: string }[] };
  assert.deepEqual(list.admins.find((a) => a.name === 'gus'), { name: 'gus', role: 'admin', status: 'active', createdAt: list.admins.find((a) => a.name === 'gus')!.createdAt });
  assert.deepEqual(Object.keys(list.admins[0]!).sort(), ['createdAt', 'name', 'role', 'status'], 'no hash or secret in the list');
  assert.deepEqual((await adminCall(h.gateway.url, '/api/admin/admins/gus', ann.cookie, 'DELETE')).body, { removed: 'gus' });

  // Every other admin taken out: ann is the last active one.
  for (const a of (await h.gateway.admins.list()).filter((x) => x.name !== 'ann' && x.role === 'admin')) await h.gateway.admins.update(a.name, { role: 'analyst' });
  for (const [method, body] of [['PATCH', { role: 'analyst' }], ['PATCH', { status: 'disabled' }], ['DELETE', undefined]] as const) {
    const res = await adminCall(h.gateway.url, '/api/admin/admins/ann', ann.cookie, method, body);
    assert.equal(res.status, 409, `${method} ${JSON.stringify(body)}`);
    assert.match((res.body as Body).error!, /ann: they are the last active admin/);
  }
  const trail = (await api(h.gateway.url, '/api/admin/actions?actor=ann', undefined, ADMIN_TOKEN)).body as { actions: { action: string; target: string; actorKind: string; detail: unknown }[] };
  assert.deepEqual(trail.actions.filter((a) => a.target === 'gus').map((a) => a.action), ['admin.remove', 'admin.reset-mfa', 'admin.update', 'admin.add']);
  assert.ok(trail.actions.every((a) => a.actorKind === 'admin'));
  assert.doesNotMatch(JSON.stringify(trail), /gus-password|secret/i, 'no secret in the trail');
});

test('the audit trail names the admin who killed a session', async () => {
  const { ticket } = await h.login();
  const client = await TunnelClient.open(h.gateway.url, ticket);
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  const sessionId = s.args[1] as string;
  const kill = await adminCall(h.gateway.url, `/api/admin/sessions/${sessionId}/kill`, ann.cookie, 'POST', {});
  assert.equal(kill.status, 200);
  await client.closed;
  const trail = (await adminCall(h.gateway.url, `/api/admin/actions?target=${sessionId}`, ann.cookie)).body as { actions: { actor: string; actorKind: string; action: string }[] };
  assert.deepEqual(trail.actions.map((a) => [a.actor, a.actorKind, a.action]), [['ann', 'admin', 'session.kill']]);
  const audit = new AuditLog(h.db);
  let reason = '';
  for (let i = 0; i < 100 && !reason; i++) {
    reason = (await audit.decisions({ sessionId })).find((d) => d.action === 'admin-kill')?.reason ?? '';
    if (!reason) await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(reason, /\(ann\)/);
});

test('admin sign-in is throttled before the password is checked, apart from agents of the same name', async () => {
  const t = await startHarness({ env: { VDIGUARD_LOGIN_LIMIT_PER_AGENT_ADDRESS: '2+1/h' } });
  try {
    const alice = await t.signInAdmin('alice');
    for (let i = 0; i < 2; i++) assert.equal((await api(t.gateway.url, '/api/admin/login', { name: 'alice', password: 'wrong password', code: '000000' })).status, 401);
    const held = await api(t.gateway.url, '/api/admin/login', { name: 'alice', password: PASSWORD, code: t.codeFor(alice.totpSecret) });
    assert.equal(held.status, 429);
    assert.match((held.body as Body).error!, /^too many login attempts; try again in \d+ minutes$/);
    assert.ok(Number(held.headers.get('retry-after')) > 0);
    await t.login('alice');
  } finally {
    await t.close();
  }
});

test('cross-site requests with the admin cookie are refused before any route (CSRF)', async () => {
  for (const path of ['/api/admin/login', '/api/admin/logout', '/api/admin/admins']) {
    const res = await fetch(h.gateway.url + path, {
      method: 'POST',
      headers: { origin: 'https://evil.example', cookie: `${ADMIN_COOKIE}=${ann.cookie}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', role: 'admin', password: 'password-123' }),
    });
    assert.equal(res.status, 403, path);
  }
  assert.equal((await adminCall(h.gateway.url, '/api/admin/me', ann.cookie)).status, 200, 'the logout above was refused');
});
