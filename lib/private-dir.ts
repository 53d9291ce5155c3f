/**
 * The data directory holds the embedded store (password hashes, sealed TOTP secrets, the audit
 * trail), the admin token and the gateway key: only the service's own user may read or enter it.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { VdiguardError } from './errors.js';

/** Why a directory with these mode bits is not private, or undefined when it is. */
export function permissionProblem(dir: string, mode: number): string | undefined {
  const open = mode & 0o077;
  if (open === 0) return undefined;
  const who = [open & 0o070 ? 'its group' : '', open & 0o007 ? 'every user' : ''].filter(Boolean).join(' and ');
  return `${dir} is open to ${who} (mode ${(mode & 0o777).toString(8).padStart(3, '0')}), and it holds secrets: run chmod -R go-rwx ${dir}`;
}

/**
 * Creates `dir` (and missing parents) readable by its owner only, or checks that an existing one
 * is. Throws failed-precondition naming the chmod to run.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const problem = permissionProblem(dir, statSync(dir).mode);
  if (problem) throw new VdiguardError('failed-precondition', problem);
}

/**
 * Takes group and other permissions off everything under `dir` (which must be private already).
 * PGlite creates its files world-readable (some world-writable) whatever the umask.
 */
export function restrictTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const mode = lstatSync(path).mode;
    if (!entry.isSymbolicLink() && mode & 0o077) chmodSync(path, mode & 0o700);
  }
}
