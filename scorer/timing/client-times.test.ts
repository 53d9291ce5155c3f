import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { gaussian, seededRandom } from '../../lib/random.js';
import { ALICE, typing } from '../testing/typist.js';
import { ClientTimeRule, DEFAULT_CLIENT_TIME_POLICY, resolveEventTimes, type TimeSource } from './client-times.js';

/** The page's clock starts at its own origin: a client time is the true time minus this. */
const CLOCK_OFFSET = 123_456.5;
const CAP = DEFAULT_CLIENT_TIME_POLICY.maxEnvelopeMs;

/** True times in, as a browser behind a link with Gaussian jitter (order kept) would deliver them. */
function overLink(truth: readonly InputEvent[], sdMs: number, seed: number): InputEvent[] {
  const rand = seededRandom(seed);
  let last = 0;
  return truth.map((e) => {
    const arrival = Math.max(last, e.timeMs + 40 + sdMs * gaussian(rand));
    last = arrival;
    return { ...e, timeMs: arrival, clientTimeMs: e.timeMs - CLOCK_OFFSET };
  });
}

function sources(events: readonly InputEvent[]): TimeSource[] {
  const rule = new ClientTimeRule();
  return events.map((e) => rule.next(e.timeMs, e.clientTimeMs).source);
}

const count = (xs: readonly TimeSource[], s: TimeSource): number => xs.filter((x) => x === s).length;

/** Largest error of consecutive intervals against the true ones, ms. */
function worstIntervalError(used: readonly InputEvent[], truth: readonly InputEvent[]): number {
  let worst = 0;
  for (let i = 1; i < used.length; i++) {
    const du = used[i]!.timeMs - used[i - 1]!.timeMs;
    const dt = truth[i]!.timeMs - truth[i - 1]!.timeMs;
    worst = Math.max(worst, Math.abs(du - dt));
  }
  return worst;
}

const truth = typing(ALICE, 3000, 5);

test('an honest page behind 20 ms of jitter: its own times are used, and the intervals are the true ones', () => {
  const arrived = overLink(truth, 20, 1);
  const { events, report } = resolveEventTimes(arrived);
  assert.ok(report.client >= 0.99 * truth.length, `client times used for ${report.client} of ${truth.length}`);
  assert.equal(report.backwards + report.future, 0);
  // On arrival times an interval is off by up to ~100 ms; on the rule's times by at most a rare
  // fallback or a move of the clock offset.
  assert.ok(worstIntervalError(arrived, truth) > 60);
  const wrong = events.filter((e, i) => i > 0 && Math.abs(e.timeMs - events[i - 1]!.timeMs - (truth[i]!.timeMs - truth[i - 1]!.timeMs)) > 1).length;
  assert.ok(wrong < 0.02 * truth.length, `${wrong} intervals differ from the truth by more than 1 ms`);
  assert.ok(report.envelopeMs > 40 && report.envelopeMs <= CAP, `envelope ${report.envelopeMs} ms`);
});

test('a client without the extension keeps arrival times, counted as missing and never as inconsistent', () => {
  const arrived = overLink(truth, 20, 2).map(({ clientTimeMs: _, ...e }) => e);
  const { events, report } = resolveEventTimes(arrived);
  assert.deepEqual(events.map((e) => e.timeMs), arrived.map((e) => e.timeMs));
  assert.equal(report.missing, truth.length);
  assert.equal(report.inconsistentStretches, 0);
});

test('client times that go backwards are refused: arrival is used and the stretch counted', () => {
  const arrived = overLink(truth.slice(0, 400), 5, 3);
  const hostile = arrived.map((e, i) => (i >= 200 && i < 210 ? { ...e, clientTimeMs: (e.clientTimeMs as number) - 5000 } : e));
  const rule = new ClientTimeRule();
  const got = hostile.map((e) => rule.next(e.timeMs, e.clientTimeMs));
  assert.equal(got[200]!.source, 'backwards');
  assert.equal(got[200]!.timeMs, hostile[200]!.timeMs, 'measured on arrival');
  assert.equal(got[200]!.newStretch, true);
  assert.equal(rule.report().inconsistentStretches, 1, 'one run, one stretch');
});

test('client times later than arrival allows are refused as future', () => {
  const arrived = overLink(truth.slice(0, 600), 5, 4);
  const hostile = arrived.map((e, i) => (i >= 300 ? { ...e, clientTimeMs: (e.clientTimeMs as number) + 500 } : e));
  const s = sources(hostile);
  assert.equal(count(s.slice(0, 300), 'client'), 300);
  assert.equal(s[300], 'future');
});

