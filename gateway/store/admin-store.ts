/**
 * Named admin accounts (lib/db migration 9): name, role, password hash, sealed TOTP secret, status.
 * Changes that could leave nobody able to manage vdiguard (removing, demoting or disabling the last
 * active admin) are refused, and the first admin is created only while there is none: both decided
 * under one advisory lock, so replicas and CLI commands acting at once cannot race past the rule.
 */
import type { Db, Queryable } from '../../lib/db/db.js';
import { VdiguardError } from '../../lib/errors.js';
import { ADMIN_ROLES, type AdminRole } from '../admin/actor.js';
import type { SecretBox } from '../auth/secret-box.js';
import { checkId } from './gateway-store.js';

export type AdminStatus = 'active' | 'disabled';
export const ADMIN_STATUSES: readonly AdminStatus[] = ['active', 'disabled'];

export interface Admin {
  readonly name: string;
  readonly role: AdminRole;
  readonly status: AdminStatus;
  readonly createdAt: Date;
}

export interface AdminSecrets extends Admin {
  readonly passwordHash: string;
  /** Base32 TOTP secret, unsealed. */
  readonly totpSecret: string;
}

export interface NewAdmin {
  readonly name: string;
  readonly role: AdminRole;
  readonly passwordHash: string;
  readonly totpSecret: string;
}

interface AdminRow {
  name: string;
  role: AdminRole;
  status: AdminStatus;
  created_at: Date;
  password_hash: string;
  totp_secret: string;
}

// Any constant works; every replica and CLI command must use the same one.
const ADMINS_LOCK = 0x76646761; // "vdga"

export class AdminStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async add(a: NewAdmin): Promise<Admin> {
    checkAdmin(a);
    const [row] = await this.db.query<AdminRow>(
      `INSERT INTO admins (name, role, password_hash, totp_secret) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [a.name, a.role, a.passwordHash, this.box.seal('totp-secret', a.totpSecret)],
    );
    if (!row) throw new VdiguardError('failed-precondition', `admin ${a.name} already exists; pick another name`, { field: 'name' });
    return adminOf(row);
  }

  /** Adds `a` only when there is no admin at all (first start); undefined when there was one. */
  async addFirst(a: NewAdmin): Promise<Admin | undefined> {
    checkAdmin(a);
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ADMINS_LOCK]);
      const [row] = await tx.query<AdminRow>(
        `INSERT INTO admins (name, role, password_hash, totp_secret) SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM admins)
         RETURNING *`,
        [a.name, a.role, a.passwordHash, this.box.seal('totp-secret', a.totpSecret)],
      );
      return row && adminOf(row);
    });
  }

  async list(): Promise<Admin[]> {
    return (await this.db.query<AdminRow>('SELECT * FROM admins ORDER BY name')).map(adminOf);
  }

  async get(name: string): Promise<Admin | undefined> {
    const [row] = await this.db.query<AdminRow>('SELECT * FROM admins WHERE name = $1', [name]);
    return row && adminOf(row);
  }

  /** The admin with their secrets, or undefined when unknown. */
  async secrets(name: string): Promise<AdminSecrets | undefined> {
    const [row] = await this.db.query<AdminRow>('SELECT * FROM admins WHERE name = $1', [name]);
    if (!row) return undefined;
    const totpSecret = this.box.open('totp-secret', row.totp_secret);
    if (totpSecret === undefined) {
      throw new VdiguardError('internal', `the TOTP secret of admin ${name} does not open with this gateway's key; is VDIGUARD_GATEWAY_SECRET_KEY the one it was created with?`);
    }
    return { ...adminOf(row), passwordHash: row.password_hash, totpSecret };
  }

  /** Changes role and/or status; refused when it would leave no active admin. */
  async update(name: string, change: { role?: AdminRole; status?: AdminStatus }): Promise<Admin> {
    if (change.role !== undefined && !ADMIN_ROLES.includes(change.role)) throw badRole();
    if (change.status !== undefined && !ADMIN_STATUSES.includes(change.status)) {
      throw new VdiguardError('invalid-argument', `status must be one of ${ADMIN_STATUSES.join(', ')}`, { field: 'status' });
    }
    return this.keepingAnAdmin(name, change.role === 'analyst' ? 'demote' : change.status === 'disabled' ? 'disable' : undefined, async (tx) => {
      const [row] = await tx.query<AdminRow>(
        'UPDATE admins SET role = coalesce($2, role), status = coalesce($3, status), updated_at = now() WHERE name = $1 RETURNING *',
        [name, change.role ?? null, change.status ?? null],
      );
      return adminOf(row as AdminRow);
    });
  }

  async setTotpSecret(name: string, totpSecret: string): Promise<void> {
    const rows = await this.db.query('UPDATE admins SET totp_secret = $2, updated_at = now() WHERE name = $1 RETURNING name', [name, this.box.seal('totp-secret', totpSecret)]);
    if (rows.length === 0) throw unknownAdmin(name);
  }

  /** Removes the admin; refused for the last active admin. */
  async remove(name: string): Promise<void> {
    await this.keepingAnAdmin(name, 'remove', (tx) => tx.query('DELETE FROM admins WHERE name = $1', [name]));
  }

  /**
   * Runs `change` on admin `name` under the admins' lock; a change that takes an active admin out
   * of the admin role (`loses`) is refused when that admin is the last one.
   */
  private keepingAnAdmin<T>(name: string, loses: 'demote' | 'disable' | 'remove' | undefined, change: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ADMINS_LOCK]);
      const [row] = await tx.query<AdminRow>('SELECT * FROM admins WHERE name = $1', [name]);
      if (!row) throw unknownAdmin(name);
      if (loses && row.role === 'admin' && row.status === 'active') {
        const [others] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM admins WHERE role = 'admin' AND status = 'active' AND name <> $1`, [name]);
        if (!others?.n) {
          throw new VdiguardError('failed-precondition', `cannot ${loses} ${name}: they are the last active admin, and nobody could manage vdiguard; add or enable another admin first`);
        }
      }
      return change(tx);
    });
  }
}

function checkAdmin(a: NewAdmin): void {
  try {
    checkId('admin', a.name);
  } catch (err) {
    throw new VdiguardError('invalid-argument', (err as Error).message.replace('admin id', 'an admin name'), { field: 'name' });
  }
  if (!ADMIN_ROLES.includes(a.role)) throw badRole();
}

function badRole(): VdiguardError {
  return new VdiguardError('invalid-argument', `role must be one of ${ADMIN_ROLES.join(', ')} (analysts only read)`, { field: 'role' });
}

function unknownAdmin(name: string): VdiguardError {
  return new VdiguardError('not-found', `no admin ${JSON.stringify(name.slice(0, 100))}`);
}

function adminOf(r: AdminRow): Admin {
  return { name: r.name, role: r.role, status: r.status, createdAt: new Date(r.created_at) };
}
