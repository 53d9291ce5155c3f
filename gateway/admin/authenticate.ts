/**
 * Who is calling the admin API. `POST /api/admin/login` and `/logout` come first (no actor needed);
 * every other admin route needs an actor: the admin token as a bearer (automation, recorded as the
 * token), or a named admin's session cookie from the admin page, re-checked as active on each
 * request. Anything else is refused with where to sign in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VdiguardError } from '../../lib/errors.js';
import { sameSecret } from '../../lib/secrets.js';
import type { AdminSignIn } from '../auth/admin-sign-in.js';
import { bearer, readJson, sendJson } from '../http/http-util.js';
import { adminCookie, adminSessionToken, clearedAdminCookie } from '../http/login-cookie.js';
import type { AdminActions } from './actions.js';
import { TOKEN_ACTOR, type Actor } from './actor.js';

export interface AdminAuthDeps {
  readonly signIn: AdminSignIn;
  readonly actions: AdminActions;
  /** The bearer admin token (VDIGUARD_ADMIN_TOKEN). */
  readonly adminToken: string;
  /** The gateway serves TLS: cookies are Secure. */
  readonly secure: boolean;
}

/** Answers sign-in and sign-out; false for any other route. */
export async function signInRoutes(req: IncomingMessage, res: ServerResponse, url: URL, address: string, d: AdminAuthDeps): Promise<boolean> {
  if (req.method !== 'POST') return false;
  if (url.pathname === '/api/admin/login') {
    const body = await readJson(req);
    const { admin, token, maxAgeMs } = await d.signIn.signIn({ name: body.name, password: body.password, code: body.code }, address);
    await d.actions.record({ kind: 'admin', name: admin.name, role: admin.role }, 'admin.sign-in', admin.name, { address });
    sendJson(res, 200, { name: admin.name, role: admin.role }, { 'set-cookie': adminCookie(token, maxAgeMs, d.secure) });
    return true;
  }
  if (url.pathname === '/api/admin/logout') {
    // Signing out of a session that is already over still clears the cookie.
    await d.signIn.signOut(adminSessionToken(req));
    sendJson(res, 200, { signedOut: true }, { 'set-cookie': clearedAdminCookie(d.secure) });
    return true;
  }
  return false;
}

/**
 * The actor behind a request: the admin token, or a signed-in admin (whose renewed session cookie
 * is set on `res`). Throws `unauthenticated` saying how to get in.
 */
export async function authenticateAdmin(req: IncomingMessage, res: ServerResponse, d: AdminAuthDeps): Promise<Actor> {
  const presented = bearer(req);
  if (presented !== undefined) {
    if (sameSecret(presented, d.adminToken)) return TOKEN_ACTOR;
    throw new VdiguardError('unauthenticated', 'wrong admin token: send the one in VDIGUARD_ADMIN_TOKEN (or its file), or sign in at /admin');
  }
  const token = adminSessionToken(req);
  if (token === undefined) throw new VdiguardError('unauthenticated', 'sign in at /admin, or send the admin token (Authorization: Bearer ...)');
  try {
    const session = await d.signIn.authenticate(token);
    if (session.renewed) res.setHeader('set-cookie', adminCookie(session.renewed.token, session.renewed.maxAgeMs, d.secure));
    return session.actor;
  } catch (err) {
    if (err instanceof VdiguardError && err.code === 'unauthenticated') res.setHeader('set-cookie', clearedAdminCookie(d.secure));
    throw err;
  }
}
