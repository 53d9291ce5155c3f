import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { checkCanListen, listenError } from './listen.js';

const at = { host: '127.0.0.1', port: 8080 };

test('listen errors say the cause, what it means and the setting to change, from Node codes and grpc-js messages', () => {
  const table: { name: string; err: unknown; message: string }[] = [
    {
      name: 'Node, port taken',
      err: Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE' }),
      message: 'cannot listen on 127.0.0.1:8080 (address in use): another process has the port; set X or --listen',
    },
    {
      name: 'grpc-js, address of another machine',
      err: new Error('No address added out of total 1 resolved errors: [listen EADDRNOTAVAIL: address not available 10.9.9.9:5000]'),
      message: 'cannot listen on 127.0.0.1:8080 (address not available): no network interface of this machine has that address; set X or --listen',
    },
    {
      name: 'privileged port',
      err: Object.assign(new Error('listen EACCES: permission denied'), { code: 'EACCES' }),
      message: 'cannot listen on 127.0.0.1:8080 (permission denied): ports below 1024 need privileges this process does not have; set X or --listen',
    },
    { name: 'anything else', err: new Error('something odd'), message: 'cannot listen on 127.0.0.1:8080 (something odd); set X or --listen' },
  ];
  for (const t of table) {
    const e = listenError(at, t.err, 'X or --listen');
    assert.equal(e.message, t.message, t.name);
    assert.equal(e.code, 'unavailable');
  }
});

test('checkCanListen passes on a free port and names the setting on a taken one', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await assert.rejects(checkCanListen({ host: '127.0.0.1', port }, 'Y'), /cannot listen on 127\.0\.0\.1:\d+ \(address in use\): another process has the port; set Y$/);
  await new Promise<void>((r) => server.close(() => r()));
  await checkCanListen({ host: '127.0.0.1', port }, 'Y');
});
