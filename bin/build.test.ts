import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../bin/build.mjs', import.meta.url));
const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));

/** A project of two modules with its own tsconfig.json, compiled by the real tsc. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-build-'));
  symlinkSync(nodeModules, join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', outDir: 'dist', rootDir: '.', types: [] }, include: ['src/**/*.ts'] }));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'package-lock.json'), '{}');
  writeFileSync(join(dir, 'src/a.ts'), 'export const a = 1;\n');
  writeFileSync(join(dir, 'src/b.ts'), 'export const b = 2;\n');
  return dir;
}

function build(dir: string, ...args: string[]): string {
  const run = spawnSync(process.execPath, [script, ...args], { cwd: dir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stderr;
}

test('npm start builds once, then not again until a source, tsconfig.json or the lock file changes', () => {
  const dir = project();
  try {
    assert.match(build(dir, '--if-stale'), /building/);
    assert.ok(existsSync(join(dir, 'dist/src/a.js')));
    assert.match(build(dir, '--if-stale'), /up to date/);

    writeFileSync(join(dir, 'src/a.ts'), 'export const a = 3;\n');
    assert.match(build(dir, '--if-stale'), /building/);
    assert.match(build(dir, '--if-stale'), /up to date/);

    for (const file of ['tsconfig.json', 'package-lock.json']) {
      writeFileSync(join(dir, file), file === 'tsconfig.json' ? JSON.stringify({ compilerOptions: { module: 'NodeNext', outDir: 'dist', rootDir: '.', types: [], strict: true }, include: ['src/**/*.ts'] }) : '{"lockfileVersion":3}');
      assert.match(build(dir, '--if-stale'), /building/, `after a change of ${file}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a deleted source leaves no module behind, and dist/ changed outside the build is rebuilt', () => {
  const dir = project();
  try {
    build(dir, '--if-stale');
    rmSync(join(dir, 'src/b.ts'));
    assert.match(build(dir, '--if-stale'), /building/);
    assert.ok(!existsSync(join(dir, 'dist/src/b.js')), 'the deleted module is gone from dist/');

    // As an `npx tsc` by hand would: dist/ no longer what the stamped build left.
    utimesSync(join(dir, 'dist/src/a.js'), new Date(), new Date(Date.now() + 5000));
    assert.match(build(dir, '--if-stale'), /building/);
    // Without --if-stale (npm run build, npm test) it always builds.
    assert.match(build(dir), /building/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed build leaves no stamp, so the next start builds again', () => {
  const dir = project();
  try {
    build(dir, '--if-stale');
    writeFileSync(join(dir, 'src/a.ts'), 'export const a: number = "not a number";\n');
    const failed = spawnSync(process.execPath, [script, '--if-stale'], { cwd: dir, encoding: 'utf8' });
    assert.notEqual(failed.status, 0);
    assert.ok(!existsSync(join(dir, 'dist/.build-stamp')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
