import { test, after, before } from 'node:test';
import { pino } from 'pino';
import assert from 'node:assert/strict';
import { Action } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { GuacStatus } from './guac/index.js';
import { AuditLog } from '../scorer/store/audit.js';
import { ADMIN_TOKEN, api, OTHER_AGENT, startHarness, TunnelClient, until, type Harness } from './testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

async function connected(agent?: string): Promise<{ client: TunnelClient; sessionId: string; token: string }> {
  const { token, ticket } = await h.login(agent);
  const client = await TunnelClient.open(h.gateway.url, ticket, '&width=1280&height=720');
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  await client.waitFor((i) => i.opcode === '' || i.opcode === 'size');
  return { client, sessionId: s.args[1] as string, token };
}

test('login, ticket, tunnel: credentials reach guacd, never the browser; input is forwarded unchanged and mirrored', async () => {
  const before = h.guacd.connections.length;
  const { client, sessionId } = await connected();
  const conn = h.guacd.connections[before];
  assert.ok(conn);
  assert.equal(conn.connectArgs.username, 'alice-rdp');
  assert.equal(conn.connectArgs.password, 'rdp-secret-π', 'non-ASCII credentials survive');
  assert.equal(conn.connectArgs.hostname, 'desktop.example');
  assert.equal(conn.connectArgs.width, '1280');
  const text = '3.key,5.65307,1.1;3.key,5.65307,1.0;5.mouse,2.10,2.20,1.0;';
  client.send(text);
  await until(() => conn.raw.includes(text), 3000, 'forwarded input');
  await until(() => h.scorer!.events(sessionId).length === 3, 3000, 'mirrored events');
  const events = h.scorer!.events(sessionId);
  assert.deepEqual(events.map((e) => e.kind?.$case), ['key', 'key', 'mouse']);
  assert.ok(events[0]!.timeMs > 0 && events[2]!.timeMs >= events[0]!.timeMs);
  for (const i of client.received) assert.ok(!i.args.some((a) => a.includes('rdp-secret')), 'no credential in what the browser got');
  client.ws.close();
  await client.closed;
});

test('terminate verdict: error instruction, WebSocket and desktop closed within 200 ms, decision recorded, login revoked', async () => {
  const { client, sessionId, token } = await connected();
  const conn = h.guacd.connections.at(-1)!;
  const stream = h.scorer!.streams.find((s) => s.open?.sessionId === sessionId)!;
  const sent = performance.now();
  stream.verdict({ action: Action.ACTION_TERMINATE, trust: 0.02, reason: 'keystroke timings do not match' });
  const closed = await client.closed;
  const ms = closed.at - sent;
  assert.ok(ms < 200, `closed after ${ms.toFixed(1)} ms`);
  const err = client.received.find((i) => i.opcode === 'error');
  assert.ok(err);
  assert.equal(Number(err.args[1]), GuacStatus.SESSION_CLOSED);
  assert.doesNotMatch(err.args[0] as string, /keystroke|timing|mouse/, 'the person at the keyboard is not told why');
  await until(() => conn.closed, 2000, 'desktop connection closed');
  await until(() => stream.closeReason !== undefined, 2000, 'scorer told');
  const audit = new AuditLog(h.db);
  await until(() => true);
  let decisions: Awaited<ReturnType<AuditLog['decisions']>> = [];
  for (let i = 0; i < 50 && decisions.length < 2; i++) {
    decisions = await audit.decisions({ sessionId });
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(decisions.map((d) => [d.action, d.source]), [['agent-locked', 'gateway'], ['terminate', 'gateway']], 'newest first: the terminate, then the lock it placed');
  assert.equal(decisions[1]?.reason, 'keystroke timings do not match');
  const again = await api(h.gateway.url, '/api/tickets', { desktop: 'desk-1' }, token);
  assert.equal(again.status, 401, 'the terminated login gets no new ticket');
  // The terminate locked the agent (VDIGUARD_AFTER_MISMATCH=lock by default): unlock for the next tests.
  assert.equal((await api(h.gateway.url, '/api/admin/agents/alice/unlock', {}, ADMIN_TOKEN)).status, 200);
});

test('challenge verdict: input held until a fresh TOTP code, then resumed and identity confirmed', async () => {
  const { client, sessionId, token } = await connected();
  const conn = h.guacd.connections.at(-1)!;
  const stream = h.scorer!.streams.find((s) => s.open?.sessionId === sessionId)!;
  stream.verdict({ action: Action.ACTION_CHALLENGE, trust: 0.3, reason: 'suspect' });
  await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'challenge');
  client.send('3.key,2.97,1.1;4.sync,3.123;');
  await until(() => conn.raw.includes('4.sync,3.123;'), 2000, 'sync forwarded while held');
  assert.ok(!conn.raw.includes('3.key,2.97'), 'held key not forwarded');
  const wrong = await api(h.gateway.url, '/api/challenge', { session: sessionId, code: '000000' }, token);
  assert.deepEqual(wrong.body, { outcome: 'wrong' });
  const ok = await api(h.gateway.url, '/api/challenge', { session: sessionId, code: h.code() }, token);
  assert.deepEqual(ok.body, { outcome: 'resumed' });
  await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'resumed');
  client.send('3.key,2.98,1.1;');
  await until(() => conn.raw.includes('3.key,2.98,1.1;'), 2000, 'input after resume');
  await until(() => h.scorer!.confirmed.includes(sessionId), 2000, 'identity confirmed to the scorer');
  client.ws.close();
  await client.closed;
});

