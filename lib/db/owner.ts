/**
 * One writer per embedded store. PGlite serves one process: a second process that opens the same
 * directory sees a copy that neither process's writes reach, and the two overwrite each other
 * (a CLI's `agent add` vanished, the gateway never saw it). So the process that opens the embedded
 * store claims it first with `<data dir>/owner.json`, created exclusively and removed on close;
 * everyone else reads the claim and goes through its owner (the gateway's admin API) instead.
 * A claim whose process is dead is stale and replaced. PostgreSQL needs none of this.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VdiguardError } from '../errors.js';

export interface StoreOwner {
  readonly pid: number;
  /** What holds it: `vdiguard gateway`, `vdiguard scorer`, `vdiguard agent add`. */
  readonly command: string;
  /** The admin API of a gateway that owns the store (loopback when it listens on all addresses), once it listens. */
  readonly adminUrl?: string;
  /** ISO time the claim was made. */
  readonly startedAt: string;
}

export interface StoreClaim {
  readonly file: string;
  /** Adds the admin API's address once the owner listens, so CLI commands can reach it. */
  announce(adminUrl: string): void;
  /** Gives the store up (idempotent). */
  release(): void;
}

export function ownerFile(dataDir: string): string {
  return join(dataDir, 'owner.json');
}

/** The live process that holds the store in `dataDir`, or undefined (none, or a stale claim). */
export function storeOwner(dataDir: string): StoreOwner | undefined {
  const owner = readOwner(ownerFile(dataDir));
  return owner && alive(owner.pid) ? owner : undefined;
}

/**
 * Claims the embedded store in `dataDir` for this process. Throws failed-precondition naming the
 * owner when a live process holds it; replaces (and reports through `onStale`) a dead one's claim.
 */
export function claimStore(dataDir: string, command: string, onStale: (stale: StoreOwner) => void = () => undefined): StoreClaim {
  const file = ownerFile(dataDir);
  const mine: StoreOwner = { pid: process.pid, command, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(mine) + '\n', { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const held = readOwner(file);
    if (held && alive(held.pid)) throw heldBy(held, dataDir);
    if (held) onStale(held);
    unlinkSync(file);
  }
  let current = mine;
  let released = false;
  return {
    file,
    announce(adminUrl) {
      if (released) return;
      current = { ...current, adminUrl };
      // Readers never see a half-written claim: write beside it, then rename over it.
      writeFileSync(`${file}.new`, JSON.stringify(current) + '\n', { mode: 0o600 });
      renameSync(`${file}.new`, file);
    },
    release() {
      if (released) return;
      released = true;
      // Only our own claim: after a stale-claim takeover by someone else the file is theirs.
      if (readOwner(file)?.pid === process.pid) unlinkSync(file);
    },
  };
}

/** The error for a store another live process holds: who, and what to do. */
export function heldBy(owner: StoreOwner, dataDir: string): VdiguardError {
  return new VdiguardError(
    'failed-precondition',
    `the embedded store in ${dataDir} is in use by \`${owner.command}\` (pid ${owner.pid}, since ${owner.startedAt}); PGlite serves one process: ` +
      `stop it first, or use PostgreSQL (DATABASE_URL) for several processes. If no such process runs, delete ${ownerFile(dataDir)}`,
  );
}

function readOwner(file: string): StoreOwner | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const o = JSON.parse(text) as StoreOwner;
    if (Number.isSafeInteger(o.pid) && o.pid > 0) return o;
  } catch {
    // A claim cut short by a crash mid-write: nobody holds it.
  }
  return { pid: 0, command: 'unknown', startedAt: '' };
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
