/**
 * Attack: with more than one gateway replica, leave the challenged (or falling) session on one and
 * open a fresh one through another, whose memory holds no session of the agent. Control: every
 * replica records its live sessions in the shared store (table live_sessions, refreshed every 2 s,
 * deleted when they end), and a replica refuses a session for an agent whose session lives on
 * another, saying where and what to do. Two gateways over one store, real sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../lib/log.js';
import { loadGatewaySettings } from '../config.js';
import { startGateway } from '../gateway.js';
import { GuacStatus } from '../guac/index.js';
import { scorerLink } from '../mirror/scorer-link.js';
import { ADMIN_TOKEN, AGENT, api, DESKTOP, startHarness, TunnelClient, until } from '../testing/harness.js';

test("an agent's session on one replica keeps another replica from opening a fresh one, until it ends", async () => {
  const secretKey = randomBytes(32);
  const h = await startHarness({ secretKey });
  const link = scorerLink({ address: h.scorer!.address }, {});
  const other = await startGateway(loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0', VDIGUARD_GUACD: `127.0.0.1:${h.guacd.port}` }), {
    log: silentLogger(),
    db: h.db,
    secretKey,
    scorer: link,
    adminToken: ADMIN_TOKEN,
  });
  try {
    const { token, ticket } = await h.login();
    const here = await TunnelClient.open(h.gateway.url, ticket);
    await here.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');

    const elsewhere = await TunnelClient.open(other.url, other.login.tickets.issue(AGENT, DESKTOP, 'a-login-on-the-other-replica').ticket);
    const refused = await elsewhere.waitFor((i) => i.opcode === 'error');
    assert.match(refused.args[0] as string, /open on another gateway server/);
    assert.equal(Number(refused.args[1]), GuacStatus.RESOURCE_CONFLICT);
    await elsewhere.closed;
    assert.equal(other.sessions.size, 0, 'no fresh session on the other replica');

    await api(h.gateway.url, '/api/logout', {}, token);
    await here.closed;
    await until(() => h.gateway.sessions.size === 0, 3000, 'the first session ended');
    let opened: TunnelClient | undefined;
    for (let i = 0; i < 50 && !opened; i++) {
      const c = await TunnelClient.open(other.url, other.login.tickets.issue(AGENT, DESKTOP, `again-${i}`).ticket);
      const first = await c.waitFor((ins) => ins.opcode === 'error' || (ins.opcode === 'vdiguard' && ins.args[0] === 'session'));
      if (first.opcode === 'error') await c.closed;
      else opened = c;
      if (!opened) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(opened, 'once the session ended, the other replica opens one');
    opened.ws.close();
    await opened.closed;
  } finally {
    await other.close();
    link.close();
    await h.close();
  }
});
