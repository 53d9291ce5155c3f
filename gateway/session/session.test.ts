import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Action } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { silentLogger } from '../../lib/log.js';
import type { Decision } from '../../scorer/store/audit.js';
import { verdictOf } from '../testing/fake-scorer.js';
import { DesktopSession, type SessionDeps } from './session.js';

/** `mirrorTakes`: whether the mirror takes each input event (false: its buffer is full). */
function session(o: Partial<SessionDeps> = {}, goodCode = '123456', mirrorTakes = () => true) {
  const decisions: Decision[] = [];
  const toBrowser: string[] = [];
  const revoked: string[] = [];
  const securityEnds: string[] = [];
  let closed = 0;
  const s = new DesktopSession(
    { sessionId: 's1', agentId: 'alice', desktopId: 'd1', loginId: 'l1', address: '10.0.0.1' },
    {
      log: silentLogger(),
      mode: 'enforce',
      mirrorPolicy: 'fail-closed',
      clipboard: 'both',
      graceMs: 1000,
      challengeMs: 1000,
      reconnectGraceMs: 0,
      decisions: { record: (d) => decisions.push(d) },
      verifyCode: async (_a, code) => code === goodCode,
      confirmIdentity: async () => true,
      revokeLogin: (l) => revoked.push(l),
      onSecurityEnd: (f, action) => securityEnds.push(`${f.agentId} ${action} ${f.trust}`),
      clock: () => performance.now(),
      ...o,
    },
    () => mirrorTakes(),
  );
  const controls = { toBrowser: (t: string) => toBrowser.push(t), close: () => closed++ };
  s.attach(controls);
  return { s, decisions, toBrowser, revoked, securityEnds, controls, closed: () => closed };
}

test('a challenge not answered in time ends the session', async () => {
  const { s, decisions, revoked, closed } = session({ challengeMs: 50 });
  s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.4 }));
  assert.equal(s.status, 'challenged');
  assert.equal(s.tap.holding, true);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(s.status, 'ended');
  assert.deepEqual(decisions.map((d) => d.action), ['challenge', 'challenge-failed']);
  assert.deepEqual(revoked, ['l1']);
  assert.equal(closed(), 1);
});

test('three wrong codes end the session; a right one before that resumes it', async () => {
  const a = session();
  a.s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.4 }));
  assert.equal(await a.s.answerChallenge('000000'), 'wrong');
  assert.equal(await a.s.answerChallenge('123456'), 'resumed');
  assert.equal(a.s.tap.holding, false);
  assert.equal(await a.s.answerChallenge('123456'), 'not-challenged');

  const b = session();
  b.s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.4 }));
  assert.equal(await b.s.answerChallenge('1'), 'wrong');
  assert.equal(await b.s.answerChallenge('2'), 'wrong');
  assert.equal(await b.s.answerChallenge('3'), 'ended');
  assert.equal(b.s.status, 'ended');
  assert.ok(b.toBrowser.some((t) => t.startsWith('5.error,')));
});

test('a terminate verdict during a challenge ends the session at once, with the trust trail recorded', () => {
  const { s, decisions, controls } = session();
  s.onVerdict(verdictOf({ trust: 0.7, atTimeMs: 10 }));
  s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.4, atTimeMs: 20 }));
  s.onVerdict(verdictOf({ action: Action.ACTION_TERMINATE, trust: 0.05, atTimeMs: 30, reason: 'mismatch' }));
  assert.equal(s.status, 'ended');
  const term = decisions.at(-1)!;
  assert.equal(term.action, 'terminate');
  assert.equal(term.reason, 'mismatch');
  assert.deepEqual(term.trail.map((p) => p.trust), [0.7, 0.4, 0.05]);
  assert.equal(s.fromBrowser('3.key,2.97,1.1;', controls), null, 'nothing passes after the end');
});

test('the scorer back within the grace period: nothing happens', async () => {
  const { s, decisions } = session({ graceMs: 50 });
  s.onScored(false, 'lost');
  await new Promise((r) => setTimeout(r, 20));
  s.onScored(true, 'back');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(s.status, 'active');
  assert.equal(decisions.length, 0);
});

test('a failing decision sink never breaks enforcement', () => {
  const { s } = session({ decisions: { record: () => { throw new Error('db down'); } } });
  s.onVerdict(verdictOf({ action: Action.ACTION_TERMINATE, trust: 0 }));
  assert.equal(s.status, 'ended');
});

