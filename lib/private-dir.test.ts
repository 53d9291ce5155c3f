import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdiguardError } from './errors.js';
import { ensurePrivateDir, permissionProblem, restrictTree } from './private-dir.js';

test('permission check: only the owner may read, write or enter', () => {
  assert.equal(permissionProblem('/d', 0o40700), undefined);
  assert.equal(permissionProblem('/d', 0o40500), undefined);
  assert.equal(permissionProblem('/d', 0o40755), '/d is open to its group and every user (mode 755), and it holds secrets: run chmod -R go-rwx /d');
  assert.match(permissionProblem('/d', 0o40750) ?? '', /open to its group \(mode 750\)/);
  assert.match(permissionProblem('/d', 0o40701) ?? '', /open to every user \(mode 701\)/);
  assert.match(permissionProblem('/d', 0o40720) ?? '', /open to its group/, 'group-writable');
});

test('a new data directory is created 0700; an open one is refused; restrictTree closes files inside', () => {
  const base = mkdtempSync(join(tmpdir(), 'vdiguard-private-'));
  const fresh = join(base, 'a', 'data');
  ensurePrivateDir(fresh);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o755);
  assert.throws(() => ensurePrivateDir(open), (err: unknown) => err instanceof VdiguardError && err.code === 'failed-precondition' && err.message.includes(`chmod -R go-rwx ${open}`));
  mkdirSync(join(fresh, 'sub'), { mode: 0o755 });
  writeFileSync(join(fresh, 'sub', 'file'), 'x', { mode: 0o666 });
  chmodSync(join(fresh, 'sub', 'file'), 0o666);
  restrictTree(fresh);
  assert.equal(statSync(join(fresh, 'sub')).mode & 0o777, 0o700);
  assert.equal(statSync(join(fresh, 'sub', 'file')).mode & 0o777, 0o600);
});
