/**
 * What the browser sends while guacd is still answering the handshake (a desktop slow to log in,
 * or a hostile client that does not wait for `ready`) must not reach guacd then: written between
 * `connect` and `ready` it would be read as a broken handshake. guacamole-lite holds it and writes it
 * after `ready`, in order; the tap's checks have passed it already. What comes after arrives as it
 * was sent. Real sockets: browser WebSocket -> gateway -> fake guacd (which answers `connect` late),
 * fake scorer.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../guac/index.js';
import { startFakeGuacd, type FakeGuacd } from '../testing/fake-guacd.js';
import { startGatewayHarness, TunnelClient, until, type GatewayHarness } from '../testing/harness.js';

const READY_DELAY_MS = 400;
let guacd: FakeGuacd;
let h: GatewayHarness;
before(async () => {
  guacd = await startFakeGuacd({ readyDelayMs: READY_DELAY_MS });
  h = await startGatewayHarness({ guacdPort: guacd.port });
});
after(async () => {
  await h.close();
  await guacd.close();
});

const key = (keysym: number, pressed: 0 | 1) => encode({ opcode: 'key', args: [String(keysym), String(pressed)] });

test('input sent before guacd is ready reaches it after its ready, in order, and nothing during the handshake', async () => {
  const { ticket } = await h.login();
  const client = await TunnelClient.open(h.gateway.url, ticket);
  await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  await until(() => guacd.connections.length === 1, 3000, 'the gateway to connect to guacd');
  const conn = guacd.connections[0];
  assert.ok(conn);
  // The desktop has not answered yet: the page's first keystroke waits in the gateway.
  client.send(key(97, 1));
  client.send(key(97, 0));
  await new Promise((r) => setTimeout(r, READY_DELAY_MS / 4));
  assert.equal(conn.received.length, 0, 'nothing reaches guacd before it is ready');
  await client.waitFor((i) => i.opcode === '' || i.opcode === 'size');
  client.send(encode({ opcode: 'mouse', args: ['10', '20', '0'] }));
  await until(() => conn.received.length >= 3, 3000, 'the input to reach guacd');
  assert.deepEqual(
    conn.received.map((i) => [i.opcode, ...i.args]),
    [['key', '97', '1'], ['key', '97', '0'], ['mouse', '10', '20', '0']],
  );
  assert.equal(conn.raw, key(97, 1) + key(97, 0) + encode({ opcode: 'mouse', args: ['10', '20', '0'] }));
  client.ws.close();
  await client.closed;
});
