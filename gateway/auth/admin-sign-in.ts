/**
 * Admins' sign-in to the admin page: name, password and TOTP through the check agents use
 * (credentials.ts, with its throttle and replay protection), yielding an admin session: a sealed
 * token (unforgeable, unreadable) naming the admin, which the browser keeps in an HttpOnly cookie.
 *
 * A session ends after ADMIN_IDLE_MS without a request, or ADMIN_MAX_MS after sign-in, whichever
 * comes first: the token carries when it was issued and when it was last seen, and a request after
 * ADMIN_REFRESH_MS gets a fresh one with `seen` moved on. Signing out revokes the session id for
 * every replica (the store's revoked logins), so copies of the token die with it. Every request
 * re-reads the admin: a disabled or removed admin is out at once, a changed role applies at once.
 */
import { randomBytes } from 'node:crypto';
import { VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Actor } from '../admin/actor.js';
import type { Admin, AdminSecrets, AdminStore } from '../store/admin-store.js';
import { adminKey, CredentialCheck, type CredentialStore, type Credentials } from './credentials.js';
import type { SecretBox } from './secret-box.js';
import type { ThrottlePolicy } from './throttle.js';

export const ADMIN_IDLE_MS = 8 * 60 * 60 * 1000;
export const ADMIN_MAX_MS = 12 * 60 * 60 * 1000;
/** How stale `seen` may get before a request renews the token (and so the idle limit). */
export const ADMIN_REFRESH_MS = 5 * 60 * 1000;

/** The same answer for every wrong part, so nothing tells a guesser which one it was. */
export const SIGN_IN_REFUSED = 'wrong name, password or code';

interface SessionClaims {
  /** Random id, revoked on sign-out. */
  readonly sid: string;
  readonly name: string;
  /** Signed in at, ms since the Unix epoch. */
  readonly iat: number;
  /** Last request that renewed the token, ms since the Unix epoch. */
  readonly seen: number;
}

/** The store's revoked logins, shared with agents' logins (ids are random, never shared). */
export interface RevocationStore {
  revokeLogin(id: string, expiresAt: Date): Promise<void>;
  isLoginRevoked(id: string): Promise<boolean>;
}

export interface AdminSignInOptions {
  readonly admins: AdminStore;
  readonly store: CredentialStore & RevocationStore;
  readonly box: SecretBox;
  readonly log: Logger;
  readonly totpSkewSteps: number;
  readonly throttle: ThrottlePolicy;
  readonly now?: () => number;
}

/** A valid session: who it is, and a renewed token to hand back when there is one. */
export interface AdminSession {
  readonly actor: Actor;
  readonly renewed?: { token: string; maxAgeMs: number };
}

export class AdminSignIn {
  private readonly now: () => number;
  private readonly credentials: CredentialCheck;

  constructor(private readonly o: AdminSignInOptions) {
    this.now = o.now ?? Date.now;
    this.credentials = new CredentialCheck({ store: o.store, throttle: o.throttle, totpSkewSteps: o.totpSkewSteps, log: o.log, now: this.now });
  }

  /** Checks name, password and code; throws `unauthenticated` (or `resource-exhausted`) otherwise. */
  async signIn(req: { name: unknown; password: unknown; code: unknown }, address: string): Promise<{ admin: Admin; token: string; maxAgeMs: number }> {
    const name = typeof req.name === 'string' ? req.name.slice(0, 100) : '';
    const load = async (): Promise<(AdminSecrets & Credentials) | undefined> => {
      const a = await this.o.admins.secrets(name);
      return a && { ...a, active: a.status === 'active' };
    };
    const outcome = await this.credentials.signIn(name ? adminKey(name) : '', load, req.password, req.code, address);
    if (!outcome.ok) {
      this.o.log.info({ admin: name, address, outcome: outcome.why }, 'admin sign-in refused');
      throw new VdiguardError('unauthenticated', SIGN_IN_REFUSED);
    }
    const now = this.now();
    const claims: SessionClaims = { sid: randomBytes(16).toString('base64url'), name, iat: now, seen: now };
    this.o.log.info({ admin: name, address, sid: claims.sid }, 'admin signed in');
    const { role, status, createdAt } = outcome.who;
    return { admin: { name, role, status, createdAt }, token: this.seal(claims), maxAgeMs: ADMIN_MAX_MS };
  }

  /** The signed-in admin behind a token; throws `unauthenticated` saying why when there is none. */
  async authenticate(token: unknown): Promise<AdminSession> {
    const claims = this.open(token);
    const now = this.now();
    if (now > claims.iat + ADMIN_MAX_MS) throw signInAgain(`the admin session ended ${ADMIN_MAX_MS / 3_600_000} h after sign-in`);
    if (now > claims.seen + ADMIN_IDLE_MS) throw signInAgain(`the admin session ended after ${ADMIN_IDLE_MS / 3_600_000} h without use`);
    if (await this.o.store.isLoginRevoked(claims.sid)) throw signInAgain('this admin session was signed out');
    const admin = await this.o.admins.get(claims.name);
    if (!admin || admin.status !== 'active') throw signInAgain(`admin ${claims.name} was ${admin ? 'disabled' : 'removed'}`);
    const actor: Actor = { kind: 'admin', name: admin.name, role: admin.role };
    if (now - claims.seen < ADMIN_REFRESH_MS) return { actor };
    return { actor, renewed: { token: this.seal({ ...claims, seen: now }), maxAgeMs: claims.iat + ADMIN_MAX_MS - now } };
  }

  /** Ends the token's session on every replica; the admin's name, or undefined for a token that was no session. */
  async signOut(token: unknown): Promise<string | undefined> {
    let claims: SessionClaims;
    try {
      claims = this.open(token);
    } catch {
      return undefined;
    }
    await this.o.store.revokeLogin(claims.sid, new Date(claims.iat + ADMIN_MAX_MS));
    this.o.log.info({ admin: claims.name, sid: claims.sid }, 'admin signed out');
    return claims.name;
  }

  private seal(c: SessionClaims): string {
    return this.o.box.seal('admin-session', JSON.stringify(c));
  }

  private open(token: unknown): SessionClaims {
    const text = typeof token === 'string' ? this.o.box.open('admin-session', token) : undefined;
    let c: Partial<SessionClaims> | undefined;
    try {
      c = text === undefined ? undefined : (JSON.parse(text) as Partial<SessionClaims>);
    } catch {
      c = undefined;
    }
    if (!c || typeof c.sid !== 'string' || typeof c.name !== 'string' || typeof c.iat !== 'number' || typeof c.seen !== 'number') {
      throw signInAgain('the admin session is not valid');
    }
    return c as SessionClaims;
  }
}

function signInAgain(why: string): VdiguardError {
  return new VdiguardError('unauthenticated', `${why}; sign in again at /admin`);
}
