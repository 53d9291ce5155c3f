import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { openDb } from './db/db.js';
import { startTestScorer } from '../scorer/testing/scorer-harness.js';
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

  test("grpc: the scorer's grpc.health.v1 service answers SERVING, for the server and the scoring service", async () => {
    const db = await openDb({});
    const scorer = await startTestScorer(db);
    try {
      const server = await checkHealth(`grpc://${scorer.address}`, opts);
      assert.equal(server.healthy, true, server.detail);
      assert.equal((await checkHealth(`grpc://${scorer.address}/vdiguard.scorer.v1.ScorerService`, opts)).healthy, true);
      assert.equal((await checkHealth(`grpc://${scorer.address}/no.such.Service`, opts)).healthy, false);
    } finally {
      await scorer.close();
      await db.close();
    }
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
