import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { gaussian, seededRandom } from '../../lib/random.js';
import { ALICE, typing } from '../testing/typist.js';
import { join } from 'node:path';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { MOUSE_FEATURES, MouseExtractor } from '../features/mouse.js';
import { windowsOf } from '../features/windows.js';
import { defaultPipelines, RoutedExtractor } from '../models/pipelines.js';
import { ClientTimeRule, DEFAULT_CLIENT_TIME_POLICY, EventTimes, resolveEventTimes, type TimeSource } from './client-times.js';

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

// ---- Timing-only samples: the pointer's full-rate path (docs/client-times.md) ---------------------

const move = (timeMs: number, clientTimeMs: number | undefined, x: number, timingOnly?: true): InputEvent => ({
  timeMs,
  kind: { $case: 'mouse', value: { x, y: 0, buttonMask: 0 } },
  ...(clientTimeMs === undefined ? {} : { clientTimeMs }),
  ...(timingOnly ? { timingOnly } : {}),
});
const sampleAt = (arrivalMs: number, clientTimeMs: number, x: number) => move(arrivalMs, clientTimeMs, x, true);
const placed = (clock: EventTimes, e: InputEvent) => clock.next(e).events.map((m) => [m.timeMs, m.kind?.$case === 'mouse' ? m.kind.value.x : -1]);

test('samples wait for their move and are placed at their client-time distance before it; they are not counted', () => {
  const clock = new EventTimes();
  assert.deepEqual(placed(clock, move(1000, 500, 0)), [[1000, 0]], 'the first event sets the clock offset: 500 ms');
  assert.deepEqual(placed(clock, sampleAt(1030, 504, 1)), [], 'held');
  assert.deepEqual(placed(clock, sampleAt(1030, 508.5, 2)), []);
  assert.deepEqual(placed(clock, move(1030.2, 512, 3)), [[1004, 1], [1008.5, 2], [1012, 3]]);
  assert.deepEqual(clock.report(), { ...new ClientTimeRule().report(), client: 2 }, 'two events the desktop received; nothing else moved');
});

test('samples are dropped when their move is not measured on its client time, before a key, and with no client times at all', () => {
  const outside = new EventTimes();
  outside.next(move(1000, 500, 0));
  outside.next(sampleAt(2000, 1000, 1));
  assert.deepEqual(placed(outside, move(2000, 1001, 2)), [[2000, 2]], `${2000 - 1001 - 500} ms of lag is beyond the ${CAP} ms cap: the move on arrival, its samples gone`);
  const missing = new EventTimes();
  missing.next(move(1000, 500, 0));
  missing.next(sampleAt(1010, 505, 1));
  assert.deepEqual(placed(missing, move(1010, undefined, 2)), [[1010, 2]]);
  const key = new EventTimes();
  key.next(move(1000, 500, 0));
  key.next(sampleAt(1010, 505, 1));
  assert.deepEqual(key.next({ timeMs: 1010, clientTimeMs: 506, kind: { $case: 'key', value: { keysym: 97, pressed: true } } }).events.length, 1);
  assert.deepEqual(placed(key, move(1020, 515, 2)), [[1015, 2]], 'not carried past the key either');
  const arrivalOnly = new EventTimes(null);
  arrivalOnly.next(move(1000, 500, 0));
  arrivalOnly.next(sampleAt(1010, 505, 1));
  assert.deepEqual(placed(arrivalOnly, move(1010.01, 510, 2)), [[1010.01, 2]], 'on arrival, a sample would be a point microseconds from its move');
});

test('a forged sample cannot reach back beyond the event before it, nor further than maxSampleSpanMs before its move', () => {
  const { maxSampleSpanMs } = DEFAULT_CLIENT_TIME_POLICY;
  const clock = new EventTimes();
  clock.next(move(1000, 500, 0));
  clock.next(move(2000, 1500, 1));
  // A pause of a second, then a move whose samples claim to fill it.
  for (const c of [1400, 1501, 1600, 2500 - maxSampleSpanMs - 1, 2500 - maxSampleSpanMs, 2499]) clock.next(sampleAt(3000, c, 2));
  assert.deepEqual(placed(clock, move(3000, 2500, 3)).map(([t]) => t), [3000 - maxSampleSpanMs, 2999, 3000]);
  assert.equal(clock.report().client, 3);
});

