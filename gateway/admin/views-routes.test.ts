/**
 * The admin API's live views over a real gateway and store: live, disconnected and ended sessions,
 * one session's trust curve and decisions, decision filters, and profile maturity from a real
 * scorer after a real session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { loadScorerSettings } from '../../scorer/config.js';
import { startScorer } from '../../scorer/service/server.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { scorerLink } from '../mirror/scorer-link.js';
import { ADMIN_TOKEN, AGENT, api, GATEWAY_TOKEN, OTHER_AGENT, startHarness, TunnelClient, until, type Harness } from '../testing/harness.js';
import type { ProfileMaturity, SessionSummary, TrustLinePoint } from './views-routes.js';
import type { Decision } from '../../scorer/store/audit.js';

type Detail = { session: SessionSummary; trustLine: TrustLinePoint[]; decisions: Decision[]; thresholds: { challenge: number; terminate: number } };
const get = async <T>(h: Harness, path: string): Promise<{ status: number; body: T }> => {
  const res = await api(h.gateway.url, path, undefined, ADMIN_TOKEN);
  return { status: res.status, body: res.body as T };
};

async function connect(h: Harness): Promise<{ client: TunnelClient; sessionId: string }> {
  const { ticket } = await h.login();
  const client = await TunnelClient.open(h.gateway.url, ticket);
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  return { client, sessionId: s.args[1] as string };
}

/** Keys as the page sends them, one every 90 ms (the scorer needs timings a person could have). */
async function type(client: TunnelClient, keys: number): Promise<void> {
  for (let i = 0; i < keys; i++) {
    const k = String(97 + (i % 26));
    client.send(`3.key,${k.length}.${k},1.1;`);
    await new Promise((r) => setTimeout(r, 30));
    client.send(`3.key,${k.length}.${k},1.0;`);
    await new Promise((r) => setTimeout(r, 60));
  }
}

test('sessions: live with its trust line, a dropped connection as disconnected with its end, ended ones from the record', async () => {
  const h = await startHarness({ env: { VDIGUARD_RECONNECT_GRACE_SECONDS: '120' } });
  try {
    const { client, sessionId } = await connect(h);
    client.send('3.key,2.97,1.1;3.key,2.97,1.0;');
    await until(() => h.scorer!.streams.some((s) => s.open?.sessionId === sessionId), 3000, 'scorer stream');
    h.scorer!.streams.find((s) => s.open?.sessionId === sessionId)!.verdict({ trust: 0.7 });
    await until(() => h.gateway.sessions.get(sessionId)?.trust === 0.7, 3000, 'trust update');

    const live = (await get<{ sessions: SessionSummary[] }>(h, '/api/admin/sessions')).body.sessions;
    assert.equal(live.length, 1);
    assert.equal(live[0]?.phase, 'active');
    assert.equal(live[0]?.trust, 0.7);
    assert.deepEqual(live[0]?.trustLine.map((p) => p.trust), [0.7]);

    client.ws.terminate();
    await until(() => h.gateway.sessions.get(sessionId)?.awaitingReconnect === true, 3000, 'waiting for a reconnect');
    const dropped = (await get<{ sessions: SessionSummary[] }>(h, `/api/admin/sessions?agent=${AGENT}`)).body.sessions[0]!;
    assert.equal(dropped.phase, 'disconnected', 'a closed tab is not listed as active');
    const endsIn = Date.parse(dropped.reconnectEndsAt ?? '') - Date.now();
    assert.ok(endsIn > 100_000 && endsIn <= 120_000, `ends in about 120 s (${endsIn} ms)`);
    assert.deepEqual((await get<{ sessions: SessionSummary[] }>(h, `/api/admin/sessions?agent=${OTHER_AGENT}`)).body.sessions, []);

    // An ended session as the scorer records it, with a decision on its way.
    const audit = new AuditLog(h.db);
    const t0 = new Date(Date.now() - 60_000);
    await audit.sessionStarted({ sessionId: 'old-1', agentId: AGENT, desktopId: 'desk-1', clientAddress: '10.0.0.9', startedAt: t0 });
    await audit.decision({ sessionId: 'old-1', agentId: AGENT, decidedAt: new Date(t0.getTime() + 20_000), source: 'scorer', trust: 0.45, state: 'suspect', action: 'challenge', reason: 'r', trail: [], timing: null });
    await audit.sessionEnded({ sessionId: 'old-1', endedAt: new Date(t0.getTime() + 40_000), reason: 'closed', minTrust: 0.4, finalTrust: 0.6 });

    const ended = (await get<{ sessions: SessionSummary[] }>(h, '/api/admin/sessions?state=ended')).body.sessions;
    assert.deepEqual(ended.map((s) => [s.sessionId, s.phase, s.trust, s.minTrust, s.address]), [['old-1', 'ended', 0.6, 0.4, '10.0.0.9']]);
    const all = (await get<{ sessions: SessionSummary[] }>(h, '/api/admin/sessions?state=all')).body.sessions;
    assert.deepEqual(all.map((s) => s.sessionId), [sessionId, 'old-1'], 'live first, then ended');
    assert.deepEqual((await get<{ sessions: SessionSummary[] }>(h, '/api/admin/sessions?state=all&limit=1')).body.sessions.map((s) => s.sessionId), [sessionId]);

    const detail = (await get<Detail>(h, '/api/admin/sessions/old-1')).body;
    assert.equal(detail.session.endedAt, new Date(t0.getTime() + 40_000).toISOString());
    assert.deepEqual(detail.trustLine, [{ t: t0.getTime() + 20_000, trust: 0.45, inconsistentStretches: null }, { t: t0.getTime() + 40_000, trust: 0.6, inconsistentStretches: null }], 'the decisions, then where it ended');
    assert.deepEqual(detail.decisions.map((x) => x.action), ['challenge']);
    assert.deepEqual(detail.thresholds, { challenge: 0.5, terminate: 0 });

    const liveDetail = (await get<Detail>(h, `/api/admin/sessions/${sessionId}`)).body;
    assert.equal(liveDetail.session.phase, 'disconnected');
    assert.deepEqual(liveDetail.trustLine.map((p) => p.trust), [0.7]);

    const missing = await get<{ error: string }>(h, '/api/admin/sessions/no-such');
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /no session no-such/);
    const bad = await get<{ error: string }>(h, '/api/admin/sessions?state=stale');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^state must be one of live, ended, all/);
  } finally {
    await h.close();
  }
});

