/**
 * The bridge over real sockets. The first group needs no desktop (errors the bridge finds itself);
 * the second runs against the xrdp dev desktop (deploy/dev-desktop.sh) and is skipped unless
 * VDIGUARD_TEST_RDP=1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadSettings } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import { encodeInstruction } from '../guac/encoder.js';
import { GuacStatus, guacStatusName } from '../guac/status.js';
import { BRIDGE_SETTINGS } from './config.js';
import { BridgeServer } from './server.js';
import { TestClient } from './test-client.js';

const RDP = process.env.VDIGUARD_TEST_RDP === '1';
const SKIP_RDP = RDP ? false : 'needs the xrdp dev desktop: run deploy/dev-desktop.sh and set VDIGUARD_TEST_RDP=1 (.ci/run does both)';
const PASSWORD = process.env.VDIGUARD_DESKTOP_PASSWORD ?? 'vdiguard-test';
const W = 800;
const H = 600;

let server: BridgeServer;
let port: number;

before(async () => {
  const settings = loadSettings(BRIDGE_SETTINGS, { VDIGUARD_BRIDGE_ACK_TIMEOUT_MS: '1500', VDIGUARD_BRIDGE_HANDSHAKE_TIMEOUT_MS: '3000' });
  server = new BridgeServer(settings, silentLogger());
  port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
});

after(async () => {
  await server.close();
});

function params(extra: Record<string, string> = {}): Record<string, string> {
  return { hostname: '127.0.0.1', port: '3389', username: 'vdiguard-test1', password: PASSWORD, 'ignore-cert': 'true', width: String(W), height: String(H), ...extra };
}

/** Expects an `error` with `status`, then the bridge closing the socket. */
async function expectError(c: TestClient, status: number, message: RegExp): Promise<void> {
  await c.waitFor((i) => i.opcode === 'error', 20000);
  assert.ok(c.error);
  assert.equal(guacStatusName(c.error.status), guacStatusName(status), c.error.message);
  assert.match(c.error.message, message);
  await c.closed;
}

/** A raw socket that sends `text` and collects everything until the bridge closes it. */
async function rawExchange(text: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  let got = '';
  s.on('data', (d) => (got += d.toString()));
  s.write(text);
  await new Promise((resolve) => s.on('close', resolve));
  return got;
}

// ---- errors the bridge finds without a desktop ----

test('handshake: args lists the protocol version first, then guacd\'s rdp parameter names', async () => {
  const c = new TestClient(port, { width: W, height: H, params: {} });
  c.send('select', 'rdp');
  const args = await c.waitFor((i) => i.opcode === 'args');
  assert.equal(args.args[0], 'VERSION_1_5_0');
  for (const name of ['hostname', 'port', 'username', 'password', 'domain', 'security', 'ignore-cert', 'width', 'height', 'dpi']) {
    assert.ok(args.args.includes(name), name);
  }
  c.close();
});

test('handshake with the hostname missing: CLIENT_BAD_REQUEST naming it, then close', async () => {
  const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ hostname: '' }) });
  await c.handshake();
  await expectError(c, GuacStatus.CLIENT_BAD_REQUEST, /hostname is missing/);
});

test('handshake with malformed values: every problem in one CLIENT_BAD_REQUEST', async () => {
  const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ port: 'http', 'color-depth': '7', 'server-layout': 'xx' }) });
  await c.handshake();
  await expectError(c, GuacStatus.CLIENT_BAD_REQUEST, /port "http".*color-depth "7".*server-layout "xx"/);
});

test('handshake with the wrong number of values: CLIENT_BAD_REQUEST', async () => {
  const got = await rawExchange(encodeInstruction('select', 'rdp') + encodeInstruction('connect', 'VERSION_1_5_0', 'a', 'b'));
  assert.match(got, /5\.error,\d+\."connect" has 2 parameter values; "args" named \d+ .*,3\.768;/);
});

test('an unsupported protocol: UNSUPPORTED', async () => {
  const got = await rawExchange(encodeInstruction('select', 'vnc'));
  assert.match(got, /protocol "vnc" is not supported.*,3\.256;/);
});