test('samples go through enrolment and evaluation replays as through a session (resolveEventTimes)', () => {
  const { events, report } = resolveEventTimes([move(1000, 500, 0), sampleAt(1030, 504, 1), move(1030, 512, 3)]);
  assert.deepEqual(events, [
    { timeMs: 1000, kind: move(0, 0, 0).kind },
    { timeMs: 1004, kind: move(0, 0, 1).kind },
    { timeMs: 1012, kind: move(0, 0, 3).kind },
  ]);
  assert.equal(report.client, 2);
});

test('the keystroke features never see samples: a session\'s keystroke windows are the same with and without them', () => {
  const keys = overLink(truth.slice(0, 800), 5, 11);
  const withMouse = (samples: boolean) =>
    keys.flatMap((e, i): InputEvent[] => {
      if (i % 10 !== 9) return [e];
      const c = e.clientTimeMs as number;
      const moves = [move(e.timeMs, c - 2, i), move(e.timeMs, c - 1, i + 5)];
      return samples ? [moves[0]!, sampleAt(e.timeMs, c - 1.5, i + 2), moves[1]!, e] : [...moves, e];
    });
  const keystrokeWindows = (events: InputEvent[]) => {
    const clock = new EventTimes();
    const ex = new RoutedExtractor(defaultPipelines({ keystroke: { windowKeys: 20 } }));
    return events.flatMap((e) => clock.next(e).events.flatMap((m) => ex.push(m))).filter((w) => w.modality === 'keystroke');
  };
  const [plain, sampled] = [keystrokeWindows(withMouse(false)), keystrokeWindows(withMouse(true))];
  assert.ok(plain.length >= 10);
  assert.deepEqual(sampled, plain);
});

/**
 * What the scorer receives for a recording taken at the mouse's own rate (SapiMouse): chromium
 * dispatches the moves of each animation frame (of 1000/hz ms) as one event at the frame's end,
 * with the last move's time and position, and the earlier ones as its coalesced events, which the
 * page sends before it as samples (the latest 32) and the gateway's tap clamps into the rectangle of
 * the mouse before and this one (gateway/tap/client-time.ts; `clamped` counts the samples it
 * moved). Buttons are dispatched at once, after the move pending before them. Each event carries
 * when it was dispatched.
 */
function pageSends(truth: readonly InputEvent[], hz: number): { sent: { e: InputEvent; dispatchMs: number }[]; clamped: number } {
  const frameMs = 1000 / hz;
  const sent: { e: InputEvent; dispatchMs: number }[] = [];
  let clamped = 0;
  let frame: InputEvent[] = [];
  let mask = 0;
  let previous: { x: number; y: number } | undefined;
  const position = (e: InputEvent) => (e.kind?.$case === 'mouse' ? e.kind.value : { x: 0, y: 0, buttonMask: 0 });
  const flush = (before: number) => {
    const last = frame[frame.length - 1];
    if (last === undefined) return;
    const dispatchMs = Math.min(before, (Math.floor(last.timeMs / frameMs) + 1) * frameMs);
    const to = position(last);
    for (const s of previous === undefined ? [] : frame.slice(0, -1).slice(-32)) {
      const p = position(s);
      const x = Math.min(Math.max(previous!.x, to.x), Math.max(Math.min(previous!.x, to.x), p.x));
      const y = Math.min(Math.max(previous!.y, to.y), Math.max(Math.min(previous!.y, to.y), p.y));
      if (x !== p.x || y !== p.y) clamped++;
      sent.push({ e: { ...s, kind: { $case: 'mouse', value: { ...p, x, y } }, timingOnly: true }, dispatchMs });
    }
    sent.push({ e: last, dispatchMs });
    previous = to;
    frame = [];
  };
  for (const e of truth) {
    const m = e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : -1;
    if (m === mask && (m & 24) === 0) {
      if (frame.length > 0 && Math.floor(frame[0]!.timeMs / frameMs) !== Math.floor(e.timeMs / frameMs)) flush(e.timeMs);
      frame.push(e);
      continue;
    }
    flush(e.timeMs);
    sent.push({ e, dispatchMs: e.timeMs });
    if (m >= 0) {
      mask = m;
      previous = position(e);
    }
  }
  flush(Number.POSITIVE_INFINITY);
  return { sent, clamped };
}

