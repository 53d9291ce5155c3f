import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startGateway } from './gateway.js';
import { scorerLink } from './mirror/scorer-link.js';
import { openDb } from '../lib/db/db.js';
import { silentLogger } from '../lib/log.js';
import { loadScorerSettings } from '../scorer/config.js';
import { GuacStatus } from './guac/index.js';
import { loadGatewaySettings } from './config.js';
import { startSystem } from './commands/gateway.js';
import { api, startHarness, TunnelClient } from './testing/harness.js';

test('gateway with the scorer inside on one store: profile maturity through the admin API', async () => {
  const db = await openDb({});
  const token = randomBytes(24).toString('base64url');
  const system = await startSystem(
    loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0', VDIGUARD_GATEWAY_SECRET_KEY: randomBytes(32).toString('base64') }),
    loadScorerSettings({ VDIGUARD_SCORER_LISTEN: '127.0.0.1:0', VDIGUARD_ADMIN_TOKEN: token, VDIGUARD_MATURE_KEYSTROKES: '100' }),
    silentLogger(),
    db,
  );
  try {
    await system.scorer!.engine.enroll('alice', []);
    const res = await api(system.gateway.url, '/api/admin/profiles', undefined, token);
    assert.equal(res.status, 200);
    const profiles = (res.body as { profiles: { agentId: string; state: string; keystrokesRequired: number }[] }).profiles;
    assert.equal(profiles[0]?.agentId, 'alice');
    assert.equal(profiles[0]?.state, 'enrolling');
    assert.equal(profiles[0]?.keystrokesRequired, 100);
  } finally {
    await system.close();
    await db.close();
  }
});

test('with the scorer inside, mirror batches larger than it accepts are refused at start', async () => {
  const db = await openDb({});
  try {
    await assert.rejects(
      startSystem(
        loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0', VDIGUARD_MIRROR_BATCH_EVENTS: '600' }),
        loadScorerSettings({ VDIGUARD_SCORER_LISTEN: '127.0.0.1:0', VDIGUARD_MAX_BATCH_EVENTS: '500' }),
        silentLogger(),
        db,
      ),
      /VDIGUARD_MIRROR_BATCH_EVENTS \(600\) is above VDIGUARD_MAX_BATCH_EVENTS \(500\)/,
    );
  } finally {
    await db.close();
  }
});

test('guacd unreachable: a clear error with a numeric Guacamole status, the session ends, the gateway serves on', async () => {
  const h = await startHarness();
  try {
    await h.guacd.close();
    const { ticket } = await h.login();
    const c = await TunnelClient.open(h.gateway.url, ticket);
    const err = await c.waitFor((i) => i.opcode === 'error', 5000);
    assert.equal(Number(err.args[1]), GuacStatus.UPSTREAM_NOT_FOUND);
    assert.match(err.args[0] as string, /unavailable/i);
    await c.closed;
    assert.equal((await fetch(h.gateway.url + '/healthz')).status, 200);
    assert.equal(h.gateway.sessions.size, 0);
  } finally {
    await h.close();
  }
});

test('admin profiles with an unreachable scorer: 503 with a reason, not a crash', async () => {
  const h = await startHarness();
  try {
    const res = await api(h.gateway.url, '/api/admin/profiles', undefined, 'admin-token-for-tests-0123456789');
    assert.equal(res.status, 503);
    assert.match((res.body as { error: string }).error, /did not list profiles/);
  } finally {
    await h.close();
  }
});

test('HTTPS with a certificate; plain HTTP refused on an address other machines can reach', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  } catch {
    t.skip('openssl is not installed');
    return;
  }
  const h = await startHarness({ env: { VDIGUARD_GATEWAY_TLS_CERT: join(dir, 'cert.pem'), VDIGUARD_GATEWAY_TLS_KEY: join(dir, 'key.pem') } });
  try {
    assert.match(h.gateway.url, /^https:\/\//);
    const status = await new Promise<number>((resolve, reject) =>
      httpsGet(`${h.gateway.url}/healthz`, { ca: readFileSync(join(dir, 'cert.pem')), checkServerIdentity: () => undefined }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    assert.equal(status, 200);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const db = await openDb({});
  try {
    await assert.rejects(
      startGateway(loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: '0.0.0.0:0' }), { log: silentLogger(), db, secretKey: randomBytes(32), scorer: scorerLink({ address: '127.0.0.1:1' }, {}), adminToken: 'x'.repeat(24) }),
      /refusing to serve plain HTTP on 0\.0\.0\.0/,
    );
  } finally {
    await db.close();
  }
});

test('a WebSocket upgrade that never completes is cut off, and the gateway serves on', async () => {
  const h = await startHarness();
  try {
    const port = Number(new URL(h.gateway.url).port);
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write('GET /tunnel?ticket=x HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\n');
    const started = Date.now();
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    await new Promise((r) => s.once('close', r));
    const waited = Date.now() - started;
    assert.ok(waited >= 9000 && waited < 13000, `closed after ${waited} ms`);
    assert.match(Buffer.concat(got).toString(), /^(HTTP\/1\.1 408|$)/);
    assert.equal((await fetch(h.gateway.url + '/healthz')).status, 200);
  } finally {
    await h.close();
  }
});
