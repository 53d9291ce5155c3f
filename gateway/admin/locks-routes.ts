/**
 * The admin API's agent locks: `GET /api/admin/locks` lists the agents locked or on probation after
 * a security decision (lifting one is `POST /api/admin/agents/<id>/unlock`, management-routes.ts).
 */
import type { ServerResponse } from 'node:http';
import type { AgentLock } from '../store/gateway-store.js';
import { sendJson } from '../http/http-util.js';

/** Answers the request when it is this route; false otherwise. */
export async function lockRoutes(method: string, url: URL, res: ServerResponse, list: () => Promise<AgentLock[]>): Promise<boolean> {
  if (method === 'GET' && url.pathname === '/api/admin/locks') {
    sendJson(res, 200, { locks: await list() });
    return true;
  }
  return false;
}