test('a malformed instruction: CLIENT_BAD_REQUEST, then close', async () => {
  const got = await rawExchange('6.select,3.rdpx;');
  assert.match(got, /malformed instruction: expected ',' or ';'.*,3\.768;/);
});

test('an instruction over the size limit: CLIENT_OVERRUN, then close', async () => {
  const got = await rawExchange(encodeInstruction('select', 'x'.repeat(10000)));
  assert.match(got, /element 2 of "select" is 10000 characters long; the limit is 8192.*,3\.781;/);
});

test('a client that never completes the handshake: CLIENT_TIMEOUT', async () => {
  const got = await rawExchange(encodeInstruction('select', 'rdp'));
  assert.match(got, /handshake was not completed within 3000 ms.*,3\.776;/);
});

test('a client talking to the bridge directly is held to canonical input: "+116" ends it with CLIENT_BAD_REQUEST', async () => {
  // A desktop that accepts and never answers keeps the connection in its RDP connection sequence,
  // where the bridge already reads input.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ port: String((silent.address() as net.AddressInfo).port) }) });
    await c.handshake();
    c.send('key', '+116', 1);
    await expectError(c, GuacStatus.CLIENT_BAD_REQUEST, /"key" keysym is not a decimal integer/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('a refused desktop port: UPSTREAM_NOT_FOUND after ready, then close', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const free = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ port: String(free) }) });
  const { ready } = await c.handshake();
  assert.equal(ready.opcode, 'ready');
  await expectError(c, GuacStatus.UPSTREAM_NOT_FOUND, /refused the connection/);
});

test('a port that does not speak RDP: UPSTREAM_ERROR, then close', async () => {
  const junk = net.createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n'));
  await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
  try {
    const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ port: String((junk.address() as net.AddressInfo).port) }) });
    await c.handshake();
    await expectError(c, GuacStatus.UPSTREAM_ERROR, /./);
  } finally {
    junk.close();
  }
});

// ---- against the xrdp dev desktop ----

/** The X display number of `user`'s xrdp session. */
function displayOf(user: string): number {
  const ps = execFileSync('ps', ['-o', 'args=', '-u', user], { encoding: 'utf8' });
  const m = /Xorg :(\d+)/.exec(ps);
  if (!m) throw new Error(`no Xorg session for ${user}`);
  return Number(m[1]);
}

function onDisplay(user: string, cmd: string, args: string[]): Buffer {
  return execFileSync(cmd, args, { maxBuffer: 64 << 20, env: { ...process.env, DISPLAY: `:${displayOf(user)}`, XAUTHORITY: `/home/${user}/.Xauthority` } });
}

/** A screenshot of the user's X display as RGB, via xwd and netpbm. */
function screenshot(user: string): { width: number; height: number; rgb: Buffer } {
  const xwd = onDisplay(user, 'xwd', ['-root', '-silent']);
  const ppm = execFileSync('xwdtopnm', [], { input: xwd, maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'ignore'] });
  const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(ppm.subarray(0, 40).toString('latin1'));
  if (!header) throw new Error('xwdtopnm gave no P6 image');
  return { width: Number(header[1]), height: Number(header[2]), rgb: ppm.subarray(header[0].length) };
}

/** Connects and waits until the client's picture stops changing (the session has drawn). */
async function openSession(user: string, extra: Record<string, string> = {}): Promise<TestClient> {
  const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_1_0', params: params({ username: user, ...extra }) });
  const { ready } = await c.handshake();
  assert.equal(ready.opcode, 'ready', c.error?.message);
  await c.waitFor((i) => i.opcode === 'sync');
  await settle(c);
  // A fresh desktop paints its background before the session's xterm starts, seconds later on a
  // loaded machine: the tests need the xterm (to compare it, to type into it).
  for (const start = Date.now(); coloursOf(c.screen) < 2 && Date.now() - start < 20000; ) await settle(c);
  return c;
}

/** Distinct colours in a sample of the screen's pixels. */
function coloursOf(screen: Buffer): number {
  const colours = new Set<number>();
  for (let p = 0; p < screen.length / 4; p += 97) colours.add(screen.readUInt32BE(p * 4));
  return colours.size;
}

