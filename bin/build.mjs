#!/usr/bin/env node
// @ts-check
/**
 * Builds dist/ from scratch with tsc (`npm run build`, `npm test`). With `--if-stale` (`npm start`)
 * it skips the build when dist/ is exactly what the last build of these sources left: plain
 * JavaScript, because it has to run before anything is compiled.
 *
 * Always a clean build: a source file deleted since the last build must not leave its old module in
 * dist/ for the tests or the gateway to load. The stamp written after a successful build holds a
 * hash of the sources (every .ts file under tsconfig.json's include folders, with tsconfig.json,
 * package.json and package-lock.json) and a fingerprint of dist/ (paths, sizes, modification
 * times), so an `npx tsc` run by hand in between, or a failed build, also means a rebuild.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';

const root = process.cwd();
const dist = join(root, 'dist');
const stampFile = join(dist, '.build-stamp');

/** Every file under `dir` whose name passes `keep`, as paths relative to the root, sorted. */
function filesUnder(dir, keep) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => ({ e, path: relative(root, join(e.parentPath ?? e.path, e.name)) })) // `path` before Node 20.12
    .filter(({ e, path }) => e.isFile() && keep(e.name) && !path.split(sep).includes('node_modules'))
    .map(({ path }) => path)
    .sort();
}

/** The folders tsc compiles: the part of each tsconfig.json include pattern before its first wildcard. */
function sourceFolders() {
  const { include } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
  return include.map((pattern) => {
    const parts = pattern.split('/');
    const wildcard = parts.findIndex((part) => part.includes('*'));
    return (wildcard === -1 ? parts : parts.slice(0, wildcard)).join('/');
  });
}

function sourcesHash() {
  const hash = createHash('sha256');
  const files = [...sourceFolders().flatMap((folder) => filesUnder(join(root, folder), (name) => name.endsWith('.ts'))), 'tsconfig.json', 'package.json', 'package-lock.json'];
  for (const file of files) {
    hash.update(file + '\0');
    hash.update(existsSync(join(root, file)) ? readFileSync(join(root, file)) : '(none)');
    hash.update('\0');
  }
  return hash.digest('hex');
}

function distFingerprint() {
  const hash = createHash('sha256');
  for (const file of filesUnder(dist, (name) => name !== '.build-stamp')) {
    const s = statSync(join(root, file));
    hash.update(`${file}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function upToDate(sources) {
  if (!existsSync(stampFile)) return false;
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
  return stamp.sources === sources && stamp.dist === distFingerprint();
}

const sources = sourcesHash();
if (process.argv.includes('--if-stale') && upToDate(sources)) {
  process.stderr.write('dist/ is up to date with the sources: not rebuilding\n');
  process.exit(0);
}
process.stderr.write('building dist/ (tsc)...\n');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);
writeFileSync(stampFile, JSON.stringify({ sources, dist: distFingerprint() }) + '\n');
