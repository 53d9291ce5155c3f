import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { jitterEvents, measuredOverLink, overLink, shiftTo } from './jitter.js';
import { reportSince, TimingTally } from './timing-tally.js';

/** Share of consecutive gaps of `measured` within 0.01 ms of those of `recorded`. */
function exactGaps(measured: readonly InputEvent[], recorded: readonly InputEvent[]): number {
  let exact = 0;
  for (let i = 1; i < recorded.length; i++) {
    const got = measured[i]!.timeMs - measured[i - 1]!.timeMs;
    const want = recorded[i]!.timeMs - recorded[i - 1]!.timeMs;
    if (Math.abs(got - want) < 0.01) exact++;
  }
  return exact / (recorded.length - 1);
}

async function realStreams(): Promise<{ name: string; events: InputEvent[] }[]> {
  const aalto = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).slice(0, 1);
  const sapi = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user1\/.*1min\.csv$/.test(m));
  const [kr, mr] = await Promise.all([extractMembers('aalto', aalto), extractMembers('sapimouse', sapi)]);
  return [
    { name: 'keystrokes', events: (await importAaltoFile(join(kr, aalto[0]!))).events },
    { name: 'mouse', events: (await importSapimouseFile(join(mr, sapi[0]!))).events },
  ];
}

test('over a link with client times, real events arrive jittered and keep their recorded times as claims; the rule measures them on the claims', { skip: skipReason('aalto') || skipReason('sapimouse') }, async () => {
  for (const { name, events } of await realStreams()) {
    const link = { jitterMs: 20, clientTimes: true };
    const sent = overLink(events, link, 7);
    assert.deepEqual(sent.map((e) => e.clientTimeMs), events.map((e) => e.timeMs), `${name}: the claims are the recorded times`);
    assert.deepEqual(sent.map((e) => e.timeMs), jitterEvents(events, 20, 7).map((e) => e.timeMs), `${name}: arrival is the jittered time`);
    assert.deepEqual(sent.map((e) => e.kind), events.map((e) => e.kind));

    const withClaims = new TimingTally();
    const measured = measuredOverLink(events, link, 7, withClaims);
    assert.ok(measured.every((e) => e.clientTimeMs === undefined), `${name}: the scorer's times replace the claims`);
    measured.forEach((e, i) => assert.ok(e.timeMs <= sent[i]!.timeMs + 1e-9, `${name}: event ${i} measured after it arrived`));
    const s = withClaims.summary();
    assert.equal(s.events.client + s.events.outsideEnvelope + s.events.future + s.events.backwards, events.length);
    assert.equal(s.events.missing, 0);
    assert.ok(s.events.client >= 0.99 * events.length, `${name}: ${JSON.stringify(s.events)}`);
    assert.ok(s.envelopeMs.max > 0 && s.envelopeMs.max <= 250, `${name}: envelope ${JSON.stringify(s.envelopeMs)}`);
    assert.ok(s.hours > 0);
    // The gaps the features see are the recorded ones, except where the clock offset moved.
    const clean = exactGaps(measured, events);
    assert.ok(clean >= 0.95, `${name}: ${clean} of the gaps exact with client times`);

    const arrivalOnly = new TimingTally();
    const jittered = measuredOverLink(events, { jitterMs: 20 }, 7, arrivalOnly);
    assert.deepEqual(jittered.map((e) => e.timeMs), sent.map((e) => e.timeMs), `${name}: without client times, arrival as before`);
    assert.equal(arrivalOnly.summary().events.missing, events.length);
    assert.ok(exactGaps(jittered, events) < 0.2, `${name}: arrival gaps are jittered`);
  }
});

test('a takeover shifts the impostor\'s claims with its arrivals: one page clock', () => {
  const e = (timeMs: number, clientTimeMs?: number): InputEvent => ({ timeMs, ...(clientTimeMs === undefined ? {} : { clientTimeMs }), kind: { $case: 'key', value: { keysym: 0x61, pressed: true } } });
  const shifted = shiftTo([e(10, 4), e(30, 25), e(40)], 1000);
  assert.deepEqual(shifted, [e(1000, 994), e(1020, 1015), e(1030)]);
});

test('timing reports sum by kind of stream, and a session\'s later part is its report less the earlier one', () => {
  const report = (client: number, outsideEnvelope: number, inconsistentStretches: number, envelopeMs: number) => ({ client, missing: 0, backwards: 0, future: 1, outsideEnvelope, distrusted: 0, inconsistentStretches, envelopeMs });
  const t = new TimingTally();
  t.add(report(100, 2, 1, 40), 1_800_000);
  t.add(reportSince(report(300, 5, 3, 60), report(100, 2, 1, 50)), 1_800_000);
  const s = t.summary();
  assert.deepEqual(s.events, { client: 300, missing: 0, backwards: 0, future: 1, outsideEnvelope: 5, distrusted: 0 });
  assert.equal(s.inconsistentStretches, 3);
  assert.equal(s.hours, 1);
  assert.equal(s.stretchesPerHour, 3);
  assert.deepEqual(s.envelopeMs, { median: 50, max: 60 });
  assert.deepEqual(new TimingTally().summary().envelopeMs, { median: 0, max: 0 });
});

test('the link can set the scorer\'s envelope cap: a wider one keeps more of a 50 ms link\'s claims, 0 keeps none', { skip: skipReason('sapimouse') }, async () => {
  const { events } = (await realStreams())[1]!;
  const outside = (cap?: number): number => {
    const t = new TimingTally();
    measuredOverLink(events, { jitterMs: 50, clientTimes: true, ...(cap === undefined ? {} : { clientTimeEnvelopeMs: cap }) }, 5, t);
    return t.summary().events.outsideEnvelope;
  };
  const [byDefault, wide] = [outside(), outside(400)];
  assert.ok(byDefault > 5 && wide < byDefault / 3, `outside the envelope: ${byDefault} at the default cap, ${wide} at 400 ms`);
  const none = new TimingTally();
  const arrival = measuredOverLink(events, { jitterMs: 50, clientTimes: true, clientTimeEnvelopeMs: 0 }, 5, none);
  assert.equal(none.summary().events.missing, events.length);
  assert.deepEqual(arrival.map((e) => e.timeMs), jitterEvents(events, 50, 5).map((e) => e.timeMs));
});
