import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { homeAddress } from './load.js';

test('each agent connects from a loopback address of its own, as from home', async () => {
  const addresses = Array.from({ length: 100_000 }, (_, i) => homeAddress(i));
  assert.equal(new Set(addresses).size, addresses.length, 'no two agents share an address');
  for (const a of addresses) {
    const octets = a.split('.').map(Number);
    assert.ok(octets[0] === 127 && octets.slice(1).every((o) => o >= 0 && o <= 255) && octets[3]! >= 1 && octets[3]! <= 250, a);
  }
  // The server sees the address the client bound.
  const server = createServer();
  const seen = new Promise<string | undefined>((resolve) => server.on('connection', (s) => (resolve(s.remoteAddress), s.destroy())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const socket = connect({ host: '127.0.0.1', port, localAddress: homeAddress(777) });
  socket.on('error', () => undefined);
  assert.equal(await seen, homeAddress(777));
  socket.destroy();
  server.close();
});