test('bad tickets: forged, replayed and missing ones get a clear error and a closed tunnel', async () => {
  const { ticket } = await h.login();
  const first = await TunnelClient.open(h.gateway.url, ticket);
  await first.waitFor((i) => i.opcode === 'vdiguard');
  const replay = await TunnelClient.open(h.gateway.url, ticket);
  const e1 = await replay.waitFor((i) => i.opcode === 'error');
  assert.match(e1.args[0] as string, /already used/);
  await replay.closed;
  const forged = await TunnelClient.open(h.gateway.url, ticket.slice(0, -4) + 'AAAA');
  assert.match((await forged.waitFor((i) => i.opcode === 'error')).args[0] as string, /invalid connection ticket/);
  const none = await TunnelClient.open(h.gateway.url, '');
  assert.equal(Number((await none.waitFor((i) => i.opcode === 'error')).args[1]), GuacStatus.CLIENT_UNAUTHORIZED);
  first.ws.close();
  await first.closed;
});

test('malformed instruction from the browser: clear error and clean close, other agents unaffected', async () => {
  const a = await connected();
  const b = await connected(OTHER_AGENT);
  a.client.send('3.key,x.1;');
  const err = await a.client.waitFor((i) => i.opcode === 'error');
  assert.equal(Number(err.args[1]), GuacStatus.CLIENT_BAD_REQUEST);
  await a.client.closed;
  const conn = h.guacd.connections.at(-1)!;
  b.client.send('3.key,2.99,1.1;');
  await until(() => conn.raw.includes('3.key,2.99,1.1;'), 2000, 'other session still works');
  b.client.ws.close();
  await b.client.closed;
});

test('admin API: token required; sessions listed with trust; kill ends a session and is recorded as admin', async () => {
  const { client, sessionId } = await connected();
  assert.equal((await api(h.gateway.url, '/api/admin/sessions')).status, 401);
  assert.equal((await api(h.gateway.url, '/api/admin/sessions', undefined, 'wrong')).status, 401);
  const stream = h.scorer!.streams.find((s) => s.open?.sessionId === sessionId)!;
  stream.verdict({ trust: 0.8 });
  await until(() => h.gateway.sessions.get(sessionId)?.trust === 0.8, 2000, 'trust update');
  const list = (await api(h.gateway.url, '/api/admin/sessions', undefined, ADMIN_TOKEN)).body as { sessions: { sessionId: string; trust: number; agentId: string }[] };
  const mine = list.sessions.find((s) => s.sessionId === sessionId);
  assert.equal(mine?.trust, 0.8);
  assert.equal(mine?.agentId, 'alice');
  const kill = await api(h.gateway.url, `/api/admin/sessions/${sessionId}/kill`, {}, ADMIN_TOKEN);
  assert.equal(kill.status, 200);
  await client.closed;
  let found = false;
  for (let i = 0; i < 50 && !found; i++) {
    const d = (await api(h.gateway.url, `/api/admin/decisions?session=${sessionId}`, undefined, ADMIN_TOKEN)).body as { decisions: { action: string; source: string }[] };
    found = d.decisions.some((x) => x.action === 'admin-kill' && x.source === 'admin');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(found, 'kill recorded');
});

test('pages are served from the package: agent page, guacamole-common-js, admin page', async () => {
  for (const [path, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/client-times.js', 'text/javascript'], ['/guacamole-common.js', 'text/javascript'], ['/admin', 'text/html'], ['/admin-lib.js', 'text/javascript'], ['/admin-views.js', 'text/javascript'], ['/admin-manage.js', 'text/javascript'], ['/admin.css', 'text/css']] as const) {
    const res = await fetch(h.gateway.url + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', new RegExp(type));
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  }
});

test('nothing typed reaches the logs, even at trace level', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  const t = await startHarness({ log });
  try {
    const { ticket } = await t.login();
    const c = await TunnelClient.open(t.gateway.url, ticket);
    await c.waitFor((i) => i.opcode === 'size');
    const conn = t.guacd.connections.at(-1)!;
    // "q" (113) and a keysym nobody else uses (0x1234567).
    const typed = '3.key,3.113,1.1;3.key,8.19088743,1.1;';
    c.send(typed);
    await until(() => conn.raw.includes(typed), 3000, 'forwarded');
    c.send('3.key,x.1;');
    await c.closed;
    const all = lines.join('\n');
    assert.ok(lines.length > 0, 'something was logged');
    assert.doesNotMatch(all, /19088743|3\.key|keysym/);
    assert.doesNotMatch(all, /rdp-secret|correct horse/, 'no credentials either');
  } finally {
    await t.close();
  }
});
