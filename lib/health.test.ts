import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { checkHealth } from './health.js';

const opts = { timeoutMs: 2000 };

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('vdiguard health', () => {
  test('http: healthy on 2xx, unhealthy on other statuses and refused connections', async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 503;
      res.end();
    });
    const port = await listen(server);
    try {
      assert.deepEqual(await checkHealth(`http://127.0.0.1:${port}/healthz`, opts), { healthy: true, detail: 'HTTP 200' });
      assert.equal((await checkHealth(`http://127.0.0.1:${port}/down`, opts)).healthy, false);
    } finally {
      server.close();
    }
    assert.equal((await checkHealth(`http://127.0.0.1:${port}/healthz`, opts)).healthy, false);
  });

  test('tcp: healthy while the port accepts connections', async () => {
    const server = createTcpServer((s) => s.destroy());
    const port = await listen(server);
    assert.equal((await checkHealth(`tcp://127.0.0.1:${port}`, opts)).healthy, true);
    await new Promise((resolve) => server.close(resolve));
    assert.equal((await checkHealth(`tcp://127.0.0.1:${port}`, opts)).healthy, false);
  });

  test('bad targets are refused with a message that says what is expected', async () => {
    for (const [target, message] of [
      ['localhost:8080', /unsupported health target scheme|not a health target/],
      ['ftp://h:21', /unsupported health target scheme ftp:/],
      ['grpc://h', /needs a port/],
      ['tcp://h', /needs a port/],
    ] as const) {
      await assert.rejects(checkHealth(target, opts), message, target);
    }
  });
});
