import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { ADMIN_TOKEN, AGENT, api, DESKTOP, startHarness, TunnelClient } from '../testing/harness.js';
import { adminApi } from './api.js';
import type { Actor } from './actor.js';
import { sendError } from '../http/http-util.js';

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('admin API: agents and desktops managed over HTTP; a disabled agent\'s live session ends; errors name the field', async () => {
  const h = await startHarness();
  try {
    const u = h.gateway.url;
    const added = await call(u, 'POST', '/api/admin/agents', { id: 'carol', name: 'Carol', password: 'carol password' });
    assert.equal(added.status, 201);
    const totp = added.body.totp as { uri: string; qrSvg: string };
    assert.match(totp.qrSvg, /^<svg /);
    assert.equal((await call(u, 'POST', '/api/admin/agents', { id: 'carol', password: 'carol password' })).status, 409);
    const bad = await call(u, 'POST', '/api/admin/desktops', { id: 'd2', host: 'h', port: 0 });
    assert.deepEqual([bad.status, bad.body.code, bad.body.field], [400, 'invalid-argument', 'port']);
    assert.equal((await call(u, 'POST', '/api/admin/desktops', { id: 'd2', host: '127.0.0.1', port: h.guacd.port })).status, 201);
    assert.equal((await call(u, 'PUT', '/api/admin/desktops/d2/agents/carol')).status, 200);
    const checked = await call(u, 'POST', '/api/admin/desktops/d2/check', {});
    assert.equal(checked.body.reachable, true, JSON.stringify(checked.body));
    const patched = await call(u, 'PATCH', `/api/admin/desktops/${DESKTOP}`, { name: 'Desk One', certFingerprints: 'AB'.repeat(32) });
    assert.equal((patched.body.desktop as { displayName: string }).displayName, 'Desk One');
    const { agents } = (await call(u, 'GET', '/api/admin/agents')).body as { agents: { agentId: string; desktops: string[] }[] };
    assert.deepEqual(agents.find((a) => a.agentId === 'carol')?.desktops, ['d2']);

    // A live session of alice ends when an admin disables her.
    const { ticket } = await h.login();
    const client = await TunnelClient.open(u, ticket);
    await client.waitFor((i) => i.opcode === 'size');
    assert.equal(h.gateway.sessions.ofAgent(AGENT).length, 1);
    assert.equal((await call(u, 'PATCH', `/api/admin/agents/${AGENT}`, { status: 'disabled' })).status, 200);
    await client.closed;
    assert.equal(h.gateway.sessions.ofAgent(AGENT).length, 0);
    assert.equal((await api(u, '/api/login', { agent: AGENT, password: 'correct horse battery', code: h.code() })).status, 401);

    assert.deepEqual((await call(u, 'DELETE', '/api/admin/desktops/d2/agents/carol')).status, 200);
    assert.deepEqual((await call(u, 'DELETE', '/api/admin/agents/carol')).body, { removed: 'carol' });
    assert.deepEqual((await call(u, 'DELETE', '/api/admin/desktops/d2')).body, { removed: 'd2' });
    assert.equal((await call(u, 'DELETE', '/api/admin/desktops/d2')).status, 404);
  } finally {
    await h.close();
  }
});

test('adminApi refuses every change to an analyst, and lets them read', async () => {
  const h = await startHarness();
  const analyst: Actor = { kind: 'admin', name: 'sam', role: 'analyst' };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const manage = () => {
      throw new Error('not reached for a refused change');
    };
    const deps = { store: h.gateway.store, sessions: h.gateway.sessions, audit: undefined as never, actions: undefined as never, accounts: undefined as never, scorer: undefined as never, manage, challengeBelow: 0.5 };
    adminApi(req, res, url, analyst, deps).catch((err) => sendError(res, err));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    for (const [method, path] of [['POST', '/api/admin/agents'], ['PATCH', '/api/admin/agents/alice'], ['DELETE', '/api/admin/desktops/desk-1'], ['POST', '/api/admin/agents/alice/unlock'], ['PUT', '/api/admin/desktops/desk-1/agents/bob']]) {
      const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: method === 'DELETE' || method === 'PUT' ? undefined : '{}' });
      const body = (await r.json()) as { error: string };
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.match(body.error, /sam is an analyst: analysts can read sessions, decisions and profiles but not change anything/);
    }
    assert.deepEqual((await h.gateway.store.listAgents()).map((a) => a.status), ['active', 'active']);
    assert.equal((await fetch(base + '/api/admin/locks')).status, 200);
  } finally {
    server.close();
    await h.close();
  }
});
