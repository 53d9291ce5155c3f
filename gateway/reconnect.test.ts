import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../lib/db/db.js';
import { TEST_STORES } from '../lib/testing/databases.js';
import { startTestScorer, type TestScorer } from '../scorer/testing/scorer-harness.js';
import { scorerLink } from './mirror/scorer-link.js';
import { ADMIN_TOKEN, api, DESKTOP, startHarness, TunnelClient, until, type Harness } from './testing/harness.js';

let db: Db;
let drop: () => Promise<void>;
let scorer: TestScorer;
let h: Harness;

before(async () => {
  ({ db, drop } = await TEST_STORES[0]!.create());
  scorer = await startTestScorer(db);
  h = await startHarness({ db, link: scorerLink({ address: scorer.address }, { gatewayToken: scorer.gatewayToken }), env: { VDIGUARD_RECONNECT_GRACE_SECONDS: '30' } });
});

after(async () => {
  await h.close();
  await scorer.close();
  await drop();
});

interface LiveScoring {
  readonly lastBatchSeq: number;
}

/** The scorer's state of a session: the object that holds its trust. */
function scoringOf(sessionId: string): LiveScoring | undefined {
  return (scorer.engine as unknown as { sessions: Map<string, { scoring: LiveScoring }> }).sessions.get(sessionId)?.scoring;
}

async function open(ticket: string): Promise<{ client: TunnelClient; sessionId: string }> {
  const client = await TunnelClient.open(h.gateway.url, ticket);
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  await client.waitFor((i) => i.opcode === '' || i.opcode === 'size');
  return { client, sessionId: s.args[1] as string };
}

function type(client: TunnelClient, keys: number): void {
  for (let i = 0; i < keys; i++) client.send(`3.key,2.${97 + (i % 3)},1.1;3.key,2.${97 + (i % 3)},1.0;`);
}

test('a reconnect continues the same gateway and scorer session, under the same login or a new one', async () => {
  const { token, ticket } = await h.login();
  const first = await open(ticket);
  type(first.client, 20);
  await until(() => (scoringOf(first.sessionId)?.lastBatchSeq ?? 0) > 0, 3000, 'input applied by the scorer');
  const scoring = scoringOf(first.sessionId)!;
  const appliedBefore = scoring.lastBatchSeq;

  first.client.ws.terminate(); // the network drops
  await until(() => h.gateway.sessions.get(first.sessionId)?.awaitingReconnect === true, 3000, 'session waiting for a reconnect');
  assert.equal(h.gateway.sessions.get(first.sessionId)?.status, 'active');
  const listed = await api(h.gateway.url, '/api/admin/sessions', undefined, ADMIN_TOKEN);
  assert.deepEqual((listed.body as { sessions: { sessionId: string; phase: string }[] }).sessions.map((s) => [s.sessionId, s.phase]), [[first.sessionId, 'disconnected']]);

  // The page asks for a new ticket under the same login, as it does after a drop.
  const res = await api(h.gateway.url, '/api/tickets', { desktop: DESKTOP }, token);
  assert.equal(res.status, 200);
  const again = await open((res.body as { ticket: string }).ticket);
  assert.equal(again.sessionId, first.sessionId, 'the page is told the same session');
  assert.equal(h.gateway.sessions.size, 1);
  type(again.client, 20);
  await until(() => scoring.lastBatchSeq > appliedBefore, 3000, 'input after the reconnect applied');
  assert.equal(scoringOf(first.sessionId), scoring, "the scorer's session state (its trust) is the one from before the drop");
  assert.equal(scorer.engine.activeSessions, 1);

  // Trust belongs to the agent: signing in again does not start afresh.
  const other = await h.login();
  const relogged = await open(other.ticket);
  assert.equal(relogged.sessionId, first.sessionId, 'a new login of the same agent continues the session');
  assert.equal(scorer.engine.activeSessions, 1);
  await again.client.closed;
  relogged.client.ws.close();
});
