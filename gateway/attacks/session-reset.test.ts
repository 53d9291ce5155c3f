/**
 * Attacks that end a session to get a fresh one at trust 1, by a complicit agent who owns the
 * browser and their credentials:
 * - close the tab while trust is falling and wait out the reconnect grace period;
 * - send a malformed instruction, which ends the session, then sign in again.
 * Control: the trust a session ends on is the agent's (table agent_trust), and their next session
 * within VDIGUARD_TRUST_CARRY_HOURS starts there, at the gateway and in the scorer (SessionOpen
 * initial_trust). And a lock placed on another replica ends this replica's sessions of the agent.
 * Over real sockets; the fake scorer stands in for the real one only to report a falling trust on cue.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GuacStatus } from '../guac/index.js';
import { ADMIN_TOKEN, AGENT, api, startHarness, TunnelClient, until, type Harness } from '../testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ env: { VDIGUARD_RECONNECT_GRACE_SECONDS: '1' } });
});
after(async () => {
  await h.close();
});

async function open(): Promise<{ client: TunnelClient; sessionId: string }> {
  const client = await TunnelClient.open(h.gateway.url, (await h.login()).ticket);
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  const sessionId = s.args[1] as string;
  await until(() => h.scorer!.streams.some((st) => st.open?.sessionId === sessionId), 3000, 'the scorer has the session');
  return { client, sessionId };
}

function openOf(sessionId: string) {
  return h.scorer!.streams.find((st) => st.open?.sessionId === sessionId)!;
}

async function fallTo(s: { client: TunnelClient; sessionId: string }, trust: number): Promise<void> {
  s.client.send('3.key,2.97,1.1;');
  openOf(s.sessionId).verdict({ trust });
  await until(() => h.gateway.sessions.get(s.sessionId)?.trust === trust, 3000, 'trust reported');
}

test('closing the tab and waiting out the reconnect grace does not reset trust', async () => {
  const first = await open();
  await fallTo(first, 0.6);
  first.client.ws.terminate();
  await until(() => h.gateway.sessions.get(first.sessionId) === undefined, 5000, 'the session ended after the grace period');
  await new Promise((r) => setTimeout(r, 300)); // the ending's trust is written through the store's queue
  const next = await open();
  assert.notEqual(next.sessionId, first.sessionId);
  assert.equal(openOf(next.sessionId).open?.initialTrust, 0.6, 'the scorer continues from the trust the last session ended on');
  assert.equal(h.gateway.sessions.get(next.sessionId)?.trust, 0.6);
  next.client.ws.close();
  await next.client.closed;
  await until(() => h.gateway.sessions.get(next.sessionId) === undefined, 5000, 'ended');
});

test('a protocol error and a new login do not reset trust either', async () => {
  const first = await open();
  await fallTo(first, 0.55);
  first.client.send('3.key,4.0x61,1.1;');
  const err = await first.client.waitFor((i) => i.opcode === 'error');
  assert.equal(Number(err.args[1]), GuacStatus.CLIENT_BAD_REQUEST);
  await first.client.closed;
  await new Promise((r) => setTimeout(r, 300));
  const next = await open();
  assert.equal(openOf(next.sessionId).open?.initialTrust, 0.55);
  next.client.ws.close();
  await next.client.closed;
  await until(() => h.gateway.sessions.get(next.sessionId) === undefined, 5000, 'ended');
});

test('a lock placed on another replica (a row in the shared store) ends the agent\'s session here; an unlock starts afresh', async () => {
  const s = await open();
  await h.gateway.store.lockAgent({ agentId: AGENT, kind: 'locked', trust: 0, sessionId: 'elsewhere', action: 'terminate', reason: 'mismatch on another replica' });
  const err = await s.client.waitFor((i) => i.opcode === 'error', 6000);
  assert.equal(Number(err.args[1]), GuacStatus.SESSION_CLOSED);
  await s.client.closed;
  assert.equal((await api(h.gateway.url, `/api/admin/agents/${AGENT}/unlock`, {}, ADMIN_TOKEN)).status, 200);
  await new Promise((r) => setTimeout(r, 300));
  const fresh = await open();
  assert.equal(openOf(fresh.sessionId).open?.initialTrust, undefined, 'after an unlock the agent starts at trust 1');
  fresh.client.ws.close();
});
