/**
 * Attacks on "trust belongs to the agent", by a complicit agent who owns the browser and their
 * credentials (issue 17). Over real sockets: the gateway, a fake guacd that records what the
 * desktop side receives, and the fake scorer, which stands in for the real one only to issue a
 * challenge or terminate verdict on cue (producing one from typing would take minutes of it).
 *
 * - A second tunnel (same login or a new one) while a challenge is pending used to start a fresh
 *   session at trust 1 whose keys reached the desktop; now it continues the challenged session.
 * - 70 tunnels on one login used to be 70 desktop connections; now one connection types at a time.
 * - A second desktop beyond the agent's limit, or while a challenge is pending, is refused.
 * - The login token used to be readable by page scripts (window.vdiguard.token); it is now an
 *   HttpOnly cookie, and signing out or a terminate ends every session of the login at once.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Action } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { GuacStatus } from '../guac/index.js';
import { LOGIN_COOKIE } from '../http/login-cookie.js';
import { ADMIN_TOKEN, AGENT, api, DESKTOP, PASSWORD, startHarness, TunnelClient, until, type Harness } from '../testing/harness.js';

const DESKTOP_2 = 'desk-2';
let h: Harness;

before(async () => {
  h = await startHarness({ env: { VDIGUARD_CHALLENGE_SECONDS: '10', VDIGUARD_SESSIONS_PER_AGENT: '2' } });
  await addDesktopOfAlice(DESKTOP_2);
});
after(async () => {
  await h.close();
});

async function addDesktopOfAlice(desktopId: string): Promise<void> {
  await h.gateway.store.addDesktop({
    desktopId,
    displayName: desktopId,
    host: `${desktopId}.example`,
    port: 3389,
    security: 'tls',
    domain: '',
    ignoreCert: true,
    certFingerprints: '',
    credentials: { username: 'alice-rdp', password: 'x' },
  });
  await h.gateway.store.assign(desktopId, AGENT);
}

/** The failed challenge and the terminate lock the agent (gateway/session/lockout.ts); the next test needs them back. */
async function unlock(): Promise<void> {
  assert.equal((await api(h.gateway.url, `/api/admin/agents/${AGENT}/unlock`, {}, ADMIN_TOKEN)).status, 200);
}

async function ticketFor(token: string, desktop = DESKTOP): Promise<string> {
  const res = await api(h.gateway.url, '/api/tickets', { desktop }, token);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { ticket: string }).ticket;
}

async function open(ticket: string): Promise<{ client: TunnelClient; sessionId: string }> {
  const client = await TunnelClient.open(h.gateway.url, ticket);
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  return { client, sessionId: s.args[1] as string };
}

async function streamOf(sessionId: string) {
  const find = () => h.scorer!.streams.find((s) => s.open?.sessionId === sessionId);
  await until(() => find() !== undefined, 3000, 'the scorer has the session');
  return find()!;
}

async function refusal(ticket: string): Promise<{ message: string; status: number }> {
  const client = await TunnelClient.open(h.gateway.url, ticket);
  const err = await client.waitFor((i) => i.opcode === 'error');
  await client.closed;
  return { message: err.args[0] as string, status: Number(err.args[1]) };
}

test('a second tunnel or a new login during a challenge continues the challenged session: no fresh trust, input still held', async () => {
  const { token, ticket } = await h.login();
  const a = await open(ticket);
  a.client.send('3.key,2.97,1.1;3.key,2.97,1.0;');
  (await streamOf(a.sessionId)).verdict({ action: Action.ACTION_CHALLENGE, trust: 0.18, reason: 'suspect' });
  await a.client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'challenge');

  const b = await open(await ticketFor(token));
  assert.equal(b.sessionId, a.sessionId, 'the same session, not a fresh one at trust 1');
  await b.client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'challenge');
  const replaced = await a.client.waitFor((i) => i.opcode === 'error');
  assert.equal(Number(replaced.args[1]), GuacStatus.SESSION_CONFLICT, 'the older window is told the session moved');
  await a.client.closed;

  const relogin = await h.login();
  const c = await open(relogin.ticket);
  assert.equal(c.sessionId, a.sessionId, 'signing in again does not start afresh either');
  await c.client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'challenge');
  await b.client.closed;
  const conn = h.guacd.connections.at(-1)!;
  c.client.send('3.key,2.98,1.1;4.sync,3.777;');
  await until(() => conn.raw.includes('4.sync,3.777;'), 3000, 'the sync forwarded');
  assert.ok(!conn.raw.includes('3.key,2.98'), 'input stays held in the joined connection');
  assert.equal(h.gateway.sessions.get(a.sessionId)?.trust, 0.18);

  const other = await refusal(await ticketFor(relogin.token, DESKTOP_2));
  assert.equal(other.status, GuacStatus.RESOURCE_CONFLICT, 'no second desktop to escape the challenge to');
  assert.match(other.message, /confirm your identity/);

  // The challenge runs out: the session ends, and every login that joined it is ended too.
  await c.client.closed;
  assert.equal(h.gateway.sessions.get(a.sessionId), undefined);
  for (const t of [token, relogin.token]) assert.equal((await api(h.gateway.url, '/api/tickets', { desktop: DESKTOP }, t)).status, 401);
  await unlock();
});

