import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../lib/random.js';
import { devicePoints, toolLoopPoints } from '../testing/pointer-paths.js';
import { describeRemoteControl } from './detector.js';
import { type PointerPoint } from './pointer-timing.js';
import { DEFAULT_REPORT_RHYTHM_POLICY, offRhythmShare, ReportRhythmTest, SteadyIntervals } from './report-rhythm.js';

function run(points: readonly PointerPoint[]): { test: ReportRhythmTest; foundAtMs: number | undefined } {
  const t = new ReportRhythmTest();
  let foundAtMs: number | undefined;
  for (const p of points) if (t.push(p) && foundAtMs === undefined) foundAtMs = p.timeMs - (points[0] as PointerPoint).timeMs;
  return { test: t, foundAtMs };
}

test("a device's period, even as a 60 Hz device's 16 and 17 ms, is on the rhythm; scattered intervals are not", () => {
  assert.equal(offRhythmShare(Array(32).fill(8)), 0);
  assert.equal(offRhythmShare(Array.from({ length: 32 }, (_, i) => (i % 2 ? 16 : 17))), 0);
  assert.equal(offRhythmShare([...Array(24).fill(8), ...Array(8).fill(12)]), 0.25, 'a quarter 4 ms off an 8 ms period');
  assert.equal(offRhythmShare([...Array(24).fill(8), 9, 9, 7, 7, 9, 9, 7, 7]), 0, 'within the millisecond of the clock');
});

test('only steady movement counts: steps of a pixel or two, and the first step after a pause, give no interval', () => {
  const s = new SteadyIntervals();
  const random = seededRandom(5);
  // A 1000 Hz mouse moved slowly reports whenever a count builds up: 1 px at intervals of no clock.
  let t = 0;
  for (let i = 0; i < 200; i++) assert.equal(s.push({ timeMs: (t += 3 + Math.floor(20 * random())), x: i, y: 0 }), undefined);
  assert.equal(s.push({ timeMs: (t += 8), x: 300, y: 0 }), undefined, 'the step before was 1 px');
  assert.equal(s.push({ timeMs: (t += 8), x: 310, y: 0 }), 8);
  assert.equal(s.push({ timeMs: (t += 80), x: 320, y: 0 }), undefined, 'a pause ends the movement');
  assert.equal(s.push({ timeMs: (t += 8), x: 330, y: 0 }), undefined, 'the first step after it has no steady step before it');
  assert.equal(s.push({ timeMs: t, x: 335, y: 0 }), undefined, 'a sample at the same ms is not a report of its own');
  assert.equal(s.push({ timeMs: (t += 8), x: 340, y: 0 }), 8);
});

test('local devices from 60 to 1000 Hz, with a millisecond of stamping noise, are never suspected over 10 minutes', () => {
  for (const hz of [60, 125, 250, 500, 1000]) {
    const { test: t, foundAtMs } = run(devicePoints(hz, 600, 1, hz));
    assert.equal(foundAtMs, undefined, `${hz} Hz suspected after ${foundAtMs} ms`);
    // At 500 Hz and more this path moves under 4 px a report: those devices are judged on faster movements only.
    if (hz <= 125) assert.ok(t.windowsJudged > 20, `${hz} Hz: ${t.windowsJudged} windows judged`);
  }
});

test("a tool injecting a LAN relay's positions from its own loop is suspected within 30 s of movement", () => {
  for (const loopMs of [
    [2, 20],
    [5, 25],
  ] as const) {
    const { test: t, foundAtMs } = run(toolLoopPoints(125, 60, loopMs));
    assert.ok(foundAtMs !== undefined && foundAtMs < 30_000, `a loop of ${loopMs.join('-')} ms: found at ${foundAtMs}`);
    const f = t.finding!;
    assert.ok(f.offRhythm > DEFAULT_REPORT_RHYTHM_POLICY.neutralShare, `off the rhythm: ${f.offRhythm}`);
    assert.match(describeRemoteControl({ test: 'rhythm', ...f }), /keep no device's rhythm, \d+% of intervals/);
  }
});

test('once found, the test stays found and takes no more points', () => {
  const { test: t } = run(toolLoopPoints(125, 60, [5, 25]));
  const f = t.finding;
  assert.ok(f);
  assert.equal(t.push({ timeMs: 1e9, x: 0, y: 0 }), undefined);
  assert.equal(t.finding, f);
});
