/**
 * Attacks on the gateway's HTTP surface (issue 17, item 8), over real sockets:
 *  - a page on another site opens the tunnel or POSTs to the API with the agent's browser
 *    (cross-site WebSocket hijacking, CSRF): refused with 403 by the Origin check;
 *  - a client talking to the gateway directly writes X-Forwarded-For to pick its address (to dodge
 *    the per-address login limit or blame someone else in the audit): only the proxies the
 *    operator names by address are believed;
 *  - trusting a proxy quietly lifted the refusal to serve plain HTTP: it no longer does;
 *  - a data directory other users can read exposes password hashes and keys: start-up refuses it,
 *    and the store's files are the owner's only;
 *  - /healthz told anyone how many sessions run: only the admin token sees that;
 *  - `limit=-1` on the decisions API was a 500 (a database error): bad parameters are 400;
 *  - no HSTS over TLS: a browser could be downgraded to plain HTTP on its next visit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { openDb } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { makeTestCerts } from '../../lib/testing/certs.js';
import { loadScorerSettings } from '../../scorer/config.js';
import { startSystem } from '../commands/gateway.js';
import { loadGatewaySettings } from '../config.js';
import { startGateway } from '../gateway.js';
import { scorerLink } from '../mirror/scorer-link.js';
import { ADMIN_TOKEN, api, startHarness, TunnelClient, until } from '../testing/harness.js';

/** Opens the tunnel with the headers a browser (or a hand-written client) would send. */
function openTunnel(base: string, ticket: string, headers: Record<string, string>): Promise<{ client?: TunnelClient; status?: number; body?: string }> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/tunnel?ticket=${encodeURIComponent(ticket)}`, 'guacamole', { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ client: new TunnelClient(ws) }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    ws.once('error', reject);
  });
}

test('a page from another site cannot open the tunnel or POST to the API; the gateway\'s own page and non-browser clients can', async (t) => {
  const h = await startHarness();
  try {
    const own = new URL(h.gateway.url).origin;
    await t.test('the tunnel', async () => {
      const hijack = await openTunnel(h.gateway.url, (await h.login()).ticket, { origin: 'https://evil.example' });
      assert.equal(hijack.status, 403, 'cross-origin upgrade refused');
      assert.match(hijack.body ?? '', /a page from https:\/\/evil\.example may not use this gateway/);
      assert.equal(h.gateway.sessions.size, 0);
      const mine = await openTunnel(h.gateway.url, (await h.login()).ticket, { origin: own });
      assert.ok(mine.client, 'the gateway\'s own page opens the tunnel');
      mine.client.ws.close();
      const bare = await openTunnel(h.gateway.url, (await h.login()).ticket, {});
      assert.ok(bare.client, 'a client without Origin (not a browser) is not this control\'s business');
      bare.client.ws.close();
    });
    await t.test('API POSTs', async () => {
      const post = (origin: string): Promise<Response> =>
        fetch(`${h.gateway.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ agent: 'alice', password: 'x', code: '000000' }) });
      const csrf = await post('https://evil.example');
      assert.equal(csrf.status, 403, 'cross-origin POST refused');
      assert.equal(((await csrf.json()) as { code: string }).code, 'permission-denied');
      assert.equal((await post(own)).status, 401, 'a same-origin POST reaches the login (and fails on the password)');
    });
  } finally {
    await h.close();
  }
});

/** The address the gateway recorded for the session a tunnel opened with these headers. */
async function recordedAddress(env: Record<string, string>, forwardedFor: string): Promise<string> {
  const h = await startHarness({ env });
  try {
    const { client } = await openTunnel(h.gateway.url, (await h.login()).ticket, { 'x-forwarded-for': forwardedFor });
    await until(() => h.gateway.sessions.size === 1, 3000, 'session');
    const listed = (await api(h.gateway.url, '/api/admin/sessions', undefined, ADMIN_TOKEN)).body as { sessions: { address: string }[] };
    client?.ws.close();
    return listed.sessions[0]?.address ?? '';
  } finally {
    await h.close();
  }
}

