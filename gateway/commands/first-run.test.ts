/**
 * The first run of the real `vdiguard` command as a child process: what `vdiguard gateway` says
 * when it starts, and what every server says when its port is taken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url));

interface Run {
  /** Resolves with stderr once it matches `until`, or when the process exits. */
  stderrUntil(until: RegExp): Promise<string>;
  /** Ends the process (SIGTERM) unless it has ended; resolves with its exit code. */
  stop(): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  // A clean environment: nothing of the developer's VDIGUARD_* or DATABASE_URL.
  const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', VDIGUARD_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    for (const w of waiters) w();
  });
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    exited,
    stderrUntil: (until) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!until.test(stderr) && !ended) return;
          waiters.delete(check);
          resolve(stderr);
        };
        waiters.add(check);
        check();
      }),
    stop: () => {
      if (!ended) child.kill('SIGTERM');
      return exited;
    },
  };
}

async function succeeds(args: string[], env: Record<string, string>): Promise<void> {
  const r = run(args, env);
  assert.equal(await r.exited, 0, `vdiguard ${args.join(' ')} failed: ${await r.stderrUntil(/$/)}`);
}

function occupiedPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

const quietGateway = (dataDir: string): Record<string, string> => ({
  VDIGUARD_DATA_DIR: dataDir,
  VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0',
  VDIGUARD_SCORER_LISTEN: '127.0.0.1:0',
  VDIGUARD_GATEWAY_BRIDGE: 'off',
  VDIGUARD_GUACD: '127.0.0.1:4822',
});

test('the first start says where to sign in, where the token and store are, and the next steps; they go once a desktop is assigned', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vdiguard-first-run-'));
  try {
    const first = run(['gateway'], quietGateway(dataDir));
    const out = await first.stderrUntil(/signs in at/);
    assert.equal(await first.stop(), 0, out);
    const url = /agents sign in at +(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    assert.ok(url, out);
    assert.match(out, new RegExp(`admin page +${url}/admin\n`));
    assert.ok(out.includes(`admin token        in ${join(dataDir, 'admin-token')} `), out);
    assert.ok(existsSync(join(dataDir, 'admin-token')));
    assert.ok(out.includes(`store              embedded (PGlite) in ${join(dataDir, 'store')}\n`), out);
    assert.match(out, /desktops through +guacd at 127\.0\.0\.1:4822\n/);
    assert.match(out, /scorer +inside this process, gRPC on 127\.0\.0\.1:\d+\n/);
    assert.match(out, /no agents, no desktops\n/);
    const cmd = `VDIGUARD_DATA_DIR=${dataDir} node `;
    assert.ok(out.includes(`${cmd}`) && /desktop check <host>:3389/.test(out), out);
    assert.match(out, /desktop add desk1 --host <host> .*--cert-fingerprints sha256:/);
    assert.match(out, /VDIGUARD_AGENT_PASSWORD='<initial password>' .*agent add alice/);
    assert.match(out, /desktop assign desk1 alice/);

    // With the gateway stopped, the embedded store takes the CLI's changes.
    const env = { VDIGUARD_DATA_DIR: dataDir, VDIGUARD_AGENT_PASSWORD: 'initial password 1', VDIGUARD_DESKTOP_PASSWORD: 'x' };
    await succeeds(['agent', 'add', 'alice'], env);
    await succeeds(['desktop', 'add', 'desk1', '--host', '127.0.0.1', '--ignore-cert'], env);
    const partly = run(['gateway'], quietGateway(dataDir));
    const between = await partly.stderrUntil(/signs in at/);
    await partly.stop();
    assert.match(between, /1 agent, 1 desktop\n/);
    assert.match(between, /desktop assign desk1 alice/);
    assert.doesNotMatch(between, /agent add|desktop add/);

    await succeeds(['desktop', 'assign', 'desk1', 'alice'], env);
    const again = run(['gateway'], { ...quietGateway(dataDir), VDIGUARD_ADMIN_TOKEN: 'a'.repeat(32) });
    const ready = await again.stderrUntil(/scorer +inside.*\n.*\n/);
    await again.stop();
    assert.match(ready, /admin token +from VDIGUARD_ADMIN_TOKEN\n/);
    assert.doesNotMatch(ready, /next steps/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a taken port names the setting that moves each server', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vdiguard-port-'));
  const { server, port } = await occupiedPort();
  const taken = `cannot listen on 127.0.0.1:${port} (address in use): another process has the port; set`;
  try {
    const cases: { name: string; args: string[]; env: Record<string, string>; setting: string }[] = [
      { name: 'gateway', args: ['gateway', '--listen', `127.0.0.1:${port}`], env: quietGateway(dataDir), setting: 'VDIGUARD_GATEWAY_LISTEN or --listen' },
      { name: 'scorer inside the gateway', args: ['gateway'], env: { ...quietGateway(dataDir), VDIGUARD_SCORER_LISTEN: `127.0.0.1:${port}` }, setting: 'VDIGUARD_SCORER_LISTEN' },
      { name: 'scorer', args: ['scorer', '--listen', `127.0.0.1:${port}`], env: { VDIGUARD_DATA_DIR: dataDir }, setting: 'VDIGUARD_SCORER_LISTEN' },
      { name: 'bridge', args: ['bridge', '--listen', `127.0.0.1:${port}`], env: {}, setting: 'VDIGUARD_BRIDGE_LISTEN or --listen' },
      {
        name: "the gateway's built-in bridge",
        args: ['gateway'],
        env: { ...quietGateway(dataDir), VDIGUARD_GATEWAY_BRIDGE: 'builtin', VDIGUARD_GUACD: `127.0.0.1:${port}` },
        setting: 'VDIGUARD_GUACD or --guacd to a free port for the built-in bridge, or VDIGUARD_GATEWAY_BRIDGE=off',
      },
    ];
    for (const c of cases) {
      const r = run(c.args, c.env);
      const code = await r.exited;
      const stderr = await r.stderrUntil(/$/);
      assert.equal(code, 2, `${c.name}: ${stderr}`);
      assert.ok(stderr.includes(`vdiguard: ${taken} ${c.setting}`), `${c.name}: ${stderr}`);
    }
  } finally {
    server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
