/**
 * The admin API (`/api/admin/...`), called once the gateway has established who is calling (an
 * Actor). Reads are open to every actor; anything else needs the admin role, checked here once for
 * every route so no route can forget it. Each group of routes lives in its own module.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VdiguardError } from '../../lib/errors.js';
import type { AuditLog } from '../../scorer/store/audit.js';
import { sendJson } from '../http/http-util.js';
import { decisionsQuery } from '../http/query.js';
import type { ScorerLink } from '../mirror/scorer-link.js';
import type { SessionRegistry } from '../session/registry.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { AdminAccounts } from './accounts.js';
import { accountRoutes } from './accounts-routes.js';
import type { AdminActions } from './actions.js';
import { requireManage, type Actor } from './actor.js';
import { lockRoutes } from './locks-routes.js';
import type { AgentsAndDesktops } from './management.js';
import { managementRoutes } from './management-routes.js';
import { viewRoutes } from './views-routes.js';

export interface AdminApiDeps {
  readonly store: GatewayStore;
  readonly sessions: SessionRegistry;
  readonly audit: AuditLog;
  readonly actions: AdminActions;
  readonly accounts: AdminAccounts;
  readonly scorer: Pick<ScorerLink, 'profiles'>;
  /** Agents and desktops administration on behalf of the actor (gateway/admin/management.ts). */
  readonly manage: (actor: Actor) => AgentsAndDesktops;
  /** Trust at or below which the scorer challenges, for the session page's threshold line. */
  readonly challengeBelow: number;
}

const READS = new Set(['GET', 'HEAD']);

export async function adminApi(req: IncomingMessage, res: ServerResponse, url: URL, actor: Actor, d: AdminApiDeps): Promise<void> {
  const method = req.method ?? '';
  const route = `${method} ${url.pathname}`;
  if (!READS.has(method)) requireManage(actor);
  if (await accountRoutes(req, res, url, actor, d.accounts)) return;
  if (await lockRoutes(method, url, res, () => d.store.listLocks())) return;
  if (await managementRoutes(req, res, url, d.manage(actor))) return;
  if (await viewRoutes(method, url, res, d)) return;
  const kill = /^\/api\/admin\/sessions\/([^/]+)\/kill$/.exec(url.pathname);
  if (kill && method === 'POST') {
    const s = d.sessions.get(decodeURIComponent(kill[1] as string));
    if (!s) throw new VdiguardError('not-found', 'no such active session');
    s.kill(`ended by an administrator (${actor.name})`);
    await d.actions.record(actor, 'session.kill', s.id.sessionId, { agentId: s.id.agentId, desktopId: s.id.desktopId });
    return sendJson(res, 200, { killed: s.id.sessionId });
  }
  if (route === 'GET /api/admin/decisions') return sendJson(res, 200, { decisions: await d.audit.decisions(decisionsQuery(url.searchParams)) });
  if (route === 'GET /api/admin/actions') {
    const limit = Number(url.searchParams.get('limit') ?? 100);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new VdiguardError('invalid-argument', 'limit must be a whole number from 1 to 1000');
    return sendJson(res, 200, { actions: await d.actions.list({ actor: url.searchParams.get('actor') || undefined, target: url.searchParams.get('target') || undefined, limit }) });
  }
  throw new VdiguardError('not-found', `no ${route}`);
}
