import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPipelines, RoutedExtractor } from '../models/pipelines.js';
import { addWindows, emptyProfile, type ProfileBody } from '../profile/profile.js';
import { DEFAULT_TRUST_POLICY } from '../trust/trust.js';
import { ALICE, MALLORY, typing } from '../testing/typist.js';
import { gaussian, seededRandom } from '../../lib/random.js';
import { asMoves, devicePoints, relayedPoints, toolLoopPoints } from '../testing/pointer-paths.js';
import { ScoringSession, type SessionPolicy } from './session.js';

const pipelines = defaultPipelines();
const policy: SessionPolicy = {
  trust: DEFAULT_TRUST_POLICY,
  maturity: { keystrokes: 1000, mouseActions: 400, maxWindows: 400 },
  adaptMaxScore: 1.5,
};

async function enrolled(keystrokes: number, seed: number): Promise<ProfileBody> {
  const windows = [];
  const x = new RoutedExtractor(pipelines);
  for (const e of typing(ALICE, keystrokes, seed)) windows.push(...x.push(e));
  const keystroke = pipelines.find((p) => p.modality === 'keystroke')!;
  return addWindows(
    emptyProfile(),
    'keystroke',
    { windows: windows.map((w) => w.vector), units: windows.reduce((n, w) => n + w.count, 0) },
    async (w) => ({ model: keystroke.model.name, template: keystroke.model.fit(w as number[][]) }),
    policy.maturity,
  );
}

test('without a profile every window is enrolling, never enforced, and all of it is contributed', () => {
  const s = new ScoringSession(null, pipelines, policy);
  const verdicts = s.push(typing(MALLORY, 500, 1));
  assert.equal(verdicts.length, 10);
  assert.ok(verdicts.every((v) => v.level === 'enrolling' && v.action === 'none' && Number.isNaN(v.windowScore)));
  assert.match(verdicts[0]!.reason, /enrolling, not enforced: .*needs 1000 more keystrokes or 400 more mouse actions/);
  assert.equal(s.takeContribution().get('keystroke')?.units, 500);
});

test('a long session holds at most a quarter more than the profile\'s window cap, and contributes the newest windows and every keystroke', () => {
  const capped = new ScoringSession(null, pipelines, { ...policy, maturity: { ...policy.maturity, maxWindows: 10 } });
  const whole = new ScoringSession(null, pipelines, policy);
  const keys = typing(MALLORY, 2000, 5);
  for (let i = 0; i < keys.length; i += 100) {
    capped.push(keys.slice(i, i + 100));
    whole.push(keys.slice(i, i + 100));
    assert.ok(capped.gatheredWindows <= 13, `at most 13 windows held (after ${i + 100} events)`);
  }
  const all = whole.takeContribution().get('keystroke')!;
  const kept = capped.takeContribution().get('keystroke')!;
  assert.ok(all.windows.length > 13, `${all.windows.length} windows in the whole session`);
  assert.deepEqual(kept.windows.slice(-10), all.windows.slice(-10), 'the newest windows are the ones kept');
  assert.equal(kept.units, 2000);
});

test('what is taken in parts is what the whole session gathers, in order, and is no longer held', () => {
  const parted = new ScoringSession(null, pipelines, policy);
  const whole = new ScoringSession(null, pipelines, policy);
  const keys = typing(MALLORY, 1500, 6);
  const parts: { windows: number[][]; units: number }[] = [];
  for (let i = 0; i < keys.length; i += 250) {
    parted.push(keys.slice(i, i + 250));
    whole.push(keys.slice(i, i + 250));
    const part = parted.takeContribution().get('keystroke');
    if (part) parts.push(part);
    assert.equal(parted.gatheredWindows, 0, 'nothing held once taken');
  }
  const all = whole.takeContribution().get('keystroke')!;
  assert.ok(parts.length > 2, `${parts.length} parts`);
  assert.deepEqual(parts.flatMap((p) => p.windows), all.windows);
  assert.equal(parts.reduce((n, p) => n + p.units, 0), all.units);
  assert.equal(whole.takeContribution().size, 0, 'a second take finds nothing');
});

