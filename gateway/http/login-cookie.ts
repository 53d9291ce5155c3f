/**
 * Where logins live in the browser: HttpOnly, SameSite=Strict cookies scoped to the API that needs
 * them. Page scripts and extensions cannot read them by name (the agent's was
 * `window.vdiguard.token`), so a script cannot hand a login to another machine; a cross-site page
 * cannot send them. The agent's login (`vdiguard-login`, for /api/) and an admin's session
 * (`vdiguard-admin`) are apart; the admin's is sent to the admin API only. Clients other than the
 * pages (tests, tools) may send the agent's token as a bearer; the admin API takes the admin token
 * as a bearer, never an admin's session.
 */
import type { IncomingMessage } from 'node:http';
import { bearer, cookie } from './http-util.js';

export const LOGIN_COOKIE = 'vdiguard-login';
export const ADMIN_COOKIE = 'vdiguard-admin';

const AGENT_PATH = '/api/';
const ADMIN_PATH = '/api/admin/';

function setCookie(name: string, path: string, value: string, maxAgeMs: number, secure: boolean): string {
  return `${name}=${value}; Path=${path}; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The Set-Cookie value that hands the browser its login for `maxAgeMs`. */
export function loginCookie(token: string, maxAgeMs: number, secure: boolean): string {
  return setCookie(LOGIN_COOKIE, AGENT_PATH, token, maxAgeMs, secure);
}

/** The Set-Cookie value that removes it (sign out, or a login that was ended). */
export function clearedLoginCookie(secure: boolean): string {
  return setCookie(LOGIN_COOKIE, AGENT_PATH, '', 0, secure);
}

/** The login token a request carries: the cookie, or a bearer from a client other than the page. */
export function loginToken(req: IncomingMessage): string | undefined {
  return cookie(req, LOGIN_COOKIE) ?? bearer(req);
}

/** The Set-Cookie value that hands an admin's browser its session for `maxAgeMs`. */
export function adminCookie(token: string, maxAgeMs: number, secure: boolean): string {
  return setCookie(ADMIN_COOKIE, ADMIN_PATH, token, maxAgeMs, secure);
}

/** The Set-Cookie value that removes the admin's session (sign out, or a session that ended). */
export function clearedAdminCookie(secure: boolean): string {
  return setCookie(ADMIN_COOKIE, ADMIN_PATH, '', 0, secure);
}

/** The admin session a request carries, if any (the admin token comes as a bearer, never a cookie). */
export function adminSessionToken(req: IncomingMessage): string | undefined {
  return cookie(req, ADMIN_COOKIE);
}
