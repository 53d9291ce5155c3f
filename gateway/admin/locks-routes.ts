/**
 * The admin API's agent locks: `GET /api/admin/locks` lists the agents locked or on probation after
 * a security decision, `POST /api/admin/agents/<id>/unlock` lifts one (recorded with source admin).
 * Called after the admin token was checked.
 */
import type { ServerResponse } from 'node:http';
import type { AgentLock } from '../store/gateway-store.js';
import { sendJson } from '../http/http-util.js';

export interface LockRoutesDeps {
  readonly list: () => Promise<AgentLock[]>;
  readonly unlock: (agentId: string) => Promise<AgentLock>;
}

/** Answers the request when it is one of these routes; false otherwise. */
export async function lockRoutes(method: string, url: URL, res: ServerResponse, d: LockRoutesDeps): Promise<boolean> {
  if (method === 'GET' && url.pathname === '/api/admin/locks') {
    sendJson(res, 200, { locks: await d.list() });
    return true;
  }
  const unlock = /^\/api\/admin\/agents\/([^/]+)\/unlock$/.exec(url.pathname);
  if (unlock && method === 'POST') {
    const lifted = await d.unlock(decodeURIComponent(unlock[1] as string));
    sendJson(res, 200, { unlocked: lifted.agentId, was: lifted.kind });
    return true;
  }
  return false;
}