async function settle(c: TestClient, quietMs = 1500, maxMs = 20000): Promise<void> {
  const start = Date.now();
  let imageBytes = -1;
  while (Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, quietMs));
    await c.settled();
    if (c.imageBytes === imageBytes && !c.error) return;
    imageBytes = c.imageBytes;
  }
}

test('guacamole-lite\'s guacd client completes the handshake and receives frames', { skip: SKIP_RDP }, async () => {
  const require = createRequire(import.meta.url);
  const GuacdClient = require('guacamole-lite/lib/GuacdClient.js');
  const logger = { log: () => undefined };
  const settings = { ...params({ username: 'vdiguard-test2' }), dpi: 96, image: ['image/png'], audio: [], video: [] };
  const client = new GuacdClient({ host: '127.0.0.1', port }, 'rdp', settings, logger);
  const received: string[] = [];
  client.on('data', (d: string) => received.push(d));
  const opened = new Promise((r) => client.once('open', r));
  await opened;
  assert.match(client.guacamoleConnectionId, /^\$[0-9a-f-]{36}$/);
  for (let i = 0; i < 100 && !received.some((d) => d.includes('4.sync,')); i++) await new Promise((r) => setTimeout(r, 100));
  const all = received.join('');
  assert.match(all, /3\.img,/);
  assert.match(all, /4\.sync,/);
  assert.doesNotMatch(all, /5\.error,/);
  client.close();
});

test('frames decode to the desktop\'s real screen (compared with an xwd screenshot)', { skip: SKIP_RDP }, async () => {
  const user = 'vdiguard-test3';
  const c = await openSession(user);
  try {
    const shot = screenshot(user);
    assert.equal(shot.width, W);
    assert.equal(shot.height, H);
    let same = 0;
    for (let p = 0; p < W * H; p++) {
      const d = Math.abs((c.screen[p * 4] as number) - (shot.rgb[p * 3] as number)) +
        Math.abs((c.screen[p * 4 + 1] as number) - (shot.rgb[p * 3 + 1] as number)) +
        Math.abs((c.screen[p * 4 + 2] as number) - (shot.rgb[p * 3 + 2] as number));
      if (d <= 24) same++;
    }
    assert.ok(same / (W * H) > 0.99, `only ${((100 * same) / (W * H)).toFixed(2)}% of pixels match the screenshot`);
    // Not a trivially uniform picture: the xterm (white) and the background (#336699) are both there.
    assert.ok(coloursOf(c.screen) >= 2);
  } finally {
    c.close();
  }
});

test('keys typed through the bridge reach the desktop (an xterm runs the typed command)', { skip: SKIP_RDP }, async () => {
  const user = 'vdiguard-test4';
  const marker = `/tmp/vdiguard-keys-${process.pid}`;
  execFileSync('rm', ['-f', marker]);
  const c = await openSession(user);
  try {
    c.send('mouse', 200, 150, 0); // focus follows the pointer: put it over the xterm
    const text = `echo Typed-OK > ${marker}\n`;
    const shifted = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    for (const ch of text) {
      const keysym = ch === '\n' ? 0xff0d : ch.charCodeAt(0);
      if (shifted.has(ch)) c.send('key', 0xffe1, 1);
      c.send('key', keysym, 1);
      c.send('key', keysym, 0);
      if (shifted.has(ch)) c.send('key', 0xffe1, 0);
    }
    let content = '';
    for (let i = 0; i < 50 && !content; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(marker)) content = readFileSync(marker, 'utf8');
    }
    assert.equal(content.trim(), 'Typed-OK', 'the command typed into the xterm wrote its file');
  } finally {
    c.close();
  }
});