test('X-Forwarded-For from a peer that is not a trusted proxy is ignored; from a trusted one it is read past the proxy', async () => {
  // Both spellings: main's proxy count and the address list, so the deployment means the same on either.
  assert.equal(
    await recordedAddress({ VDIGUARD_GATEWAY_TRUST_PROXY: '1', VDIGUARD_GATEWAY_TRUSTED_PROXIES: '192.0.2.0/24' }, '6.6.6.6'),
    '127.0.0.1',
    'a direct client cannot choose its address',
  );
  assert.equal(await recordedAddress({ VDIGUARD_GATEWAY_TRUSTED_PROXIES: '127.0.0.1' }, '6.6.6.6, 198.51.100.4'), '198.51.100.4', 'the proxy\'s entry, not the client\'s');
});

test('trusting proxies does not lift the refusal to serve plain HTTP to other machines', async () => {
  const db = await openDb({});
  try {
    await assert.rejects(
      startGateway(loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: '0.0.0.0:0', VDIGUARD_GATEWAY_TRUST_PROXY: '1', VDIGUARD_GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8' }), {
        log: silentLogger(),
        db,
        secretKey: randomBytes(32),
        scorer: scorerLink({ address: '127.0.0.1:1' }, {}),
        adminToken: 'x'.repeat(24),
      }).then((g) => g.close()),
      /refusing to serve plain HTTP on 0\.0\.0\.0/,
    );
  } finally {
    await db.close();
  }
});

test('a data directory others can read is refused at start-up; a new one and the store\'s files are the owner\'s only', async () => {
  const base = mkdtempSync(join(tmpdir(), 'vdiguard-surface-'));
  // The scorer named elsewhere keeps TensorFlow out of this test; the link connects lazily.
  const gs = loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0', VDIGUARD_GATEWAY_SCORER: '127.0.0.1:1' });
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o755);
  await assert.rejects(
    startSystem(gs, loadScorerSettings({ VDIGUARD_DATA_DIR: open }), silentLogger()).then((s) => s.close()),
    (err: Error) => err.message.includes(`${open} is open to its group and every user (mode 755)`) && err.message.includes(`chmod -R go-rwx ${open}`),
  );
  const fresh = join(base, 'fresh');
  const system = await startSystem(gs, loadScorerSettings({ VDIGUARD_DATA_DIR: fresh, VDIGUARD_GATEWAY_TOKEN: 'gateway-token-for-the-surface-test' }), silentLogger());
  await system.close();
  const exposed = readdirSync(fresh, { recursive: true, encoding: 'utf8' }).filter((p) => statSync(join(fresh, p)).mode & 0o077);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);
  assert.ok(readdirSync(join(fresh, 'store')).length > 10, 'the store is there');
  assert.deepEqual(exposed, [], 'no file or directory of the data directory is open to others');
});

test('/healthz tells an unauthenticated caller only that the gateway is up; decisions queries with bad parameters are 400', async (t) => {
  const h = await startHarness();
  try {
    await t.test('/healthz', async () => {
      const anyone = await fetch(`${h.gateway.url}/healthz`);
      assert.equal(anyone.status, 200);
      assert.deepEqual(await anyone.json(), { status: 'ok' });
      assert.equal(anyone.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
      assert.deepEqual((await api(h.gateway.url, '/healthz', undefined, ADMIN_TOKEN)).body, { status: 'ok', sessions: 0 });
    });
    await t.test('decisions', async () => {
      for (const q of ['limit=-1', 'limit=abc', 'limit=100000000000', `session=${'x'.repeat(300)}`]) {
        const res = await api(h.gateway.url, `/api/admin/decisions?${q}`, undefined, ADMIN_TOKEN);
        assert.equal(res.status, 400, q);
        assert.match((res.body as { error: string }).error, /^(limit|session) must be/, q);
      }
      assert.equal((await api(h.gateway.url, '/api/admin/decisions?limit=5', undefined, ADMIN_TOKEN)).status, 200);
    });
  } finally {
    await h.close();
  }
});

test('over TLS every response carries HSTS', async () => {
  const certs = makeTestCerts();
  const h = await startHarness({ env: { VDIGUARD_GATEWAY_TLS_CERT: certs.serverCert, VDIGUARD_GATEWAY_TLS_KEY: certs.serverKey } });
  try {
    for (const path of ['/healthz', '/', '/api/admin/sessions', '/nothing-here']) {
      const hsts = await new Promise<string | undefined>((resolve, reject) =>
        httpsGet(`${h.gateway.url}${path}`, { ca: readFileSync(certs.ca) }, (res) => {
          res.resume();
          resolve(res.headers['strict-transport-security']);
        }).on('error', reject),
      );
      assert.equal(hsts, 'max-age=31536000', path);
    }
  } finally {
    await h.close();
  }
});