test('event times: live from the latest verdict and marked on the trust line; ended from the last decision that recorded them', async () => {
  const h = await startHarness();
  try {
    const { client, sessionId } = await connect(h);
    client.send('3.key,2.97,1.1;3.key,2.97,1.0;');
    await until(() => h.scorer!.streams.some((s) => s.open?.sessionId === sessionId), 3000, 'scorer stream');
    const stream = h.scorer!.streams.find((s) => s.open?.sessionId === sessionId)!;
    const early = { client: 180, missing: 0, backwards: 0, future: 0, outsideEnvelope: 0, distrusted: 0, inconsistentStretches: 0, envelopeMs: 250 };
    const later = { client: 410, missing: 0, backwards: 1, future: 0, outsideEnvelope: 22, distrusted: 0, inconsistentStretches: 2, envelopeMs: 31.5 };
    const verdicts: [number, typeof early | undefined][] = [[0.9, undefined], [0.8, early], [0.6, later], [0.55, undefined]];
    for (const [trust, timing] of verdicts) {
      stream.verdict({ trust, timing });
      await until(() => h.gateway.sessions.get(sessionId)?.trust === trust, 3000, `trust ${trust}`);
    }

    const [live] = (await get<{ sessions: SessionSummary[] }>(h, '/api/admin/sessions')).body.sessions;
    assert.deepEqual(live?.timing, later, 'the latest report; a verdict without one (an older scorer) keeps it');
    assert.deepEqual(
      live?.trustLine.map((p) => [p.trust, p.inconsistentStretches]),
      [[0.9, null], [0.8, 0], [0.6, 2], [0.55, 2]],
      'each point with the inconsistent stretches so far; unknown before the first report',
    );
    assert.deepEqual((await get<Detail>(h, `/api/admin/sessions/${sessionId}`)).body.session.timing, later);

    // An earlier decision of the scorer's, then the admin's kill (the gateway's record of it carries the latest report).
    const audit = new AuditLog(h.db);
    const startedAt = new Date(Date.now() - 3_600_000);
    await audit.sessionStarted({ sessionId, agentId: AGENT, desktopId: 'desk-1', clientAddress: '127.0.0.1', startedAt });
    await audit.decision({ sessionId, agentId: AGENT, decidedAt: new Date(startedAt.getTime() + 60_000), source: 'scorer', trust: 0.45, state: 'suspect', action: 'challenge', reason: 'r', trail: [], timing: early });
    assert.equal((await api(h.gateway.url, `/api/admin/sessions/${sessionId}/kill`, {}, ADMIN_TOKEN)).status, 200);
    let decisions: Decision[] = [];
    for (let i = 0; i < 50 && decisions.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      decisions = (await get<{ decisions: Decision[] }>(h, `/api/admin/decisions?session=${sessionId}`)).body.decisions;
    }
    assert.deepEqual(decisions.map((d) => [d.action, d.timing]), [['admin-kill', later], ['challenge', early]], 'the decisions JSON carries each report');
    const killedAt = Date.parse(String(decisions[0]?.decidedAt));
    await audit.sessionEnded({ sessionId, endedAt: new Date(killedAt), reason: 'admin-kill', minTrust: 0.45, finalTrust: 0.55 });
    // A later decision without a report (an admin lifting a lock) does not hide the session's.
    await audit.decision({ sessionId, agentId: AGENT, decidedAt: new Date(killedAt + 60_000), source: 'admin', trust: 0.55, state: 'locked', action: 'agent-unlocked', reason: 'r', trail: [], timing: null });

    const ended = (await get<Detail>(h, `/api/admin/sessions/${sessionId}`)).body;
    assert.equal(ended.session.phase, 'ended');
    assert.deepEqual(ended.session.timing, later, 'as of the last decision that recorded one');
    assert.deepEqual(
      ended.trustLine.map((p) => [p.trust, p.inconsistentStretches]),
      [[0.45, 0], [0.55, 2], [0.55, null], [0.55, 2]],
      'the decisions with their counts, then where it ended',
    );
    const listed = (await get<{ sessions: SessionSummary[] }>(h, '/api/admin/sessions?state=ended')).body.sessions;
    assert.deepEqual(listed.map((s) => [s.sessionId, s.timing]), [[sessionId, null]], 'the list of ended sessions reads no decisions');
  } finally {
    await h.close();
  }
});

