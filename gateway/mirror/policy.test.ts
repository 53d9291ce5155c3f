import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openDb } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { startTcpProxy } from '../../lib/testing/tcp-proxy.js';
import { loadScorerSettings } from '../../scorer/config.js';
import { startScorer } from '../../scorer/service/server.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { bearerMetadata, scorerClient } from '../../scorer/client.js';
import { GuacStatus } from '../guac/index.js';
import { startHarness, TunnelClient, until, ADMIN_TOKEN, GATEWAY_TOKEN } from '../testing/harness.js';
import { Mirror } from './mirror.js';

async function decisionsOf(db: ConstructorParameters<typeof AuditLog>[0], sessionId: string) {
  const audit = new AuditLog(db);
  for (let i = 0; i < 100; i++) {
    const d = await audit.decisions({ sessionId });
    if (d.length > 0) return d;
    await new Promise((r) => setTimeout(r, 20));
  }
  return [];
}

test('fail-closed: with the scorer down past the grace period, the session is ended and recorded', async () => {
  const h = await startHarness({ env: { VDIGUARD_MIRROR_POLICY: 'fail-closed', VDIGUARD_MIRROR_GRACE_SECONDS: '0.3' } });
  try {
    await h.scorer!.close();
    const { ticket } = await h.login();
    const c = await TunnelClient.open(h.gateway.url, ticket);
    const s = await c.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
    const started = performance.now();
    const err = await c.waitFor((i) => i.opcode === 'error', 3000);
    assert.equal(Number(err.args[1]), GuacStatus.UPSTREAM_UNAVAILABLE);
    await c.closed;
    assert.ok(performance.now() - started >= 250, 'not before the grace period');
    const d = await decisionsOf(h.db, s.args[1] as string);
    assert.equal(d[0]?.action, 'fail-closed');
  } finally {
    await h.close();
  }
});

test('fail-open: with the scorer down past the grace period, the session goes on, alerted and recorded', async () => {
  const h = await startHarness({ env: { VDIGUARD_MIRROR_POLICY: 'fail-open', VDIGUARD_MIRROR_GRACE_SECONDS: '0.2' } });
  try {
    await h.scorer!.close();
    const { ticket } = await h.login();
    const c = await TunnelClient.open(h.gateway.url, ticket);
    const s = await c.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
    const d = await decisionsOf(h.db, s.args[1] as string);
    assert.equal(d[0]?.action, 'fail-open');
    const conn = h.guacd.connections.at(-1)!;
    c.send('3.key,2.97,1.1;');
    await until(() => conn.raw.includes('3.key,2.97,1.1;'), 2000, 'input still forwarded');
    assert.equal(h.gateway.sessions.get(s.args[1] as string)?.status, 'active');
    c.ws.close();
    await c.closed;
  } finally {
    await h.close();
  }
});

test('monitor mode: a terminate verdict is recorded and alerted, and the session goes on', async () => {
  const h = await startHarness({ env: { VDIGUARD_ENFORCEMENT: 'monitor' } });
  try {
    const { ticket } = await h.login();
    const c = await TunnelClient.open(h.gateway.url, ticket);
    const s = await c.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
    const id = s.args[1] as string;
    await until(() => h.scorer!.streams.some((x) => x.open?.sessionId === id), 2000, 'stream');
    h.scorer!.streams.find((x) => x.open?.sessionId === id)!.verdict({ action: 3, trust: 0.01, reason: 'mismatch' });
    const d = await decisionsOf(h.db, id);
    assert.equal(d[0]?.action, 'monitor-terminate');
    assert.equal(h.gateway.sessions.get(id)?.status, 'active');
    c.ws.close();
    await c.closed;
  } finally {
    await h.close();
  }
});

test('against the real scorer: a cut stream resumes the same scoring session and every batch is applied once', async () => {
  const db = await openDb({});
  const settings = loadScorerSettings({ VDIGUARD_SCORER_LISTEN: '127.0.0.1:0', VDIGUARD_ADMIN_TOKEN: ADMIN_TOKEN, VDIGUARD_GATEWAY_TOKEN: GATEWAY_TOKEN });
  const scorer = await startScorer(settings, { log: silentLogger(), db });
  const port = Number(scorer.address.split(':').pop());
  const proxy = await startTcpProxy('127.0.0.1', port);
  const client = scorerClient({ address: `127.0.0.1:${proxy.port}` });
  const scored: boolean[] = [];
  const sessionId = randomUUID();
  const m = new Mirror({
    connect: () => client.session(bearerMetadata(scorer.gatewayToken)),
    open: { sessionId, agentId: 'alice', desktopId: 'd1', client: undefined },
    batchMs: 5,
    batchEvents: 10,
    bufferEvents: 10_000,
    onVerdict: () => undefined,
    onScored: (s) => scored.push(s),
    onRefused: (why) => assert.fail(`an outage is no refusal (${why})`),
    log: silentLogger(),
    backoff: { initialMs: 20, maxMs: 100 },
  });
  const live = (): { scoring: { lastBatchSeq: number } } | undefined =>
    (scorer.engine as unknown as { sessions: Map<string, { scoring: { lastBatchSeq: number } }> }).sessions.get(sessionId);
  try {
    let t = 0;
    const push = (n: number): void => {
      for (let i = 0; i < n; i++) m.push({ timeMs: (t += 50), kind: { $case: 'key', value: { keysym: 97 + (i % 20), pressed: i % 2 === 0 } } });
    };
    push(40);
    await until(() => live()?.scoring.lastBatchSeq === 4, 3000, 'first batches applied');
    proxy.cut();
    await until(() => scored.at(-1) === false, 3000, 'outage noticed');
    push(40);
    proxy.restore();
    await until(() => scored.at(-1) === true, 5000, 'resumed');
    await until(() => live()?.scoring.lastBatchSeq === 8, 3000, 'all batches applied once');
    push(10);
    await until(() => live()?.scoring.lastBatchSeq === 9, 3000, 'and the stream goes on');
    assert.equal(scorer.engine.activeSessions, 1);
  } finally {
    m.close('end');
    client.close();
    await proxy.close();
    await scorer.close();
    await db.close();
  }
});

