/**
 * Where the agent's login token lives in the browser: an HttpOnly, SameSite=Strict cookie scoped to
 * the API. Page scripts and extensions cannot read it by name (it was `window.vdiguard.token`), so
 * a script cannot hand the login to another machine; a cross-site page cannot send it. Clients
 * other than the page (tests, tools) may send the same token as a bearer.
 */
import type { IncomingMessage } from 'node:http';
import { bearer, cookie } from './http-util.js';

export const LOGIN_COOKIE = 'vdiguard-login';

/** The Set-Cookie value that hands the browser its login for `maxAgeMs`. */
export function loginCookie(token: string, maxAgeMs: number, secure: boolean): string {
  return `${LOGIN_COOKIE}=${token}; Path=/api/; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The Set-Cookie value that removes it (sign out, or a login that was ended). */
export function clearedLoginCookie(secure: boolean): string {
  return `${LOGIN_COOKIE}=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The login token a request carries: the cookie, or a bearer from a client other than the page. */
export function loginToken(req: IncomingMessage): string | undefined {
  return cookie(req, LOGIN_COOKIE) ?? bearer(req);
}