/** The page's messages through a link with Gaussian jitter (order kept): a frame's samples arrive with their move. */
function sentOverLink(sent: readonly { e: InputEvent; dispatchMs: number }[], sdMs: number, seed: number): InputEvent[] {
  const rand = seededRandom(seed);
  let last = 0;
  let drawnFor = Number.NaN;
  return sent.map(({ e, dispatchMs }) => {
    if (dispatchMs !== drawnFor) last = Math.max(last, dispatchMs + 40 + sdMs * gaussian(rand));
    drawnFor = dispatchMs;
    return { ...e, timeMs: last, clientTimeMs: e.timeMs - CLOCK_OFFSET };
  });
}

test('real SapiMouse moves of 125-140 Hz mice at 60 Hz frames over 20 ms of jitter: with their samples (clamped as the tap clamps them) the mouse features are the full-rate ones; the envelope and the counts are those of the frames alone', { skip: skipReason('sapimouse') }, async () => {
  const members = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user(11|19|26)\/.*3min\.csv$/.test(m));
  const root = await extractMembers('sapimouse', members);
  let framesWorse = 0;
  for (const [u, member] of members.entries()) {
    const truth = (await importSapimouseFile(join(root, member))).events;
    const { sent, clamped } = pageSends(truth, 60);
    const arrived = sentOverLink(sent, 20, u + 1);
    const withSamples = resolveEventTimes(arrived);
    const framesOnly = resolveEventTimes(arrived.filter((e) => e.timingOnly !== true));
    const samples = arrived.length - arrived.filter((e) => e.timingOnly !== true).length;
    assert.ok(samples > truth.length / 3, `${member}: ${samples} samples of ${truth.length} moves`);
    // Measured 0.1%, 0.05% and 0.2% (5, 4 and 15 samples, by a median 1 px): the honest overshoot.
    assert.ok(clamped < 0.01 * samples, `${member}: ${clamped} of ${samples} samples clamped`);
    assert.deepEqual({ ...withSamples.report }, { ...framesOnly.report }, 'samples touch neither the counts nor the envelope');
    assert.ok(withSamples.events.length >= 0.99 * truth.length, `${withSamples.events.length} of ${truth.length} events measured`);

    const windows = (events: readonly InputEvent[]) => windowsOf(events, new MouseExtractor({ windowActions: 1 })).map((w) => w.vector);
    const [full, sampled, frames] = [windows(truth), windows(withSamples.events), windows(framesOnly.events)];
    // Per feature, the median relative difference from the full-rate action over the actions both have.
    const gap = (got: number[][]) =>
      MOUSE_FEATURES.map((_, f) => {
        const d = got.slice(0, Math.min(got.length, full.length)).map((v, i) => Math.abs(v[f]! - full[i]![f]!) / Math.max(1e-9, Math.abs(full[i]![f]!))).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
        return d[Math.floor(d.length / 2)] ?? 0;
      });
    const [gs, gf] = [gap(sampled), gap(frames)];
    assert.equal(sampled.length, full.length, `${member}: the same actions as the full-rate path`);
    assert.ok(Math.max(...gs) < 0.01, `${member}: with samples every feature within 1% (median) of the full-rate one: ${Math.max(...gs)}`);
    if (Math.max(...gf) > 10 * Math.max(...gs, 1e-6)) framesWorse++;
  }
  assert.equal(framesWorse, members.length, 'without samples the features are measurably further from the full-rate ones');
});