test('an immature profile is scored for information only', async () => {
  const s = new ScoringSession(await enrolled(400, 2), pipelines, policy);
  const verdicts = s.push(typing(MALLORY, 500, 3));
  assert.ok(verdicts.every((v) => v.level === 'enrolling' && v.action === 'none'));
  assert.ok(verdicts.some((v) => v.windowScore > 3), 'a different typist scores far from the template');
});

test('a mature profile keeps its agent and terminates an impostor', async () => {
  const profile = await enrolled(1500, 4);
  const agent = new ScoringSession(profile, pipelines, policy);
  const own = agent.push(typing(ALICE, 1500, 5));
  assert.ok(own.every((v) => v.action !== 'terminate'), 'the agent is not terminated');
  assert.equal(agent.trust.minTrust > 0.3, true);

  const takeover = new ScoringSession(profile, pipelines, policy);
  const verdicts = takeover.push([...typing(ALICE, 300, 6), ...typing(MALLORY, 500, 7, 120_000)]);
  const end = verdicts.findIndex((v) => v.action === 'terminate');
  assert.ok(end >= 6, 'terminated only after the impostor took over');
  assert.equal(verdicts[end]!.level, 'mismatch');
  assert.match(verdicts[end]!.reason, /does not match the agent's profile/);
  assert.equal(takeover.trail.length, end + 1, 'the trust trail holds every scored window');
});

test('a mature profile adapts only after a confirmed identity, and only from windows within reach', async () => {
  const profile = await enrolled(1500, 8);
  const unconfirmed = new ScoringSession(profile, pipelines, policy);
  unconfirmed.push(typing(ALICE, 500, 9));
  assert.equal(unconfirmed.takeContribution().size, 0, 'no adaptation without a passed MFA challenge');

  const confirmed = new ScoringSession(profile, pipelines, policy);
  confirmed.confirmIdentity();
  confirmed.push(typing(ALICE, 500, 10));
  const own = confirmed.takeContribution().get('keystroke');
  assert.ok(own && own.windows.length >= 7, 'the agent adapts the profile after confirmation');

  const colluder = new ScoringSession(profile, pipelines, policy);
  colluder.confirmIdentity();
  colluder.push(typing(MALLORY, 500, 11));
  assert.equal(colluder.takeContribution().size, 0, "someone else's behaviour is out of reach and never adapts the profile");
});

test('a session on probation continues the evidence of the one that ended: an impostor is ended sooner, the agent recovers', async () => {
  const profile = await enrolled(1500, 4);
  const windowsToEnd = (s: ScoringSession): number => s.push(typing(MALLORY, 1000, 8)).findIndex((v) => v.action === 'terminate') + 1;
  const fresh = windowsToEnd(new ScoringSession(profile, pipelines, policy));
  const carried = windowsToEnd(new ScoringSession(profile, pipelines, policy, 0.2));
  assert.ok(fresh > 0 && carried > 0 && carried < fresh, `terminated after ${carried} windows on probation, ${fresh} afresh`);

  const agent = new ScoringSession(profile, pipelines, policy, 0.2);
  assert.equal(agent.trust.trust, 0.2);
  const own = agent.push(typing(ALICE, 1500, 5));
  assert.ok(own.every((v) => v.action === 'none'), 'the agent is neither challenged again nor ended');
  assert.ok(agent.trust.trust > 0.2, `the agent's own behaviour brings trust back (${agent.trust.trust.toFixed(2)})`);
});

test("the page's own event times are measured on; a client that contradicts its arrival adds evidence and says so", async () => {
  const profile = await enrolled(1500, 4);
  const own = typing(ALICE, 600, 5);
  // Arrival 30 ms after the page's time; the page's clock has its own origin.
  const honest = own.map((e) => ({ ...e, timeMs: e.timeMs + 30, clientTimeMs: e.timeMs - 1000 }));
  const clean = new ScoringSession(profile, pipelines, policy);
  const verdicts = clean.push(honest);
  const last = verdicts[verdicts.length - 1]!;
  assert.equal(last.timing.client, own.length);
  assert.equal(last.timing.inconsistentStretches, 0);
  assert.doesNotMatch(last.reason, /event times/);

  // The same behaviour, its client times jumping back every 40 events: each jump a stretch.
  const lying = honest.map((e, i) => ({ ...e, clientTimeMs: e.clientTimeMs - Math.floor(i / 40) * 60_000 }));
  const hostile = new ScoringSession(profile, pipelines, { ...policy, timingEvidence: 3 });
  const judged = hostile.push(lying);
  const end = judged[judged.length - 1]!;
  assert.ok(end.timing.backwards > 0 && end.timing.inconsistentStretches >= 10, JSON.stringify(end.timing));
  assert.match(end.reason, /event times: \d+ stretches of impossible client times added \d+\.\d of the evidence/);
  assert.ok(hostile.trust.minTrust <= clean.trust.minTrust - 3 / policy.trust.terminateAt, `lowest trust ${hostile.trust.minTrust.toFixed(2)} against ${clean.trust.minTrust.toFixed(2)}`);

  // The same behaviour over a link with 15 ms of jitter, each release claimed 25 ms early: every
  // claim inside the envelope, but the lags follow the dwells. Found, charged once, measured on
  // arrival from then on.
  const rand = seededRandom(8);
  let lastArrival = 0;
  const rewriting = own.map((e, i) => {
    lastArrival = Math.max(lastArrival, e.timeMs + 30 + 15 * gaussian(rand));
    const early = i >= 400 && e.kind?.$case === 'key' && !e.kind.value.pressed ? 25 : 0;
    return { ...e, timeMs: lastArrival, clientTimeMs: e.timeMs - 1000 - early };
  });
  const forger = new ScoringSession(profile, pipelines, policy);
  const seen = forger.push(rewriting);
  const final = seen[seen.length - 1]!;
  assert.ok(final.timing.distrusted > 0 && final.timing.inconsistentStretches === 1, JSON.stringify(final.timing));
  assert.match(final.reason, /event times: 1 stretch of impossible or rewritten client times added \d+\.\d of the evidence; the client's times were found rewritten \(over \d+ key dwells the lag behind arrival changed by \d+\.\d ms on average/);
});

test('remote control suspected: a relayed pointer ends the session while enrolling, and nothing of it enrols', () => {
  const s = new ScoringSession(null, pipelines, policy);
  const typed = typing(MALLORY, 200, 8);
  const after = typed[typed.length - 1]!.timeMs;
  const verdicts = s.push([...typed, ...asMoves(relayedPoints(125, 60, 20).map((p) => ({ ...p, timeMs: p.timeMs + after })))]);
  const end = verdicts.find((v) => v.action === 'terminate');
  assert.ok(end, 'terminated');
  assert.equal(end.level, 'mismatch');
  assert.equal(end.trust, 0);
  assert.match(end.reason, /^remote control suspected: the pointer's (times disagree with its path by \d+\.\d ms|reports keep no device's rhythm)/);
  assert.ok(s.terminated && s.remoteControlFinding);
  assert.equal(s.takeContribution().size, 0, 'the keystrokes typed before the finding do not enrol either');
  assert.deepEqual(s.push(asMoves(relayedPoints(125, 5, 20, 9))), [], 'a terminated session judges nothing more');
});

test("a relay on the agent's LAN, injected from a tool's loop, ends an enrolling session on the pointer's rhythm", () => {
  const s = new ScoringSession(null, pipelines, policy);
  const end = s.push(asMoves(toolLoopPoints(125, 60, [5, 25]))).find((v) => v.action === 'terminate');
  assert.ok(end, 'terminated');
  assert.equal(s.remoteControlFinding?.test, 'rhythm');
  assert.match(end.reason, /^remote control suspected: the pointer's reports keep no device's rhythm/);
  assert.equal(s.takeContribution().size, 0, 'nothing it gathered enrols');
});

test('a local pointer is never taken for remote control, and arrival times are never tested', () => {
  const local = new ScoringSession(null, pipelines, policy);
  assert.ok(local.push(asMoves(devicePoints(125, 300, 1))).every((v) => v.action === 'none'));
  assert.equal(local.remoteControlFinding, undefined);
  // A page without client times: its moves carry the agent's own link's jitter and are not judged.
  const arrival = new ScoringSession(null, pipelines, policy);
  const moves = asMoves(relayedPoints(125, 60, 20)).map(({ clientTimeMs: _, ...e }) => e);
  assert.ok(arrival.push(moves).every((v) => v.action === 'none'));
  const off = new ScoringSession(null, pipelines, { ...policy, remoteControl: null });
  assert.ok(off.push(asMoves(relayedPoints(125, 60, 20))).every((v) => v.action === 'none'), 'turned off');
});
