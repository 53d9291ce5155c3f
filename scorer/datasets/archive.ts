/**
 * Access to the shared dataset archives (../shared/datasets, or VDIGUARD_DATASETS): list members
 * and extract a few of them with the system `tar` into a cache folder keyed by the archive, so
 * tests and measurements cut small slices at run time and nothing is copied into the repository.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VdiguardError } from '../../lib/errors.js';

const run = promisify(execFile);

/** The project root: the nearest folder above this module with a package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('project root not found');
    dir = up;
  }
  return dir;
}

/** The datasets folder: $VDIGUARD_DATASETS, else ../shared/datasets beside the project root. */
export function datasetsDir(): string {
  return process.env.VDIGUARD_DATASETS ?? resolve(projectRoot(), '..', 'shared', 'datasets');
}

export const ARCHIVES = {
  aalto: 'aalto-keystrokes.tar.gz',
  balabit: 'balabit-mouse.tar.gz',
  sapimouse: 'sapimouse.tar.gz',
} as const;
export type ArchiveName = keyof typeof ARCHIVES;

/** The archive's path, or undefined when it is not there (tests skip with that reason). */
export function archivePath(name: ArchiveName): string | undefined {
  const p = join(datasetsDir(), ARCHIVES[name]);
  return existsSync(p) ? p : undefined;
}

/** Why data tests skip, or false when the archive is present. */
export function skipReason(name: ArchiveName): string | false {
  return archivePath(name) ? false : `dataset archive ${ARCHIVES[name]} not found in ${datasetsDir()} (set VDIGUARD_DATASETS)`;
}

async function cacheDir(archive: string): Promise<string> {
  const s = await stat(archive);
  const key = `${ARCHIVES_KEY(archive)}-${s.size}-${Math.floor(s.mtimeMs)}`;
  const dir = join(projectRoot(), '.cache', 'datasets', key);
  await mkdir(dir, { recursive: true });
  return dir;
}

function ARCHIVES_KEY(archive: string): string {
  return archive.replace(/^.*[\\/]/, '').replace(/\.tar\.gz$/, '');
}

function need(name: ArchiveName): string {
  const p = archivePath(name);
  if (!p) throw new VdiguardError('not-found', `dataset archive ${ARCHIVES[name]} not found in ${datasetsDir()}; set VDIGUARD_DATASETS to the folder that holds it`);
  return p;
}

/** Every member of the archive (listed once, then cached). */
export async function listMembers(name: ArchiveName): Promise<string[]> {
  const archive = need(name);
  const dir = await cacheDir(archive);
  const listFile = join(dir, '.members');
  if (existsSync(listFile)) return (await readFile(listFile, 'utf8')).split('\n').filter((l) => l !== '');
  const { stdout } = await run('tar', ['tzf', archive], { maxBuffer: 64 * 1024 * 1024 });
  await writeFile(listFile, stdout);
  return stdout.split('\n').filter((l) => l !== '');
}

/** Extracts the members not yet in the cache; returns the cache folder they are under. */
export async function extractMembers(name: ArchiveName, members: readonly string[]): Promise<string> {
  const archive = need(name);
  const dir = await cacheDir(archive);
  const missing = members.filter((m) => !existsSync(join(dir, m)));
  if (missing.length > 0) {
    await run('tar', ['xzf', archive, '-C', dir, ...missing], { maxBuffer: 16 * 1024 * 1024 });
  }
  return dir;
}

/** Extracts the whole archive into the cache (once); returns the folder of its top-level entry. */
export async function extractAll(name: ArchiveName): Promise<string> {
  const archive = need(name);
  const dir = await cacheDir(archive);
  const done = join(dir, '.complete');
  if (!existsSync(done)) {
    await run('tar', ['xzf', archive, '-C', dir]);
    await writeFile(done, '');
  }
  return join(dir, ARCHIVES_KEY(archive));
}
