/**
 * The admin API's own accounts: `GET /api/admin/me` (who is calling, for every actor) and the admin
 * accounts (`/api/admin/admins...`, admin role only, reads included: analysts have no business with
 * the list of who may manage). Called once the gateway established the actor.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VdiguardError } from '../../lib/errors.js';
import { readJson, sendJson } from '../http/http-util.js';
import type { AdminStatus } from '../store/admin-store.js';
import type { AdminAccounts } from './accounts.js';
import type { Actor, AdminRole } from './actor.js';

const ONE = /^\/api\/admin\/admins\/([^/]+)$/;
const RESET = /^\/api\/admin\/admins\/([^/]+)\/reset-mfa$/;

/** Answers the request when it is one of these routes; false otherwise. */
export async function accountRoutes(req: IncomingMessage, res: ServerResponse, url: URL, actor: Actor, accounts: AdminAccounts): Promise<boolean> {
  const method = req.method ?? '';
  const path = url.pathname;
  if (method === 'GET' && path === '/api/admin/me') {
    sendJson(res, 200, { kind: actor.kind, name: actor.name, role: actor.role });
    return true;
  }
  if (path === '/api/admin/admins' && method === 'GET') {
    sendJson(res, 200, { admins: await accounts.list(actor) });
    return true;
  }
  if (path === '/api/admin/admins' && method === 'POST') {
    const body = await readJson(req);
    const added = await accounts.add(actor, { name: text(body, 'name'), role: optional(body, 'role') as AdminRole, password: text(body, 'password') });
    sendJson(res, 201, added);
    return true;
  }
  const reset = RESET.exec(path);
  if (reset && method === 'POST') {
    sendJson(res, 200, { totp: await accounts.resetMfa(actor, decodeURIComponent(reset[1] as string)) });
    return true;
  }
  const one = ONE.exec(path);
  if (one && method === 'PATCH') {
    const body = await readJson(req);
    if (body.role === undefined && body.status === undefined) throw new VdiguardError('invalid-argument', 'send role and/or status to change', { field: 'role' });
    sendJson(res, 200, { admin: await accounts.update(actor, decodeURIComponent(one[1] as string), { role: optional(body, 'role') as AdminRole | undefined, status: optional(body, 'status') as AdminStatus | undefined }) });
    return true;
  }
  if (one && method === 'DELETE') {
    const name = decodeURIComponent(one[1] as string);
    await accounts.remove(actor, name);
    sendJson(res, 200, { removed: name });
    return true;
  }
  return false;
}

function text(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw new VdiguardError('invalid-argument', `${field} is required (a string)`, { field });
  return v;
}

/** A field that may be absent; its value is checked where it is used (the store). */
function optional(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v !== undefined && typeof v !== 'string') throw new VdiguardError('invalid-argument', `${field} must be a string`, { field });
  return v;
}
