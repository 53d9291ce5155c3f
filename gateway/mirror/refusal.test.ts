import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { openDb } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { loadScorerSettings } from '../../scorer/config.js';
import { startScorer } from '../../scorer/service/server.js';
import { bearerMetadata, scorerClient } from '../../scorer/client.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN, until } from '../testing/harness.js';
import { Mirror } from './mirror.js';


/**
 * A real scorer accepting `maxBatchEvents` per batch, and a mirror to it (presenting `token`) whose
 * log lines are kept.
 */
async function setUp(maxBatchEvents: number, batchEvents: number, token = GATEWAY_TOKEN) {
  const db = await openDb({});
  const settings = loadScorerSettings({ VDIGUARD_SCORER_LISTEN: '127.0.0.1:0', VDIGUARD_ADMIN_TOKEN: ADMIN_TOKEN, VDIGUARD_GATEWAY_TOKEN: GATEWAY_TOKEN, VDIGUARD_MAX_BATCH_EVENTS: String(maxBatchEvents) });
  const scorer = await startScorer(settings, { log: silentLogger(), db });
  const client = scorerClient({ address: scorer.address });
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  const refused: string[] = [];
  const sessionId = randomUUID();
  let streams = 0;
  const mirror = new Mirror({
    connect: () => {
      streams++;
      return client.session(bearerMetadata(token));
    },
    open: { sessionId, agentId: 'alice', desktopId: 'd1', client: undefined },
    batchMs: 5,
    batchEvents,
    bufferEvents: 10_000,
    onVerdict: () => undefined,
    onScored: () => undefined,
    onRefused: (why) => refused.push(why),
    log,
    backoff: { initialMs: 10, maxMs: 20 },
  });
  const lastBatchSeq = (): number | undefined =>
    (scorer.engine as unknown as { sessions: Map<string, { scoring: { lastBatchSeq: number } }> }).sessions.get(sessionId)?.scoring.lastBatchSeq;
  return {
    mirror,
    refused,
    lines,
    streams: () => streams,
    lastBatchSeq,
    async close() {
      mirror.close('end');
      client.close();
      await scorer.close();
      await db.close();
    },
  };
}

const key = (timeMs: number, i: number): InputEvent => ({ timeMs, kind: { $case: 'key', value: { keysym: 97 + (i % 20), pressed: i % 2 === 0 } } });

test('mirror batches above the scorer limit: cut to what the scorer accepts, every event applied, the misconfiguration logged', async () => {
  const t = await setUp(20, 100);
  try {
    for (let i = 0; i < 250; i++) t.mirror.push(key(50 * (i + 1), i));
    await until(() => t.lastBatchSeq() === 13, 5000, 'all 250 events applied in batches of 20');
    assert.deepEqual(t.refused, []);
    assert.equal(t.streams(), 1, 'no stream was refused and reopened');
    const warning = t.lines.find((l) => l.level >= 50 && /VDIGUARD_MIRROR_BATCH_EVENTS \(100\) is above the scorer's VDIGUARD_MAX_BATCH_EVENTS \(20\)/.test(l.msg));
    assert.ok(warning, 'logged as an error, naming both settings');
  } finally {
    await t.close();
  }
});

test('a batch the scorer refuses (INVALID_ARGUMENT) is final: reported once, never resent', async () => {
  const t = await setUp(5000, 10);
  try {
    for (let i = 0; i < 10; i++) t.mirror.push(key(1000 + 50 * i, i));
    await until(() => t.lastBatchSeq() === 1, 3000, 'the first batch applied');
    // A clock going backwards: what a broken or hostile sender would do.
    for (let i = 0; i < 10; i++) t.mirror.push(key(10 + i, i));
    await until(() => t.refused.length > 0, 3000, 'the refusal reported');
    const sent = t.mirror.batchesSent;
    await new Promise((r) => setTimeout(r, 200)); // ten backoff periods
    assert.equal(t.refused.length, 1);
    assert.match(t.refused[0]!, /^INVALID_ARGUMENT: batch 2, event 0: timestamps decrease/);
    assert.equal(t.streams(), 1, 'no reconnect');
    assert.equal(t.mirror.batchesSent, sent, 'nothing resent');
    assert.equal(t.mirror.state, 'closed');
    t.mirror.push(key(5000, 0)); // the tap goes on pushing; the mirror takes nothing more
    assert.equal(t.mirror.batchesSent, sent);
  } finally {
    await t.close();
  }
});

test('a scorer that refuses the gateway as unauthenticated is final: the policy applies at once, no retries', async () => {
  const t = await setUp(5000, 10, 'not-the-gateway-token-0123456789');
  try {
    for (let i = 0; i < 10; i++) t.mirror.push(key(1000 + 50 * i, i));
    await until(() => t.refused.length > 0, 3000, 'the refusal reported');
    await new Promise((r) => setTimeout(r, 200)); // ten backoff periods
    assert.equal(t.refused.length, 1);
    assert.match(t.refused[0]!, /^UNAUTHENTICATED: the credential presented is neither the gateway token nor the admin token; .*VDIGUARD_GATEWAY_TOKEN/);
    assert.equal(t.streams(), 1, 'no reconnect');
    assert.equal(t.mirror.state, 'closed');
    assert.equal(t.lastBatchSeq(), undefined, 'the scorer opened no session');
  } finally {
    await t.close();
  }
});
