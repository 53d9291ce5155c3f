/**
 * The CLI as an admin runs it (`node dist/bin/vdiguard.js`, a child process) next to a running
 * gateway on an embedded data directory: its changes go through the gateway's admin API, are seen
 * at once and survive a restart; a store another live process holds is never opened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { totpCode } from '../auth/totp.js';

const BIN = fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url));
const PASSWORD = 'initial password 1';

function env(dir: string): NodeJS.ProcessEnv {
  const { DATABASE_URL: _unused, ...rest } = process.env;
  return { ...rest, VDIGUARD_DATA_DIR: dir, VDIGUARD_GATEWAY_BRIDGE: 'off', VDIGUARD_SCORER_LISTEN: '127.0.0.1:0', VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0', VDIGUARD_LOG_LEVEL: 'warn', VDIGUARD_AGENT_PASSWORD: PASSWORD };
}

function cli(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: env(dir) }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

/** `vdiguard gateway` on the data directory; resolves with its URL once it listens. */
async function startGateway(dir: string): Promise<{ child: ChildProcess; url: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'gateway'], { env: env(dir), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /vdiguard gateway on (http:\/\/[^ ]+)/.exec(stderr);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}): ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    url,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function adminGet(url: string, dir: string, path: string): Promise<unknown> {
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  const res = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return res.json();
}

test('the CLI while the gateway runs: changes through its admin API, seen at once, kept after a restart', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-cli-'));
  let g = await startGateway(dir);
  try {
    const owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as { pid: number; adminUrl: string; command: string };
    assert.deepEqual([owner.pid, owner.adminUrl, owner.command], [g.child.pid, g.url, 'vdiguard gateway']);

    const added = await cli(dir, 'agent', 'add', 'alice', '--name', 'Alice A.');
    assert.equal(added.code, 0, added.stderr);
    const secret = /secret=([A-Z2-7]+)/.exec(added.stdout)?.[1];
    assert.ok(secret, added.stdout);
    assert.equal((await cli(dir, 'desktop', 'add', 'desk1', '--host', '127.0.0.1', '--port', '3389', '--ignore-cert')).code, 0);
    assert.equal((await cli(dir, 'desktop', 'assign', 'desk1', 'alice')).code, 0);

    // The gateway sees alice at once: in its admin API, and at its login.
    const { agents } = (await adminGet(g.url, dir, '/api/admin/agents')) as { agents: { agentId: string; displayName: string; desktops: string[] }[] };
    assert.deepEqual(agents.map((a) => [a.agentId, a.displayName, a.desktops]), [['alice', 'Alice A.', ['desk1']]]);
    const login = await fetch(`${g.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'alice', password: PASSWORD, code: totpCode(secret, Date.now()), desktop: 'desk1' }),
    });
    assert.equal(login.status, 200, await login.clone().text());
    const { actions } = (await adminGet(g.url, dir, '/api/admin/actions?target=alice')) as { actions: { actor: string; action: string }[] };
    assert.deepEqual(actions.map((a) => `${a.actor} ${a.action}`), ['admin-token agent.add']);

    // Validation errors reach the terminal as they are.
    const bad = await cli(dir, 'desktop', 'update', 'desk1', '--port', '99999');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^vdiguard: port must be a whole number from 1 to 65535 \(got "99999"\)\n$/);

    // A second gateway on the same store is refused, naming the owner.
    const second = spawn(process.execPath, [BIN, 'gateway'], { env: env(dir), stdio: ['ignore', 'ignore', 'pipe'] });
    let secondErr = '';
    second.stderr!.on('data', (c: Buffer) => (secondErr += c.toString()));
    assert.equal(await new Promise((resolve) => second.once('exit', resolve)), 2);
    assert.match(secondErr, new RegExp(`the embedded store in ${dir} is in use by \`vdiguard gateway\` \\(pid ${g.child.pid},`));

    assert.equal(await g.stop(), 0);
    assert.equal(existsSync(join(dir, 'owner.json')), false, 'the claim goes with the gateway');
    // Nothing holds the store: the CLI opens it itself, and alice is there.
    const listed = await cli(dir, 'agent', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^alice\tactive\tAlice A\.\tdesktops: desk1\n$/);

    g = await startGateway(dir);
    const again = await cli(dir, 'agent', 'add', 'alice');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /agent alice already exists/);
    assert.equal((await cli(dir, 'agent', 'rename', 'alice', 'Alice B.')).code, 0);
    const { agents: after } = (await adminGet(g.url, dir, '/api/admin/agents')) as { agents: { displayName: string }[] };
    assert.equal(after[0]?.displayName, 'Alice B.');
  } finally {
    await g.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI never opens a store another live process holds, and replaces a dead one\'s claim', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-cli-'));
  try {
    // A live process (this test) holding the store without an admin API: a scorer alone, say.
    writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, command: 'vdiguard scorer', startedAt: '2024-01-01T00:00:00.000Z' }));
    const held = await cli(dir, 'agent', 'list');
    assert.equal(held.code, 2);
    assert.match(held.stderr, new RegExp(`in use by \`vdiguard scorer\` \\(pid ${process.pid}, since 2024-01-01T00:00:00.000Z\\); PGlite serves one process: stop it first, or use PostgreSQL \\(DATABASE_URL\\)`));
    assert.equal(existsSync(join(dir, 'store')), false, 'the store was not opened');

    // A gateway that owns it but does not answer: the CLI says what to do, and opens nothing.
    writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, command: 'vdiguard gateway', adminUrl: 'http://127.0.0.1:1', startedAt: 'x' }));
    writeFileSync(join(dir, 'admin-token'), 'a-token-long-enough-for-the-check-0123\n', { mode: 0o600 });
    const unreachable = await cli(dir, 'agent', 'list');
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, /the gateway at http:\/\/127\.0\.0\.1:1 does not answer \(.*\): it owns the embedded store .* so this command cannot open the store itself: check that the gateway is healthy/);
    rmSync(join(dir, 'admin-token'));
    const noToken = await cli(dir, 'agent', 'list');
    assert.match(noToken.stderr, /goes through its admin API, which needs the admin token: no admin token: set VDIGUARD_ADMIN_TOKEN/);

    // A claim whose process is gone does not count.
    writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 12345, command: 'vdiguard gateway', startedAt: 'x' }));
    const stale = await cli(dir, 'agent', 'list');
    assert.equal(stale.code, 0, stale.stderr);
    assert.equal(stale.stdout, 'no agents\n');
    assert.equal(existsSync(join(dir, 'owner.json')), false, "the command's own claim is gone with it");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
