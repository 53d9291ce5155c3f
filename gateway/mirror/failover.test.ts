import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Verdict } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { silentLogger } from '../../lib/log.js';
import { startTcpProxy } from '../../lib/testing/tcp-proxy.js';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { bearerMetadata, scorerClient } from '../../scorer/client.js';
import { startTestScorer, TEST_GATEWAY_TOKEN } from '../../scorer/testing/scorer-harness.js';
import { ALICE, typing } from '../../scorer/testing/typist.js';
import { until } from '../testing/harness.js';
import { Mirror, type MirrorOptions } from './mirror.js';

/**
 * Two scorers of one store behind one address, as a Kubernetes Service in front of their pods, and
 * a mirror to that address. `reroute()` points the address at the second scorer once the first is gone.
 */
async function twoScorers(mirrorOptions: Pick<MirrorOptions, 'onRefused'> & Partial<MirrorOptions>) {
  const { db, drop } = await TEST_STORES[0]!.create();
  const first = await startTestScorer(db);
  const second = await startTestScorer(db);
  const [host, port] = first.address.split(':') as [string, string];
  let proxy = await startTcpProxy(host, Number(port));
  const client = scorerClient({ address: `127.0.0.1:${proxy.port}` });
  const verdicts: Verdict[] = [];
  const mirror = new Mirror({
    connect: () => client.session(bearerMetadata(TEST_GATEWAY_TOKEN)),
    open: { sessionId: randomUUID(), agentId: 'alice', desktopId: 'd1', client: { address: 'test', userAgent: 'test', screenWidth: 0, screenHeight: 0 } },
    batchMs: 10,
    batchEvents: 100,
    bufferEvents: 10_000,
    onVerdict: (v) => verdicts.push(v),
    onScored: () => undefined,
    log: silentLogger(),
    backoff: { initialMs: 20, maxMs: 100 },
    ...mirrorOptions,
  });
  return {
    first,
    second,
    mirror,
    verdicts,
    async reroute() {
      const listenPort = proxy.port;
      await proxy.close();
      const [host2, port2] = second.address.split(':') as [string, string];
      proxy = await startTcpProxyOn(listenPort, host2, Number(port2));
    },
    async close() {
      mirror.close('done');
      client.close();
      await proxy.close();
      await second.close();
      await drop();
    },
  };
}

test('when its scorer goes away, a session carries on with another scorer of the same store', async () => {
  const { first, second, mirror, verdicts, reroute, close } = await twoScorers({ onRefused: (why) => assert.fail(`an outage is no refusal (${why})`) });
  try {
    const events = typing(ALICE, 400, 1);
    for (const e of events.slice(0, 200)) mirror.push(e);
    await until(() => verdicts.length >= 1, 5000, 'a verdict from the first scorer');
    assert.equal(first.engine.activeSessions, 1);

    // The first scorer's pod goes away; the Service now routes to the second one.
    await reroute();
    await first.close();
    for (const e of events.slice(200)) mirror.push(e);
    await until(() => second.engine.activeSessions === 1 && verdicts.length >= 4, 10_000, 'verdicts from the second scorer');
    assert.equal(mirror.dropped, 0, 'nothing was dropped on the way');
  } finally {
    await close();
  }
});

test('a scorer that stops hands its streams back: the session resumes on the next one from the trust it had, never refused', async () => {
  const { first, second, mirror, verdicts, reroute, close } = await twoScorers({
    onRefused: (why) => assert.fail(`a stopping scorer is no refusal (${why})`),
    // Where the gateway's session stands: lowered by the evidence so far.
    trustNow: () => 0.6,
  });
  try {
    const events = typing(ALICE, 400, 2);
    for (const e of events.slice(0, 200)) mirror.push(e);
    await until(() => verdicts.length >= 1, 5000, 'a verdict from the first scorer');
    assert.equal(verdicts.at(-1)?.trust, 1);

    // SIGTERM on the first scorer's pod (its close() is what the command runs) while the agent types on.
    const closing = first.close();
    for (const e of events.slice(200, 300)) {
      mirror.push(e);
      await new Promise((r) => setTimeout(r, 5));
    }
    await closing;
    await reroute();
    const before = verdicts.length;
    for (const e of events.slice(300)) mirror.push(e);
    await until(() => second.engine.activeSessions === 1 && verdicts.length > before, 10_000, 'verdicts from the second scorer');
    assert.ok(verdicts.slice(before).every((v) => v.trust <= 0.6), `the second scorer went on from 0.6 (${verdicts.slice(before).map((v) => v.trust).join(', ')})`);
    assert.equal(mirror.dropped, 0);
  } finally {
    await close();
  }
});

/** The forwarder again on the port the client already knows. */
async function startTcpProxyOn(listenPort: number, host: string, port: number) {
  for (let i = 0; ; i++) {
    try {
      return await startTcpProxy(host, port, listenPort);
    } catch (err) {
      if (i > 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
