/**
 * `npm run bench:bridge`: the bridge against the xrdp dev desktop (deploy/dev-desktop.sh), at
 * 1024x768, with a client that acknowledges frames without decoding them (so the CPU measured is
 * the bridge's). Prints:
 * - time from `connect` to the first complete frame (images then `sync`),
 * - frames/s and bytes/s while the whole screen changes (an xterm filling the screen with text),
 * - CPU per frame,
 * - sessions one core can serve, from the CPU a session uses under full-screen change and idle,
 * - memory per session: resident and live heap (after a full collection) with one session open,
 *   then with VDIGUARD_BENCH_MEMORY_USERS' sessions open as well (run with --expose-gc, as
 *   `npm run bench:bridge` does).
 */
import { execFileSync, spawn } from 'node:child_process';
import { loadSettings } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import { BRIDGE_SETTINGS } from './config.js';
import { BridgeServer } from './server.js';
import { TestClient } from './test-client.js';

const W = 1024;
const H = 768;
const USER = process.env.VDIGUARD_BENCH_USER ?? 'vdiguard-test11';
const PARAMS = { hostname: '127.0.0.1', port: '3389', password: process.env.VDIGUARD_DESKTOP_PASSWORD ?? 'vdiguard-test', 'ignore-cert': 'true', width: String(W), height: String(H) };
const MEMORY_USERS = (process.env.VDIGUARD_BENCH_MEMORY_USERS ?? 'vdiguard-test2,vdiguard-test3,vdiguard-test4,vdiguard-test5,vdiguard-test6,vdiguard-test7,vdiguard-test8,vdiguard-test9').split(',').filter((u) => u !== '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident set and live heap of this process (the bridge's) after a full collection. */
async function memory(): Promise<{ rss: number; heap: number }> {
  await sleep(2000);
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/** Sessions open at once, at the first frame with the desktop's drawing, then settled. */
async function openSessions(port: number, users: readonly string[]): Promise<TestClient[]> {
  return Promise.all(users.map(async (username) => {
    const c = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', paint: false, params: { ...PARAMS, username } });
    await c.handshake();
    await c.waitFor((i) => i.opcode === 'sync' && c.frames >= 2, 60000);
    await sleep(3000);
    return c;
  }));
}

function display(user: string): string {
  const m = /Xorg :(\d+)/.exec(execFileSync('ps', ['-o', 'args=', '-u', user], { encoding: 'utf8' }));
  if (!m) throw new Error(`no Xorg session for ${user}`);
  return `:${m[1]}`;
}

async function main(): Promise<void> {
  const server = new BridgeServer(loadSettings(BRIDGE_SETTINGS, {}), silentLogger());
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new TestClient(port, { width: W, height: H, version: 'VERSION_1_5_0', paint: false, params: { ...PARAMS, username: USER } });

  const t0 = performance.now();
  await client.handshake();
  await client.waitFor((i) => i.opcode === 'sync', 30000);
  const firstFrameMs = performance.now() - t0;
  // The first frame is the whole screen as the bridge has it at RDP connect; the next one carries what the desktop drew.
  await client.waitFor((i) => i.opcode === 'sync' && client.frames >= 2, 30000);
  const contentFrameMs = performance.now() - t0;
  await sleep(3000); // let the session finish drawing

  // Idle: only keep-alives.
  let cpu = process.cpuUsage();
  let wall = performance.now();
  await sleep(5000);
  let used = process.cpuUsage(cpu);
  const idleCoreShare = (used.user + used.system) / 1000 / (performance.now() - wall);

  // Full-screen change: a screen-sized xterm spewing text.
  const env = { ...process.env, DISPLAY: display(USER), XAUTHORITY: `/home/${USER}/.Xauthority` };
  const spew = spawn('xterm', ['-geometry', '170x57+0+0', '-e', 'sh', '-c', 'while :; do base64 -w 168 /dev/urandom | head -c 200000; done'], { env, stdio: 'ignore' });
  await sleep(1500);
  const frames0 = client.frames;
  const bytes0 = client.bytes;
  cpu = process.cpuUsage();
  wall = performance.now();
  await sleep(10000);
  used = process.cpuUsage(cpu);
  const seconds = (performance.now() - wall) / 1000;
  const frames = client.frames - frames0;
  const bytes = client.bytes - bytes0;
  spew.kill();
  const busyCoreShare = (used.user + used.system) / 1e6 / seconds;

  const one = await memory();
  const more = await openSessions(port, MEMORY_USERS);
  const many = await memory();
  for (const c of more) c.close();

  client.close();
  await server.close();
  const mb = (n: number) => (n / 1e6).toFixed(2);
  console.log(`bridge benchmark against xrdp at ${W}x${H}, 24 bpp, user ${USER}`);
  console.log(`  connect -> first complete frame: ${firstFrameMs.toFixed(0)} ms (first frame with the desktop's drawing: ${contentFrameMs.toFixed(0)} ms)`);
  console.log(`  full-screen change: ${(frames / seconds).toFixed(1)} frames/s, ${mb(bytes / seconds)} MB/s (${mb(bytes / Math.max(1, frames))} MB/frame)`);
  console.log(`  CPU per frame: ${((used.user + used.system) / 1000 / Math.max(1, frames)).toFixed(1)} ms (bridge process, ${(busyCoreShare * 100).toFixed(0)}% of a core)`);
  console.log(`  idle session: ${(idleCoreShare * 100).toFixed(2)}% of a core`);
  console.log(`  sessions on one core: ~${Math.floor(1 / busyCoreShare)} with full-screen change, ~${Math.floor(1 / Math.max(idleCoreShare, 1e-4))} idle`);
  const perSession = (k: 'rss' | 'heap') => mb((many[k] - one[k]) / Math.max(1, more.length));
  console.log(`  memory: resident ${mb(one.rss)} MB, live heap ${mb(one.heap)} MB with 1 session; ${mb(many.rss)} MB, ${mb(many.heap)} MB with ${1 + more.length}`
    + ` (${perSession('rss')} MB resident and ${perSession('heap')} MB of heap per session${(globalThis as { gc?: unknown }).gc ? '' : '; run with --expose-gc for the heap after a full collection'})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
