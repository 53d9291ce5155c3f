/**
 * Real engines for tests: Apache guacd 1.6 (installed by ../shared/guacd/install.sh, which .ci/run
 * runs) and the built-in bridge, each started on a free port as a child process of the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GUACD = process.env.VDIGUARD_GUACD_BIN ?? 'guacd';

const installed = spawnSync(GUACD, ['-v'], { stdio: 'ignore' }).status === 0;

/**
 * Why tests of real guacd skip, or false when they run. With VDIGUARD_TEST_RDP=1 (CI) a missing
 * guacd is not a reason to skip: the tests run and fail, so CI cannot pass without them.
 */
export const GUACD_SKIP: string | false =
  installed || process.env.VDIGUARD_TEST_RDP === '1' ? false : 'needs Apache guacd 1.6 on the PATH: run `bash ../shared/guacd/install.sh` as root (.ci/run does)';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function waitForPort(port: number, ms: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (child && child.exitCode !== null) throw new Error(`${child.spawnfile} exited (${child.exitCode}) before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Engine {
  readonly name: 'bridge' | 'guacd';
  readonly port: number;
  /** The engine's process: guacd forks one child per connection, so the desktop connections are its descendants'. */
  readonly pid: number;
  close(): Promise<void>;
}

async function startEngine(name: Engine['name'], command: string, args: (port: number) => string[], env: NodeJS.ProcessEnv): Promise<Engine> {
  const port = await freePort();
  const child = spawn(command, args(port), { stdio: ['ignore', 'ignore', 'inherit'], env });
  child.on('error', () => undefined);
  await waitForPort(port, 15000, child);
  return {
    name,
    port,
    pid: child.pid as number,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * guacd in the foreground on a free loopback port, logging warnings and errors to the test's stderr.
 * `caFile`: the CAs it trusts for desktop certificates (FreeRDP reads OpenSSL's SSL_CERT_FILE, as a
 * guacd container reads its system store).
 */
export function startGuacd(o: { caFile?: string } = {}): Promise<Engine> {
  const env = o.caFile ? { ...process.env, SSL_CERT_FILE: o.caFile } : process.env;
  return startEngine('guacd', GUACD, (port) => ['-b', '127.0.0.1', '-l', String(port), '-f', '-L', 'warning'], env);
}

/** The built-in bridge as `vdiguard bridge`, its own process as in production; `caFile` as VDIGUARD_BRIDGE_CA_FILE. */
export function startBridge(o: { caFile?: string } = {}): Promise<Engine> {
  const bin = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'vdiguard.js');
  const env = { ...process.env, VDIGUARD_BRIDGE_LOG_LEVEL: 'warn', ...(o.caFile ? { VDIGUARD_BRIDGE_CA_FILE: o.caFile } : {}) };
  return startEngine('bridge', process.execPath, (port) => [bin, 'bridge', '--listen', `127.0.0.1:${port}`], env);
}
