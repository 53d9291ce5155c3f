/** `vdiguard health` (lib/health.ts) against the scorer's own grpc.health.v1 service. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../lib/db/db.js';
import { checkHealth } from '../../lib/health.js';
import { startTestScorer } from '../testing/scorer-harness.js';

const opts = { timeoutMs: 2000 };

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
