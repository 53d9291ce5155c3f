/**
 * The first admin, created when the gateway starts on a store with no admin at all, so a new
 * installation can be run from its admin page at once. Its name and password come from the
 * settings, or the password is generated; either way the TOTP secret is new. What the person
 * starting the gateway needs to sign in is shown once, on stderr: never a password they set
 * themselves. Replicas starting together create one admin between them (AdminStore.addFirst).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VdiguardError } from '../../lib/errors.js';
import type { GatewaySettings } from '../config.js';
import { terminalQr } from '../commands/qr.js';
import type { AdminStore } from '../store/admin-store.js';
import type { AdminActions } from './actions.js';
import { passwordHash, provisioning, type TotpProvisioning } from './accounts.js';
import type { Actor } from './actor.js';
import { newTotpSecret } from '../auth/totp.js';

/** Recorded as the creator of the first admin in the audit trail. */
const FIRST_START: Actor = { kind: 'cli', name: 'first-start', role: 'admin' };

export interface FirstAdmin {
  readonly name: string;
  /** Only when generated: a password from the settings is never shown. */
  readonly generatedPassword?: string;
  readonly totp: TotpProvisioning;
}

type FirstAdminSettings = Pick<GatewaySettings, 'firstAdmin' | 'firstAdminPassword' | 'firstAdminPasswordFile' | 'totpIssuer'>;

/** Creates the first admin when there is none; undefined when there was one already. */
export async function ensureFirstAdmin(admins: AdminStore, actions: AdminActions, s: FirstAdminSettings): Promise<FirstAdmin | undefined> {
  if ((await admins.list()).length > 0) return undefined;
  const given = s.firstAdminPassword ?? readPasswordFile(s.firstAdminPasswordFile);
  const password = given ?? randomBytes(18).toString('base64url');
  let hash: string;
  try {
    hash = await passwordHash(password);
  } catch (err) {
    throw new VdiguardError('invalid-argument', `VDIGUARD_FIRST_ADMIN_PASSWORD${s.firstAdminPassword === undefined ? '_FILE' : ''}: ${(err as Error).message}`);
  }
  const secret = newTotpSecret();
  let admin;
  try {
    admin = await admins.addFirst({ name: s.firstAdmin, role: 'admin', passwordHash: hash, totpSecret: secret });
  } catch (err) {
    if (err instanceof VdiguardError && err.code === 'invalid-argument') throw new VdiguardError('invalid-argument', `VDIGUARD_FIRST_ADMIN: ${err.message}`);
    throw err;
  }
  // Another replica created one in the meantime.
  if (!admin) return undefined;
  await actions.record(FIRST_START, 'admin.add', admin.name, { role: admin.role, first: true });
  return { name: admin.name, generatedPassword: given === undefined ? password : undefined, totp: provisioning(s.totpIssuer, admin.name, secret) };
}

/** What the person starting the gateway reads, once: how to sign in as the first admin. */
export function firstAdminMessage(first: FirstAdmin, gatewayUrl: string): string {
  const password = first.generatedPassword
    ? `  password: ${first.generatedPassword}\n            (generated, and shown only now: keep it in a password manager)\n`
    : '  password: the one in VDIGUARD_FIRST_ADMIN_PASSWORD (or its file)\n';
  return (
    `\nFirst admin created. Sign in at ${gatewayUrl}/admin as:\n` +
    `  name:     ${first.name}\n${password}` +
    `  code:     from an authenticator app; add this account to it by scanning the QR code or opening the URI:\n\n` +
    `${first.totp.uri}\n\n${terminalQr(first.totp.uri)}\n` +
    `This is shown once. Lost it? \`vdiguard admin reset-mfa ${first.name}\` gives a new code.\n\n`
  );
}

function readPasswordFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new VdiguardError('invalid-argument', `VDIGUARD_FIRST_ADMIN_PASSWORD_FILE: cannot read ${file} (${(err as Error).message})`);
  }
}
