/**
 * What the runtime image ships must run on production dependencies alone (deploy/Dockerfile installs
 * `npm ci --omit=dev`): every package that the shipped code imports is in package.json's
 * "dependencies". Read from the compiled code this test runs beside, less what the image leaves out
 * (tests, test helpers, benchmarks, these deploy tools, the relay rig).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './chart/chart.js';

const DIST = join(REPO_ROOT, 'dist');

function shippedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return ['testing', 'bench', 'deploy', 'rig'].includes(e.name) ? [] : shippedFiles(path);
    return /\.js$/.test(e.name) && !/\.test\.js$/.test(e.name) && !/bench\.js$/.test(e.name) ? [path] : [];
  });
}

/** Package names a module imports: static and dynamic imports, and require() through createRequire. */
export function importedPackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g),
    ...source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...source.matchAll(/\bimport\s+['"]([^'"]+)['"]/g),
    ...source.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...source.matchAll(/\bimport\.meta\.resolve\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !builtinModules.includes(s.split('/')[0]!))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

test('the scanner finds every kind of import and reduces it to a package name', () => {
  const src = `import a from 'pkg-a'; import { b } from "@scope/b/sub"; import 'side'; const c = await import('dyn');
    const d = require('guacamole-lite/lib/X.js'); import.meta.resolve('page-lib'); import x from './local.js'; import fs from 'node:fs'; import p from 'path';`;
  assert.deepEqual(importedPackages(src).sort(), ['@scope/b', 'dyn', 'guacamole-lite', 'page-lib', 'pkg-a', 'side']);
});

test('every package the shipped code imports is a production dependency', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const missing: string[] = [];
  const files = shippedFiles(DIST);
  assert.ok(files.length > 20, 'compiled code found');
  for (const file of files) {
    for (const name of importedPackages(readFileSync(file, 'utf8'))) {
      if (!(name in pkg.dependencies)) missing.push(`${relative(DIST, file)}: ${name}`);
    }
  }
  assert.deepEqual([...new Set(missing)], [], 'imported at run time but not in "dependencies" (npm ci --omit=dev leaves them out)');
});
