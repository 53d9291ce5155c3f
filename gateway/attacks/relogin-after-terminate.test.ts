/**
 * Attack (issue 17): log in again after a security decision. The colluder's session is terminated
 * for a mismatch (or the MFA challenge fails); the complicit agent's client simply logs in again
 * with the password and a fresh code. Every new session used to start trusted (trust 1), so the
 * colluder got about 30 s per login, indefinitely.
 *
 * Control: the terminate or failed challenge locks the agent in the store, for every replica
 * (VDIGUARD_AFTER_MISMATCH=lock, the default): the next login with the right password and code is
 * refused with a message saying so, a login from before gets no tickets and its live session ends,
 * until an admin unlocks. With `probation` the next session starts challenged (input held until a
 * fresh code) and at the trust the last one ended on, which the scorer continues from. Each step
 * is a decision in the audit trail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Action } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { LOCKED_MESSAGE } from '../auth/login.js';
import { ADMIN_TOKEN, AGENT, api, DESKTOP, loginCookieOf, PASSWORD, startHarness, TunnelClient, until, type Harness } from '../testing/harness.js';

async function connect(h: Harness, ticket: string): Promise<{ client: TunnelClient; sessionId: string }> {
  const client = await TunnelClient.open(h.gateway.url, ticket);
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  const sessionId = s.args[1] as string;
  await until(() => h.scorer!.streams.some((x) => x.open?.sessionId === sessionId), 3000, 'the scorer stream opened');
  return { client, sessionId };
}

function streamOf(h: Harness, sessionId: string) {
  const found = h.scorer!.streams.find((s) => s.open?.sessionId === sessionId);
  assert.ok(found, `the scorer has a stream for ${sessionId}`);
  return found;
}

/** The agent's decisions, oldest first, once `n` of them have landed. */
async function decisions(h: Harness, n: number): Promise<[string, string, string][]> {
  const audit = new AuditLog(h.db);
  let list: Awaited<ReturnType<AuditLog['decisions']>> = [];
  for (let i = 0; i < 150 && list.length < n; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 20));
    list = await audit.decisions({ agentId: AGENT });
  }
  return list.reverse().map((d) => [d.action, d.source, d.sessionId]);
}

async function relogin(h: Harness): Promise<{ status: number; body: { error?: string; ticket?: { ticket: string } }; token?: string }> {
  const res = await api(h.gateway.url, '/api/login', { agent: AGENT, password: PASSWORD, code: h.code() });
  const body = res.body as { error?: string; ticket?: { ticket: string } };
  return { status: res.status, body, token: res.status === 200 ? loginCookieOf(res.headers) : undefined };
}

test('lock (default): after a terminate the right password and code are refused, other logins lose tickets and sessions, until an admin unlocks', async () => {
  const h = await startHarness();
  try {
    const colluder = await connect(h, (await h.login()).ticket);
    // The same agent's second login joins the colluder's session (trust belongs to the agent).
    const other = await h.login();
    const bystander = await connect(h, other.ticket);
    assert.equal(bystander.sessionId, colluder.sessionId);
    const idle = await h.login();
    streamOf(h, colluder.sessionId).verdict({ action: Action.ACTION_TERMINATE, trust: 0, reason: 'keystroke timings do not match' });
    await colluder.client.closed;
    const early = await TunnelClient.open(h.gateway.url, idle.ticket);
    assert.equal((await early.waitFor((i) => i.opcode === 'error')).args[0], LOCKED_MESSAGE, 'a ticket issued before the lock opens no session');

    const again = await relogin(h);
    assert.equal(again.status, 403, 'the right password and code no longer open a session');
    assert.match(again.body.error ?? '', /locked after a security decision.*contact your supervisor/i);
    const wrong = await api(h.gateway.url, '/api/login', { agent: AGENT, password: 'not it', code: h.code() });
    assert.deepEqual([wrong.status, (wrong.body as { error: string }).error], [401, 'wrong agent, password or code'], 'wrong credentials learn nothing about the lock');

    await bystander.client.closed;
    assert.equal((await api(h.gateway.url, '/api/tickets', { desktop: DESKTOP }, other.token)).status, 401, "the ended session's login is revoked");
    const ticketAgain = await api(h.gateway.url, '/api/tickets', { desktop: DESKTOP }, idle.token);
    assert.deepEqual([ticketAgain.status, (ticketAgain.body as { error: string }).error], [403, LOCKED_MESSAGE], 'a login from before the lock gets no ticket');

    const locks = await api(h.gateway.url, '/api/admin/locks', undefined, ADMIN_TOKEN);
    assert.deepEqual((locks.body as { locks: { agentId: string; kind: string; sessionId: string }[] }).locks.map((l) => [l.agentId, l.kind, l.sessionId]), [[AGENT, 'locked', colluder.sessionId]]);
    const unlocked = await api(h.gateway.url, `/api/admin/agents/${AGENT}/unlock`, {}, ADMIN_TOKEN);
    assert.deepEqual({ status: unlocked.status, body: unlocked.body }, { status: 200, body: { unlocked: AGENT, lifted: ['locked', 'login-throttle'] } }, 'the lock, and the refused logins counted meanwhile');
    assert.equal((await api(h.gateway.url, `/api/admin/agents/${AGENT}/unlock`, {}, ADMIN_TOKEN)).status, 404, 'nothing left to unlock');

    const after = await relogin(h);
    assert.equal(after.status, 200, 'unlocked: the agent logs in');
    const fresh = await connect(h, after.body.ticket!.ticket);
    assert.equal(streamOf(h, fresh.sessionId).open?.initialTrust, undefined, 'and starts afresh');
    fresh.client.ws.close();

    assert.deepEqual(await decisions(h, 3), [
      ['terminate', 'gateway', colluder.sessionId],
      ['agent-locked', 'gateway', colluder.sessionId],
      ['agent-unlocked', 'admin', colluder.sessionId],
    ]);
  } finally {
    await h.close();
  }
});