test('decisions: filtered by action and time range; a bad time says what to send', async () => {
  const h = await startHarness();
  try {
    const audit = new AuditLog(h.db);
    const at = (iso: string, action: string, agentId = AGENT): Promise<void> =>
      audit.decision({ sessionId: 's', agentId, decidedAt: new Date(iso), source: 'scorer', trust: 0.5, state: 'suspect', action, reason: 'r', trail: [], timing: null });
    await at('2025-03-01T08:00:00Z', 'challenge');
    await at('2025-03-01T09:00:00Z', 'terminate');
    await at('2025-03-01T10:00:00Z', 'challenge');
    await at('2025-03-01T10:00:00Z', 'challenge', OTHER_AGENT);
    const actions = async (q: string): Promise<string[]> =>
      (await get<{ decisions: Decision[] }>(h, `/api/admin/decisions?${q}`)).body.decisions.map((d) => `${d.agentId} ${d.action} ${new Date(d.decidedAt).toISOString().slice(11, 16)}`);
    assert.deepEqual(await actions(`agent=${AGENT}&action=challenge`), [`${AGENT} challenge 10:00`, `${AGENT} challenge 08:00`]);
    assert.deepEqual(await actions(`agent=${AGENT}&since=${encodeURIComponent('2025-03-01T08:30:00Z')}&until=${encodeURIComponent('2025-03-01T10:00:00+00:00')}`), [`${AGENT} terminate 09:00`]);
    const bad = await get<{ error: string }>(h, '/api/admin/decisions?since=yesterday');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^since must be an ISO-8601 time with a zone/);
  } finally {
    await h.close();
  }
});

test('profiles: every agent listed; a real session adds its behaviour to the profile when it ends', { timeout: 60_000 }, async () => {
  const db = await openDb({});
  const scorer = await startScorer(loadScorerSettings({ VDIGUARD_SCORER_LISTEN: '127.0.0.1:0', VDIGUARD_ADMIN_TOKEN: ADMIN_TOKEN, VDIGUARD_GATEWAY_TOKEN: GATEWAY_TOKEN }), { log: silentLogger(), db });
  const link = scorerLink({ address: scorer.address }, { gatewayToken: GATEWAY_TOKEN, adminToken: ADMIN_TOKEN });
  const h = await startHarness({ db, link, env: { VDIGUARD_RECONNECT_GRACE_SECONDS: '1' } });
  try {
    const profiles = async (): Promise<ProfileMaturity[]> => (await get<{ profiles: ProfileMaturity[] }>(h, '/api/admin/profiles')).body.profiles;
    assert.deepEqual((await profiles()).map((p) => [p.agentId, p.displayName, p.state, p.keystrokesEnrolled, p.liveSession]), [
      [AGENT, 'Alice', 'none', 0, false],
      [OTHER_AGENT, 'Bob', 'none', 0, false],
    ]);
    const { client } = await connect(h);
    await type(client, 120);
    assert.deepEqual((await profiles()).map((p) => [p.agentId, p.state, p.liveSession]).at(0), [AGENT, 'none', true], 'added when the session ends');
    client.ws.close();
    let alice: ProfileMaturity | undefined;
    for (let i = 0; i < 100 && alice?.state !== 'enrolling'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      alice = (await profiles()).find((p) => p.agentId === AGENT);
    }
    assert.equal(alice?.state, 'enrolling');
    assert.equal(alice?.liveSession, false);
    assert.ok((alice?.keystrokesEnrolled ?? 0) >= 100, `keystrokes enrolled: ${alice?.keystrokesEnrolled}`);
    assert.ok((alice?.keystrokesRequired ?? 0) > 0, 'still required, for the progress bar');
  } finally {
    await h.close();
    link.close();
    await scorer.close();
    await db.close();
  }
});
