/**
 * Authenticated encryption (AES-256-GCM) with the gateway's key: connection tickets, agents' logins,
 * admins' sessions, TOTP secrets and desktop credentials. Each use binds a purpose as additional data, so a value sealed for one
 * purpose never opens as another (a sealed TOTP secret is not a ticket).
 *
 * Sealed form: base64url(iv[12] | tag[16] | ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { ensurePrivateDir } from '../../lib/private-dir.js';
import { dirname, join } from 'node:path';
import { VdiguardError } from '../../lib/errors.js';
import { parseSecretKey } from '../config.js';

export type SealPurpose = 'ticket' | 'login' | 'admin-session' | 'totp-secret' | 'desktop-credentials';

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new VdiguardError('invalid-argument', 'the gateway key must be 32 bytes');
    this.key = Buffer.from(key);
  }

  seal(purpose: SealPurpose, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`vdiguard:${purpose}`));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The plaintext, or undefined when the value was not sealed by this key for this purpose. */
  open(purpose: SealPurpose, sealed: string): string | undefined {
    if (typeof sealed !== 'string' || sealed.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(`vdiguard:${purpose}`));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/**
 * The gateway's key: from the setting, else from the key file, else a new random key written to
 * the key file (mode 0600). CLI commands that seal secrets and the gateway must share it.
 */
export function resolveSecretKey(s: { secretKey?: Buffer; secretKeyFile?: string; dataDir: string }, create = true): Buffer {
  if (s.secretKey) return s.secretKey;
  const file = s.secretKeyFile ?? join(s.dataDir, 'gateway-key');
  try {
    return parseSecretKey(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new VdiguardError('invalid-argument', `the gateway key in ${file} is unusable: ${(err as Error).message}`);
    }
    if (!create) throw new VdiguardError('failed-precondition', `no gateway key: set VDIGUARD_GATEWAY_SECRET_KEY or create ${file}`);
  }
  const key = randomBytes(32);
  ensurePrivateDir(dirname(file));
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