test('probation: after a failed challenge the next session starts challenged, at the trust the last one ended on', async () => {
  const h = await startHarness({ env: { VDIGUARD_AFTER_MISMATCH: 'probation' } });
  try {
    const first = await h.login();
    const failed = await connect(h, first.ticket);
    streamOf(h, failed.sessionId).verdict({ action: Action.ACTION_CHALLENGE, trust: 0.3, reason: 'suspect' });
    await failed.client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'challenge');
    for (const code of ['000000', '111111', '222222']) await api(h.gateway.url, '/api/challenge', { session: failed.sessionId, code }, first.token);
    await failed.client.closed;

    const again = await relogin(h);
    assert.equal(again.status, 200, 'probation lets the agent in');
    const probation = await connect(h, again.body.ticket!.ticket);
    await probation.client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'challenge');
    assert.equal(streamOf(h, probation.sessionId).open?.initialTrust, 0.3, 'the scorer continues from the trust the failed session ended on');
    const conn = h.guacd.connections.at(-1)!;
    probation.client.send('3.key,2.97,1.1;');
    await until(() => h.scorer!.events(probation.sessionId).length === 1, 3000, 'the held input is still scored');
    assert.doesNotMatch(conn.raw, /3\.key,2\.97/, 'no input reaches the desktop before a fresh code');
    const answered = await api(h.gateway.url, '/api/challenge', { session: probation.sessionId, code: h.code() }, again.token);
    assert.deepEqual(answered.body, { outcome: 'resumed' });
    probation.client.send('3.key,2.98,1.1;');
    await until(() => conn.raw.includes('3.key,2.98,1.1;'), 3000, 'input forwarded after the code');
    // Signing out ends the session (a dropped connection would wait for a reconnect that continues it).
    await api(h.gateway.url, '/api/logout', {}, again.token);
    await probation.client.closed;

    assert.equal((await api(h.gateway.url, `/api/admin/agents/${AGENT}/unlock`, {}, ADMIN_TOKEN)).status, 200);
    const lifted = await relogin(h);
    const normal = await connect(h, lifted.body.ticket!.ticket);
    assert.equal(streamOf(h, normal.sessionId).open?.initialTrust, undefined, 'probation lifted: a fresh start');
    assert.ok(!normal.client.received.some((i) => i.opcode === 'vdiguard' && i.args[0] === 'challenge'), 'and no challenge');
    normal.client.ws.close();

    assert.deepEqual(await decisions(h, 7), [
      ['challenge', 'gateway', failed.sessionId],
      ['challenge-failed', 'gateway', failed.sessionId],
      ['probation', 'gateway', failed.sessionId],
      ['probation', 'gateway', probation.sessionId],
      ['challenge-passed', 'gateway', probation.sessionId],
      ['login-ended', 'gateway', probation.sessionId],
      ['agent-unlocked', 'admin', failed.sessionId],
    ]);
  } finally {
    await h.close();
  }
});
