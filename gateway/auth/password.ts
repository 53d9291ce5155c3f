/**
 * Password hashing with scrypt (memory-hard, built into Node). The stored form names its
 * parameters, so they can be raised later without breaking existing hashes:
 *   scrypt$N$r$p$salt(base64)$hash(base64)
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { HashQueue } from './hash-queue.js';

/** 2^15 x 8 x 128 bytes = 32 MiB per hash, about 60 ms (DEFAULT_HASH_MS) on one core. */
const DEFAULT = { N: 1 << 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const DEFAULT_HASH_MS = 60;
const MAX_PASSWORD = 1024;

function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...o, maxmem: 256 * o.N * o.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, params = DEFAULT): Promise<string> {
  if (password.length < 8 || password.length > MAX_PASSWORD) throw new Error(`a password must be 8 to ${MAX_PASSWORD} characters`);
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * The process's sign-in hashes: one per two cores (at least one, at most libuv's default pool of 4),
 * so that a shift start's hashing never takes more than half the machine from the sessions it
 * serves; a wait of at most 10 s behind them, which a page's sign-in waits out and a person does
 * not give up on.
 */
export const passwordHashes = new HashQueue({ concurrency: Math.min(4, Math.max(1, Math.floor(availableParallelism() / 2))), maxWaitMs: 10_000, initialHashMs: DEFAULT_HASH_MS });

/** A hash compared against when the agent is unknown, so both cases take the same time. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(12).toString('base64'));
  return dummy;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || password.length > MAX_PASSWORD) return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4] as string, 'base64');
  const want = Buffer.from(parts[5] as string, 'base64');
  const got = await derive(password, salt, { N, r, p });
  return got.length === want.length && timingSafeEqual(got, want);
}