test('70 tunnels on one login: one desktop connection types at a time, one session', async () => {
  const { token, ticket } = await h.login();
  const first = await open(ticket);
  const tickets = await Promise.all(Array.from({ length: 69 }, () => ticketFor(token)));
  const before = h.guacd.connections.length;
  const clients = await Promise.all(tickets.map((t) => TunnelClient.open(h.gateway.url, t)));
  await until(() => clients.filter((c) => c.ws.readyState === c.ws.OPEN).length <= 1, 10_000, 'older tunnels closed');
  await until(() => h.guacd.connections.slice(before).filter((c) => !c.closed).length <= 1, 10_000, 'older desktop connections closed');
  assert.equal(h.gateway.sessions.all().filter((s) => s.id.agentId === AGENT).length, 1);
  assert.ok(h.gateway.sessions.get(first.sessionId), 'still the first session');
  await api(h.gateway.url, '/api/logout', {}, token);
  await Promise.all(clients.map((c) => c.closed));
});

test('a session on another desktop beyond the limit is refused with a reason', async () => {
  const { token, ticket } = await h.login();
  const one = await open(ticket);
  const two = await open(await ticketFor(token, DESKTOP_2));
  assert.notEqual(one.sessionId, two.sessionId);
  await addDesktopOfAlice('desk-3');
  const third = await refusal(await ticketFor(token, 'desk-3'));
  assert.equal(third.status, GuacStatus.CLIENT_TOO_MANY);
  assert.match(third.message, /already have 2 desktop session\(s\) open \(desk-1, desk-2\)/);

  // A terminate in one ends the login, and with it the other session at once.
  (await streamOf(one.sessionId)).verdict({ action: Action.ACTION_TERMINATE, trust: 0.02, reason: 'mismatch' });
  await Promise.all([one.client.closed, two.client.closed]);
  assert.equal(h.gateway.sessions.ofAgent(AGENT).length, 0);
  await unlock();
});

test('the login is an HttpOnly cookie the page cannot read; signing out ends its sessions at once', async () => {
  const res = await api(h.gateway.url, '/api/login', { agent: AGENT, password: PASSWORD, code: h.code(), desktop: DESKTOP });
  assert.equal(res.status, 200);
  assert.equal((res.body as { token?: string }).token, undefined, 'no token in what page scripts can read');
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${LOGIN_COOKIE}=`));
  assert.ok(set);
  assert.match(set, /; HttpOnly/);
  assert.match(set, /; SameSite=Strict/);
  assert.match(set, /; Path=\/api\//);
  const cookie = set.split(';')[0] as string;

  const { ticket } = res.body as { ticket: { ticket: string } };
  const s = await open(ticket.ticket);
  const post = (path: string, body: unknown) =>
    fetch(h.gateway.url + path, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
  assert.equal((await post('/api/tickets', { desktop: DESKTOP })).status, 200, 'the cookie alone carries the login');
  const out = await post('/api/logout', {});
  assert.equal(out.status, 200);
  assert.match(out.headers.getSetCookie()[0] ?? '', /Max-Age=0/);
  const closed = await s.client.closed;
  assert.ok(closed);
  assert.equal((await post('/api/tickets', { desktop: DESKTOP })).status, 401, 'the login is over');
});

test('a login revoked by another replica (a row in the shared store) ends its sessions here within seconds', async () => {
  const { ticket } = await h.login();
  const s = await open(ticket);
  const loginId = h.gateway.sessions.get(s.sessionId)!.id.loginId;
  await h.gateway.store.revokeLogin(loginId, new Date(Date.now() + 3_600_000));
  const err = await s.client.waitFor((i) => i.opcode === 'error', 6000);
  assert.equal(Number(err.args[1]), GuacStatus.SESSION_CLOSED);
  await s.client.closed;
});
