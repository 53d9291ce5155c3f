/**
 * A stopping bridge drains: it refuses new connections at once, serves the live ones through the
 * grace period, then ends them with SERVER_BUSY, a status the agent's page answers by reconnecting.
 * The first tests need no desktop (a connection in its handshake is live too); the last holds a
 * session on the xrdp dev desktop (VDIGUARD_TEST_RDP=1) and the `vdiguard bridge` process itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { loadSettings } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import { startServiceProcess } from '../../lib/testing/service-process.js';
import { encodeInstruction } from '../guac/encoder.js';
import { GuacStatus, guacStatusName } from '../guac/status.js';
import { BRIDGE_SETTINGS } from './config.js';
import { BridgeServer } from './server.js';
import { TestClient } from './test-client.js';

const SKIP_RDP = process.env.VDIGUARD_TEST_RDP === '1' ? false : 'needs the xrdp dev desktop: run deploy/dev-desktop.sh and set VDIGUARD_TEST_RDP=1 (.ci/run does both)';
const PASSWORD = process.env.VDIGUARD_DESKTOP_PASSWORD ?? 'vdiguard-test';
// Desktop account 22 is this file's own (see .ci/run for the others').
const DESKTOP = { hostname: '127.0.0.1', port: '3389', username: 'vdiguard-test22', password: PASSWORD, 'ignore-cert': 'true', width: '800', height: '600' };

async function startBridge(): Promise<{ server: BridgeServer; port: number }> {
  const settings = loadSettings(BRIDGE_SETTINGS, { VDIGUARD_BRIDGE_HANDSHAKE_TIMEOUT_MS: '60000' });
  const server = new BridgeServer(settings, silentLogger());
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port };
}

/** A client part-way through its handshake: live to the bridge, and needing no desktop. */
async function handshaking(port: number): Promise<TestClient> {
  const c = new TestClient(port, { width: 800, height: 600, params: {} });
  c.send('select', 'rdp');
  await c.waitFor((i) => i.opcode === 'args');
  return c;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function expectRestarting(c: TestClient): void {
  assert.ok(c.error, 'the bridge ended the connection without a Guacamole error');
  assert.equal(guacStatusName(c.error.status), guacStatusName(GuacStatus.SERVER_BUSY));
  assert.match(c.error.message, /restarting: reconnect/);
}

test('draining refuses new connections at once, serves live ones through the grace, then ends them with SERVER_BUSY', async () => {
  const { server, port } = await startBridge();
  const live = await handshaking(port);
  let ended = false;
  void live.closed.then(() => (ended = true));
  const t0 = performance.now();
  const closing = server.close(1500);
  assert.equal(await refused(port), true, 'a new connection was accepted while draining');
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(ended, false, 'the live connection was ended before its grace');
  assert.equal(live.error, undefined);
  await closing;
  assert.ok(performance.now() - t0 >= 1400, `closed after ${Math.round(performance.now() - t0)} ms, before the 1,500 ms grace`);
  await live.closed;
  expectRestarting(live);
});

test('draining ends as soon as the last live connection does, not at the end of the grace', async () => {
  const { server, port } = await startBridge();
  const a = await handshaking(port);
  const b = await handshaking(port);
  const t0 = performance.now();
  const closing = server.close(60_000);
  setTimeout(() => a.close(), 100);
  setTimeout(() => b.close(), 300);
  await closing;
  const took = performance.now() - t0;
  assert.ok(took < 10_000, `close() took ${Math.round(took)} ms with its connections gone at 300 ms`);
  assert.equal(server.connections.size, 0);
});

test('with no grace, live connections end at once with SERVER_BUSY', async () => {
  const { server, port } = await startBridge();
  const live = await handshaking(port);
  await server.close(0);
  await live.closed;
  expectRestarting(live);
});

test('SIGTERM to `vdiguard bridge` with a desktop session open: the session is served through the grace, then told to reconnect, and the process exits 0', { skip: SKIP_RDP }, async () => {
  const bridge = await startServiceProcess(['bridge', '--listen', '127.0.0.1:0'], {
    VDIGUARD_BRIDGE_SHUTDOWN_GRACE_SECONDS: '4',
  }, /"listen":"([^"]+)"/);
  const port = Number(bridge.address.split(':').pop());
  const c = new TestClient(port, { width: 800, height: 600, version: 'VERSION_1_5_0', paint: false, params: DESKTOP });
  try {
    const { ready } = await c.handshake();
    assert.equal(ready.opcode, 'ready', c.error?.message);
    await c.waitFor((i) => i.opcode === 'sync', 30_000);
    const stopped = bridge.stop();
    await bridge.logged((l) => l.msg === 'draining: accepting no new connections', 5000);
    assert.equal(await refused(port), true, 'a new connection was accepted while draining');
    // The session still works: the bridge answers a ping and keeps sending frames.
    c.socket.write(encodeInstruction('', 'ping', 'during-drain'));
    await c.waitFor((i) => i.opcode === '' && i.args[1] === 'during-drain', 3000);
    assert.equal(c.error, undefined);
    await c.closed;
    expectRestarting(c);
    assert.deepEqual(await stopped, { code: 0, signal: null });
  } finally {
    c.close();
    bridge.child.kill('SIGKILL');
  }
});
