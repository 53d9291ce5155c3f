/**
 * Managing admin accounts: the one code path behind the admin API (accounts-routes.ts) and
 * `vdiguard admin ...` (gateway/cli.ts), so both validate, refuse and record alike. Every change
 * needs the admin role and is recorded in the audit trail under the actor's name, never with a
 * password or TOTP secret. A new admin, or one whose MFA was reset, gets a TOTP secret shown once.
 */
import { VdiguardError } from '../../lib/errors.js';
import { hashPassword } from '../auth/password.js';
import { newTotpSecret, otpauthUri } from '../auth/totp.js';
import { svgQr } from '../commands/qr.js';
import type { Admin, AdminStatus, AdminStore } from '../store/admin-store.js';
import type { AdminActions } from './actions.js';
import { requireManage, type Actor, type AdminRole } from './actor.js';

/** What an authenticator app needs, shown once: the URI, its secret, and the URI as a QR code. */
export interface TotpProvisioning {
  readonly uri: string;
  readonly secret: string;
  readonly qrSvg: string;
}

export interface AdminAccountsDeps {
  readonly admins: AdminStore;
  readonly actions: AdminActions;
  /** Issuer shown in authenticator apps (VDIGUARD_TOTP_ISSUER). */
  readonly issuer: string;
}

export class AdminAccounts {
  constructor(private readonly d: AdminAccountsDeps) {}

  list(actor: Actor): Promise<Admin[]> {
    requireManage(actor);
    return this.d.admins.list();
  }

  async add(actor: Actor, a: { name: string; role: AdminRole; password: string }): Promise<{ admin: Admin; totp: TotpProvisioning }> {
    requireManage(actor);
    const secret = newTotpSecret();
    const admin = await this.d.admins.add({ name: a.name, role: a.role, passwordHash: await passwordHash(a.password), totpSecret: secret });
    await this.d.actions.record(actor, 'admin.add', admin.name, { role: admin.role });
    return { admin, totp: provisioning(this.d.issuer, admin.name, secret) };
  }

  async update(actor: Actor, name: string, change: { role?: AdminRole; status?: AdminStatus }): Promise<Admin> {
    requireManage(actor);
    const before = await this.d.admins.get(name);
    const admin = await this.d.admins.update(name, change);
    const detail: Record<string, unknown> = {};
    if (before && before.role !== admin.role) detail.role = { from: before.role, to: admin.role };
    if (before && before.status !== admin.status) detail.status = { from: before.status, to: admin.status };
    await this.d.actions.record(actor, 'admin.update', name, detail);
    return admin;
  }

  async resetMfa(actor: Actor, name: string): Promise<TotpProvisioning> {
    requireManage(actor);
    const secret = newTotpSecret();
    await this.d.admins.setTotpSecret(name, secret);
    await this.d.actions.record(actor, 'admin.reset-mfa', name);
    return provisioning(this.d.issuer, name, secret);
  }

  async remove(actor: Actor, name: string): Promise<void> {
    requireManage(actor);
    await this.d.admins.remove(name);
    await this.d.actions.record(actor, 'admin.remove', name);
  }
}

/** The scrypt hash of an admin's password; a password out of bounds says so, naming the field. */
export async function passwordHash(password: string): Promise<string> {
  try {
    return await hashPassword(password);
  } catch (err) {
    throw new VdiguardError('invalid-argument', (err as Error).message, { field: 'password' });
  }
}

/** The admin's entry for an authenticator app, labelled apart from an agent of the same name. */
export function provisioning(issuer: string, name: string, secret: string): TotpProvisioning {
  const uri = otpauthUri(issuer, `${name} (admin)`, secret);
  return { uri, secret, qrSvg: svgQr(uri) };
}
