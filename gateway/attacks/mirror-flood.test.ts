/**
 * Attack: flood the tunnel with input faster than the scorer can take it (issue 17: 680,000 keys in
 * 1.7 s left the session unscored for seconds, nothing was recorded, and every key reached the
 * desktop). Control: a full mirror refuses new events, the tap keeps what the scorer will never see
 * from the desktop (fail-closed), and the overflow is a recorded decision that starts the mirror
 * policy's grace period like a scorer outage. Over real sockets, with the scorer unreachable (a
 * port nothing listens on) so the mirror's buffer can only fill.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog } from '../../scorer/store/audit.js';
import { scorerLink } from '../mirror/scorer-link.js';
import { startHarness, TunnelClient, until } from '../testing/harness.js';

test('a flood beyond the mirror buffer never reaches the desktop unscored, and is recorded', async () => {
  const link = scorerLink({ address: '127.0.0.1:1' }, {});
  const h = await startHarness({ link, env: { VDIGUARD_MIRROR_BUFFER_EVENTS: '100', VDIGUARD_MIRROR_GRACE_SECONDS: '60' } });
  try {
    const { ticket } = await h.login();
    const client = await TunnelClient.open(h.gateway.url, ticket);
    const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
    const sessionId = s.args[1] as string;
    await client.waitFor((i) => i.opcode === 'size');
    const conn = h.guacd.connections.at(-1)!;
    // One instruction per message, as guacamole-common-js sends them; a sync last to know when all arrived.
    for (let i = 0; i < 300; i++) client.send(`3.key,2.${97 + (i % 3)},1.${i % 2};`);
    client.send('4.sync,3.999;');
    await until(() => conn.raw.includes('4.sync,3.999;'), 5000, 'the trailing sync forwarded');
    const typed = conn.received.filter((ins) => ins.opcode === 'key').length;
    const session = h.gateway.sessions.get(sessionId)!;
    assert.equal(session.tap.inputEvents, 300);
    assert.equal(typed, 300 - session.tap.unmirroredEvents, 'the desktop got exactly the input the mirror holds for the scorer');
    assert.ok(typed <= 100, `at most the buffer's 100 events typed (got ${typed})`);
    assert.equal(session.scored, false, 'the session counts as unscored: the grace period runs');
    const audit = new AuditLog(h.db);
    let actions: string[] = [];
    for (let i = 0; i < 100 && !actions.includes('mirror-overflow'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      actions = (await audit.decisions({ sessionId })).map((d) => d.action);
    }
    assert.deepEqual(actions, ['mirror-overflow'], 'recorded once, not per refused event');
    client.ws.close();
  } finally {
    await h.close();
    link.close();
  }
});
