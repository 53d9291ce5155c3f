import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../scorer/datasets/archive.js';
import { totpCode } from '../auth/totp.js';
import { api } from '../testing/harness.js';

const CLI = join(projectRoot(), 'dist/bin/vdiguard.js');

interface Started {
  readonly url: string;
  /** Everything written to stderr until the gateway said where it listens. */
  readonly stderr: string;
  stop(): Promise<void>;
}

/** `vdiguard gateway` as an operator starts it, on its own data directory and free ports. */
async function startGatewayProcess(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  // The embedded store, whatever the environment running the tests names.
  const { DATABASE_URL: _, ...inherited } = process.env;
  const child = spawn(process.execPath, [CLI, 'gateway'], {
    env: {
      ...inherited,
      VDIGUARD_DATA_DIR: dataDir,
      VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0',
      VDIGUARD_SCORER_LISTEN: '127.0.0.1:0',
      VDIGUARD_GATEWAY_BRIDGE: 'off',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within 120 s:\n${stderr}`)), 120_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      const m = /^vdiguard gateway on (http:\/\/\S+) /m.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    void exited.then((code) => reject(new Error(`the gateway exited with ${code}:\n${stderr}`)));
  });
  return {
    url,
    stderr,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The TOTP secret of the provisioning URI the gateway printed. */
function printedSecret(stderr: string): string {
  const m = /^otpauth:\/\/totp\/[^?\s]+\?secret=([A-Z2-7]+)&/m.exec(stderr);
  assert.ok(m, `no provisioning URI in:\n${stderr}`);
  return m[1] as string;
}

test('first start creates the first admin: generated password printed once, never logged; a second start prints nothing', { timeout: 400_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-first-admin-'));
  try {
    const first = await startGatewayProcess(dir);
    let password: string;
    try {
      const m = /^ {2}password: (\S+)$/m.exec(first.stderr);
      assert.ok(m, first.stderr);
      password = m[1] as string;
      assert.match(first.stderr, new RegExp(`^First admin created\\. Sign in at ${first.url}/admin as:\\n {2}name: {5}admin$`, 'm'));
      assert.match(first.stderr, /[▀▄█]{20}/, 'a QR code for the terminal');
      const logLines = first.stderr.split('\n').filter((l) => l.startsWith('{'));
      assert.ok(logLines.length > 0, 'the structured log runs too');
      assert.ok(logLines.every((l) => !l.includes(password) && !l.includes(printedSecret(first.stderr))), 'neither password nor TOTP secret in the structured log');
      const signedIn = await api(first.url, '/api/admin/login', { name: 'admin', password, code: totpCode(printedSecret(first.stderr), Date.now()) });
      assert.deepEqual([signedIn.status, signedIn.body], [200, { name: 'admin', role: 'admin' }]);
    } finally {
      await first.stop();
    }
    const second = await startGatewayProcess(dir);
    await second.stop();
    assert.doesNotMatch(second.stderr, /First admin|otpauth:|^ {2}password:/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('first admin from the environment: its name and password file are used, the password is never printed', { timeout: 400_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-first-admin-'));
  try {
    const secretFile = join(dir, 'first-admin-password');
    writeFileSync(secretFile, 'from-a-mounted-secret-42\n', { mode: 0o600 });
    const g = await startGatewayProcess(dir, { VDIGUARD_FIRST_ADMIN: 'root', VDIGUARD_FIRST_ADMIN_PASSWORD_FILE: secretFile });
    try {
      assert.match(g.stderr, /^ {2}name: {5}root$/m);
      assert.match(g.stderr, /^ {2}password: the one in VDIGUARD_FIRST_ADMIN_PASSWORD \(or its file\)$/m);
      assert.doesNotMatch(g.stderr, /from-a-mounted-secret/);
      const signedIn = await api(g.url, '/api/admin/login', { name: 'root', password: 'from-a-mounted-secret-42', code: totpCode(printedSecret(g.stderr), Date.now()) });
      assert.deepEqual([signedIn.status, signedIn.body], [200, { name: 'root', role: 'admin' }]);
    } finally {
      await g.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