test('a client that moves its events by more than the envelope falls back to arrival', () => {
  const arrived = overLink(truth.slice(0, 1200), 5, 5);
  // Every key release claimed 150 ms earlier than it happened: dwell times rewritten wholesale.
  const hostile = arrived.map((e, i) => (i >= 600 && e.kind?.$case === 'key' && !e.kind.value.pressed ? { ...e, clientTimeMs: (e.clientTimeMs as number) - 150 } : e));
  const rule = new ClientTimeRule();
  const got = hostile.map((e) => rule.next(e.timeMs, e.clientTimeMs));
  const rewritten = got.slice(600).filter((_, i) => hostile[600 + i]!.kind?.$case === 'key' && !(hostile[600 + i]!.kind as { value: { pressed: boolean } }).value.pressed);
  // Backwards where the release is claimed before its press, outside the envelope otherwise.
  assert.ok(rewritten.every((g) => g.source !== 'client'), 'no rewritten release is measured on its claimed time');
  assert.ok(rewritten.every((g, i) => g.timeMs >= hostile[600 + i]!.timeMs - CAP));
  assert.ok(rule.report().outsideEnvelope > 0);
});

test('events beyond the envelope are measured on arrival and counted, but are no stretch of evidence: a network stall does that to an honest page', () => {
  const arrived = overLink(truth.slice(0, 1000), 5, 7);
  // A stall: the 20 events sent during it arrive together when it ends.
  const stalled = arrived.map((e, i) => (i >= 700 && i < 720 ? { ...e, timeMs: Math.max(e.timeMs, arrived[719]!.timeMs) } : e));
  const rule = new ClientTimeRule();
  const got = stalled.map((e) => rule.next(e.timeMs, e.clientTimeMs));
  const report = rule.report();
  assert.ok(report.outsideEnvelope > 0, JSON.stringify(report));
  assert.equal(report.inconsistentStretches, 0);
  assert.ok(got.every((g) => !g.newStretch));
});

test('whatever a client claims, each time used is within the cap before its arrival, never after it, and never decreasing', () => {
  const rand = seededRandom(9);
  const arrived = overLink(truth.slice(0, 2000), 20, 6);
  const claims = [
    (e: InputEvent) => (e.clientTimeMs as number) + (rand() - 0.5) * 2000,
    (e: InputEvent) => (e.clientTimeMs as number) - rand() * CAP * 2,
    (e: InputEvent) => (rand() < 0.5 ? Number.NaN : (e.clientTimeMs as number) + 1e9),
    () => rand() * 1e6,
  ];
  for (const claim of claims) {
    const rule = new ClientTimeRule();
    let last = Number.NEGATIVE_INFINITY;
    for (const e of arrived) {
      const t = rule.next(e.timeMs, claim(e)).timeMs;
      assert.ok(t <= e.timeMs && t >= e.timeMs - CAP && t >= last, `time ${t} for arrival ${e.timeMs} after ${last}`);
      last = t;
    }
  }
});

test('a long inconsistent run counts one stretch per stretch length, and consistency ends it', () => {
  const rule = new ClientTimeRule({ ...DEFAULT_CLIENT_TIME_POLICY, stretchMs: 1000 });
  let newStretches = 0;
  for (let t = 0; t < 5000; t += 100) if (rule.next(t, t === 0 ? 0 : -t).newStretch) newStretches++;
  assert.equal(newStretches, 5, 'a 4.9 s run of backwards times: stretches at 0.1, 1.1, 2.1, 3.1 and 4.1 s');
});

test('a client that rewrites its dwells inside the envelope is found: one stretch charged, and from then on every event is measured on arrival', () => {
  const arrived = overLink(truth.slice(0, 3000), 20, 10);
  // After 1000 honest events every release is claimed 30 ms earlier: well inside the envelope,
  // so each claim alone is consistent; only the lags' relation to the dwells gives it away.
  const hostile = arrived.map((e, i) => (i >= 1000 && e.kind?.$case === 'key' && !e.kind.value.pressed ? { ...e, clientTimeMs: (e.clientTimeMs as number) - 30 } : e));
  const rule = new ClientTimeRule();
  const got = hostile.map((e) => rule.next(e.timeMs, e.clientTimeMs, e.kind));
  const at = got.findIndex((g) => g.source === 'distrusted');
  assert.ok(at > 1000 && at < 1400, `found at event ${at}`);
  assert.equal(got[at]!.newStretch, true);
  assert.equal(rule.rewritten?.kind, 'dwell');
  assert.ok(got.slice(at).every((g, i) => g.source === 'distrusted' && g.timeMs === hostile[at + i]!.timeMs), 'measured on arrival since');
  assert.equal(got.filter((g) => g.newStretch).length, 1, 'charged once');
  const report = rule.report();
  assert.equal(report.distrusted, 3000 - at);
  assert.equal(report.inconsistentStretches, 1);
  assert.equal(report.client + report.distrusted + report.outsideEnvelope, 3000);
});

test('no honest page is found rewriting: not at 20 ms of jitter, nor at 50 ms where the envelope reaches the cap and the test stands down', () => {
  const fast = { dwellMs: 60, flightMs: 90, spread: 0.35 };
  for (const [sd, who] of [[20, ALICE], [20, fast], [50, ALICE], [50, fast]] as const) {
    const arrived = overLink(typing(who, 6000, 21), sd, 11);
    const rule = new ClientTimeRule();
    for (const e of arrived) rule.next(e.timeMs, e.clientTimeMs, e.kind);
    assert.equal(rule.rewritten, undefined, `jitter ${sd} ms, dwell ${who.dwellMs} ms`);
    assert.equal(rule.report().distrusted, 0);
  }
});
