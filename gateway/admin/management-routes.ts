/**
 * The admin API's agents and desktops (gateway/admin/management.ts does the work): list, add,
 * change, remove, assign, and a desktop "check" that connects to it and shows its certificate for
 * the admin to pin. Called after adminApi established the actor and, for changes, its role.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson } from '../http/http-util.js';
import type { AgentsAndDesktops } from './management.js';

const AGENT = /^\/api\/admin\/agents\/([^/]+)(?:\/(reset-mfa|unlock))?$/;
const DESKTOP = /^\/api\/admin\/desktops\/([^/]+)(?:\/(check)|\/agents\/([^/]+))?$/;

/** Answers the request when it is one of these routes; false otherwise. */
export async function managementRoutes(req: IncomingMessage, res: ServerResponse, url: URL, m: AgentsAndDesktops): Promise<boolean> {
  const method = req.method ?? '';
  const path = url.pathname;
  const send = (status: number, body: unknown): true => {
    sendJson(res, status, body);
    return true;
  };
  if (path === '/api/admin/agents') {
    if (method === 'GET') return send(200, { agents: await m.listAgents() });
    if (method === 'POST') return send(201, await m.addAgent(await readJson(req)));
    return false;
  }
  if (path === '/api/admin/desktops') {
    if (method === 'GET') return send(200, { desktops: await m.listDesktops() });
    if (method === 'POST') return send(201, await m.addDesktop(await readJson(req)));
    return false;
  }
  if (path === '/api/admin/desktops/check' && method === 'POST') {
    return send(200, await m.checkTarget(await readJson(req)));
  }
  const agent = AGENT.exec(path);
  if (agent) {
    const id = decodeURIComponent(agent[1] as string);
    const action = agent[2];
    if (action === 'reset-mfa' && method === 'POST') return send(200, await m.resetMfa(id));
    if (action === 'unlock' && method === 'POST') return send(200, await m.unlockAgent(id));
    if (action === undefined && method === 'PATCH') return send(200, await m.updateAgent(id, await readJson(req)));
    if (action === undefined && method === 'DELETE') return send(200, await m.removeAgent(id));
    return false;
  }
  const desktop = DESKTOP.exec(path);
  if (desktop) {
    const id = decodeURIComponent(desktop[1] as string);
    if (desktop[3] !== undefined) {
      const agentId = decodeURIComponent(desktop[3]);
      if (method === 'PUT') return send(200, await m.assign(id, agentId));
      if (method === 'DELETE') return send(200, await m.unassign(id, agentId));
      return false;
    }
    if (desktop[2] === 'check' && method === 'POST') return send(200, await m.checkDesktop(id));
    if (desktop[2] === undefined && method === 'PATCH') return send(200, await m.updateDesktop(id, await readJson(req)));
    if (desktop[2] === undefined && method === 'DELETE') return send(200, await m.removeDesktop(id));
  }
  return false;
}