test('symbols sent without the Shift they need, and plain ones sent with Shift held, arrive as sent', { skip: SKIP_RDP }, async () => {
  // On-screen keyboards and automation send `>` alone; a person holding Shift may still send `.`.
  const user = 'vdiguard-test14';
  const marker = `/tmp/vdiguard-shifted-${process.pid}`;
  execFileSync('rm', ['-f', marker]);
  const c = await openSession(user);
  try {
    c.send('mouse', 200, 150, 0); // focus follows the pointer: put it over the xterm
    const type = (text: string): void => {
      for (const ch of text) {
        const keysym = ch === '\n' ? 0xff0d : ch.charCodeAt(0);
        c.send('key', keysym, 1);
        c.send('key', keysym, 0);
      }
    };
    const noShift = "Gt>Lt<Q?Colon:Quote\"Pipe|Tilde~Bang!At@Hash#Pct%Caret^Amp&Star*Paren()Under_Plus+Brace{}";
    type(`echo '${noShift}' > ${marker}\n`);
    c.send('key', 0xffe1, 1); // Shift held for the whole line: its plain symbols must stay plain
    const held = `echo 'held.shift,1;2/3=4-5' >> ${marker}\n`;
    type(held);
    c.send('key', 0xffe1, 0);
    let content = '';
    for (let i = 0; i < 50 && content.split('\n').length < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(marker)) content = readFileSync(marker, 'utf8');
    }
    assert.equal(content, `${noShift}\nheld.shift,1;2/3=4-5\n`);
  } finally {
    c.close();
    execFileSync('rm', ['-f', marker]);
  }
});

test('mouse moves through the bridge move the desktop\'s pointer', { skip: SKIP_RDP }, async () => {
  const user = 'vdiguard-test5';
  const c = await openSession(user);
  try {
    for (const [x, y] of [[321, 234], [640, 480]] as const) {
      c.send('mouse', x, y, 0);
      let where = '';
      for (let i = 0; i < 30; i++) {
        await new Promise((r) => setTimeout(r, 100));
        where = onDisplay(user, 'xdotool', ['getmouselocation']).toString();
        if (where.startsWith(`x:${x} y:${y} `)) break;
      }
      assert.match(where, new RegExp(`^x:${x} y:${y} `));
    }
  } finally {
    c.close();
  }
});

test('a wrong password: CLIENT_UNAUTHORIZED while another session goes on unharmed', { skip: SKIP_RDP }, async () => {
  const good = await openSession('vdiguard-test6');
  try {
    const bad = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ username: 'vdiguard-test7', password: 'not-the-password' }) });
    await bad.handshake();
    await expectError(bad, GuacStatus.CLIENT_UNAUTHORIZED, /rejected the login/);
    const frames = good.frames;
    await good.waitFor((i) => i.opcode === 'sync' && good.frames > frames, 8000);
    assert.equal(good.error, undefined);
  } finally {
    good.close();
  }
});

test('certificate verification is on by default; a pinned fingerprint is accepted', { skip: SKIP_RDP }, async () => {
  const strict = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ username: 'vdiguard-test8', 'ignore-cert': '' }) });
  await strict.handshake();
  await expectError(strict, GuacStatus.UPSTREAM_ERROR, /certificate is not trusted.*fingerprint sha256:([0-9a-f]{2}:){31}[0-9a-f]{2}\): pin it/);
  const fingerprint = /fingerprint (sha256:[0-9a-f:]+)/.exec(strict.error!.message)![1]!;
  const pinned = await openSession('vdiguard-test8', { 'ignore-cert': '', 'cert-fingerprints': fingerprint });
  assert.equal(pinned.error, undefined);
  assert.ok(pinned.imageBytes > 0);
  pinned.close();
  const wrong = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', params: params({ username: 'vdiguard-test8', 'ignore-cert': '', 'cert-fingerprints': 'ab'.repeat(32) }) });
  await wrong.handshake();
  await expectError(wrong, GuacStatus.UPSTREAM_ERROR, /matches none of the 1 pinned fingerprints: the desktop's certificate changed/);
});

test('a client that stops acknowledging frames: CLIENT_TIMEOUT, then close', { skip: SKIP_RDP }, async () => {
  const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', acknowledge: false, params: params({ username: 'vdiguard-test9' }) });
  await c.handshake();
  await expectError(c, GuacStatus.CLIENT_TIMEOUT, /acknowledged no frame/);
});

test('a client older than protocol 1.1 (no version in connect) is served', { skip: SKIP_RDP }, async () => {
  const c = new TestClient(port, { width: W, height: H, params: params({ username: 'vdiguard-test10' }) });
  const { ready } = await c.handshake();
  assert.equal(ready.opcode, 'ready');
  await c.waitFor((i) => i.opcode === 'img');
  assert.equal(c.error, undefined);
  c.close();
});