test('a refusal by the scorer applies the mirror policy at once, with a decision record', async () => {
  const closed = session();
  closed.s.onScored(false, 'lost'); // a grace timer running must not fire a second decision
  closed.s.onRefused('INVALID_ARGUMENT: batch 2, event 0: timestamps decrease');
  assert.equal(closed.s.status, 'ended');
  assert.deepEqual(closed.decisions.map((d) => [d.action, d.reason]), [['fail-closed', "the scorer refused the session's input and no longer scores it (INVALID_ARGUMENT: batch 2, event 0: timestamps decrease)"]]);
  assert.match(closed.toBrowser.at(-1)!, /could not be verified/);

  const open = session({ mirrorPolicy: 'fail-open', graceMs: 20 });
  open.s.onRefused('RESOURCE_EXHAUSTED: batch 3 has 6000 events');
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(open.s.status, 'active');
  assert.equal(open.s.scored, false);
  assert.deepEqual(open.decisions.map((d) => d.action), ['fail-open']);
});

test('a dropped connection after input waits for a reconnect, which continues the session and its pending challenge', async () => {
  const { s, decisions, controls, toBrowser, closed } = session({ reconnectGraceMs: 60_000, challengeMs: 30_000 });
  s.fromBrowser('3.key,2.97,1.1;', controls);
  s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.4 }));
  s.fromBrowser('3.key,', controls); // half an instruction when the connection drops
  s.disconnected('browser disconnected', controls);
  assert.equal(s.status, 'challenged', 'dropping the connection does not get out of a challenge');
  assert.equal(s.awaitingReconnect, true);
  assert.equal(closed(), 1, 'the old connection is closed');

  const again: string[] = [];
  const fresh = { toBrowser: (t: string) => again.push(t), close: () => undefined };
  s.attach(fresh);
  assert.equal(s.awaitingReconnect, false);
  assert.deepEqual(again.slice(0, 2), ['8.vdiguard,9.clipboard,4.both;', '8.vdiguard,7.session,2.s1;'], 'the clipboard policy, then the session');
  assert.match(again[2]!, /^8\.vdiguard,9\.challenge,2\.(29|30);$/, 'the page is asked for the code again, with the time left');
  assert.equal(s.fromBrowser('3.key,2.98,1.1;', fresh), null, 'the new connection parses from a clean start, and input stays held');
  assert.equal(s.tap.inputEvents, 2);
  s.disconnected('desktop connection closed', controls); // the old connection's late close
  assert.equal(s.awaitingReconnect, false);
  assert.equal(s.status, 'challenged');
  assert.deepEqual(decisions.map((d) => d.action), ['challenge']);
  assert.ok(toBrowser.length > 0);
});

test('no reconnect in time ends the session; without input or without a grace period it ends at once', async () => {
  const waited = session({ reconnectGraceMs: 30 });
  waited.s.fromBrowser('3.key,2.97,1.1;', waited.controls);
  waited.s.disconnected('browser disconnected', waited.controls);
  assert.equal(waited.s.status, 'active');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(waited.s.status, 'ended');
  assert.equal(waited.s.endReason, 'browser disconnected; no reconnect within 0 s');
  assert.equal(waited.s.awaitingReconnect, false);

  const idle = session({ reconnectGraceMs: 30_000 });
  idle.s.disconnected('desktop connection closed', idle.controls);
  assert.equal(idle.s.status, 'ended', 'nothing to continue');

  const off = session();
  off.s.fromBrowser('3.key,2.97,1.1;', off.controls);
  off.s.disconnected('browser disconnected', off.controls);
  assert.equal(off.s.status, 'ended');
});

test("a newer connection takes over: the older one is told and closed, and its late input is never typed", () => {
  const { s, controls, toBrowser, closed } = session();
  const newer: string[] = [];
  const fresh = { toBrowser: (t: string) => newer.push(t), close: () => undefined };
  s.attach(fresh, 'l2');
  assert.equal(closed(), 1);
  assert.match(toBrowser.at(-1)!, /^5\.error,.*,3\.521;$/, 'SESSION_CONFLICT (0x0209) to the older window');
  assert.equal(s.fromBrowser('3.key,2.97,1.1;', controls), null, "the replaced connection's input goes nowhere");
  assert.equal(s.tap.inputEvents, 0, 'and is not scored as if it were typed');
  assert.equal(s.fromBrowser('3.key,2.97,1.1;', fresh), '3.key,2.97,1.1;');
  assert.deepEqual([...s.logins], ['l1', 'l2']);
});

test('breaking the protocol during a challenge is a failed challenge, and every login that attached is ended', () => {
  const { s, decisions, revoked } = session();
  const second = { toBrowser: () => undefined, close: () => undefined };
  s.attach(second, 'l2');
  s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.3 }));
  s.fromBrowser('3.key,x.1;', second);
  assert.equal(s.status, 'ended');
  assert.deepEqual(decisions.map((d) => d.action), ['challenge', 'challenge-failed']);
  assert.deepEqual(revoked, ['l1', 'l2']);
});

test('a terminate or a failed challenge locks the agent; an admin kill, a protocol error, fail-closed and monitor mode do not', async () => {
  const terminated = session();
  terminated.s.onVerdict(verdictOf({ action: Action.ACTION_TERMINATE, trust: 0, reason: 'mismatch' }));
  assert.deepEqual(terminated.securityEnds, ['alice terminate 0']);

  const failed = session();
  failed.s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.4 }));
  for (const code of ['1', '2', '3']) await failed.s.answerChallenge(code);
  assert.deepEqual(failed.securityEnds, ['alice challenge-failed 0.4']);

  const timedOut = session({ challengeMs: 20 });
  timedOut.s.onVerdict(verdictOf({ action: Action.ACTION_CHALLENGE, trust: 0.3 }));
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(timedOut.securityEnds, ['alice challenge-failed 0.3']);

  const killed = session();
  killed.s.kill('ended by an administrator');
  const broken = session();
  broken.s.fromBrowser(Buffer.from([0xff]), broken.controls);
  const unverified = session();
  unverified.s.onRefused('INVALID_ARGUMENT');
  const monitored = session({ mode: 'monitor' });
  monitored.s.onVerdict(verdictOf({ action: Action.ACTION_TERMINATE, trust: 0 }));
  for (const [name, x] of Object.entries({ killed, broken, unverified, monitored })) assert.deepEqual(x.securityEnds, [], name);
  assert.deepEqual([killed, broken, unverified].map((x) => x.s.status), ['ended', 'ended', 'ended']);
});

test('a session on probation starts challenged at the carried trust, holds input until a fresh code, and records it', async () => {
  const { s, decisions, toBrowser, controls } = session({ initialTrust: 0.2, probation: { reason: 'on probation after terminate' }, challengeMs: 30_000 });
  assert.equal(s.status, 'challenged');
  assert.equal(s.trust, 0.2);
  assert.equal(s.minTrust, 0.2);
  assert.deepEqual(decisions.map((d) => [d.action, d.reason, d.trust]), [['probation', 'on probation after terminate', 0.2]]);
  assert.match(toBrowser.join(''), /8\.vdiguard,9\.challenge,2\.30;/, 'the page is asked for a code as soon as it attaches');
  assert.equal(s.fromBrowser('3.key,2.97,1.1;', controls), null, 'input is held');
  assert.equal(await s.answerChallenge('123456'), 'resumed');
  assert.equal(String(s.fromBrowser('3.key,2.98,1.1;', controls)), '3.key,2.98,1.1;');
  assert.equal(s.trust, 0.2, 'the code lifts the hold, not the trust');
  s.closed('test over');
});

test('input the mirror cannot take: recorded once per episode, kept from the desktop (fail-closed) or let through (fail-open)', () => {
  let room = false;
  const closed = session({}, '123456', () => room);
  assert.equal(closed.s.fromBrowser('3.key,2.97,1.1;', closed.controls), null, 'fail-closed: unscored input never reaches the desktop');
  assert.equal(closed.s.fromBrowser('3.key,2.97,1.0;', closed.controls), null);
  assert.equal(closed.s.tap.unmirroredEvents, 2);
  assert.deepEqual(closed.decisions.map((d) => d.action), ['mirror-overflow'], 'recorded, once for the episode');
  assert.match(closed.decisions[0]!.reason, /kept from the desktop/);
  closed.s.onScored(true, 'the scorer caught up');
  room = true;
  assert.equal(closed.s.fromBrowser('3.key,2.98,1.1;', closed.controls), '3.key,2.98,1.1;');
  room = false;
  closed.s.fromBrowser('3.key,2.98,1.0;', closed.controls);
  assert.deepEqual(closed.decisions.map((d) => d.action), ['mirror-overflow', 'mirror-overflow'], 'a new episode is recorded again');

  const open = session({ mirrorPolicy: 'fail-open' }, '123456', () => false);
  assert.equal(open.s.fromBrowser('3.key,2.97,1.1;', open.controls), '3.key,2.97,1.1;', 'fail-open lets it through');
  assert.match(open.decisions[0]!.reason, /let through unscored/);
});
