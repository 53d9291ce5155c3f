import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussian, seededRandom } from '../../lib/random.js';
import { devicePoints, relayedPoints } from '../testing/pointer-paths.js';
import { describeRemoteControl } from './detector.js';
import { DEFAULT_PATH_TIMING_POLICY, PathTimingTest, robustSd, timingDisagreement, type PointerPoint } from './pointer-timing.js';

function run(points: readonly PointerPoint[]): { test: PathTimingTest; foundAtMs: number | undefined } {
  const t = new PathTimingTest();
  let foundAtMs: number | undefined;
  for (const p of points) if (t.push(p) && foundAtMs === undefined) foundAtMs = p.timeMs - (points[0] as PointerPoint).timeMs;
  return { test: t, foundAtMs };
}

test('a point on a smooth movement is placed within a millisecond of its time', () => {
  const points = devicePoints(125, 2).slice(10, 15);
  const d = timingDisagreement(points);
  assert.ok(d !== undefined && Math.abs(d) < 1, `disagreement ${d}`);
  const moved = points.map((p, i) => (i === 2 ? { ...p, timeMs: p.timeMs + 5 } : p));
  const late = timingDisagreement(moved);
  assert.ok(late !== undefined && Math.abs(late - 5) < 1.5, `a point stamped 5 ms late shows about 5 ms: ${late}`);
});

test('points that do not make one movement are not placed', () => {
  const still = Array.from({ length: 5 }, (_, i) => ({ timeMs: i * 8, x: 10, y: 10 }));
  assert.equal(timingDisagreement(still), undefined, 'no movement');
  const spread = devicePoints(125, 2).slice(10, 15).map((p, i) => ({ ...p, timeMs: p.timeMs + i * 100 }));
  assert.equal(timingDisagreement(spread), undefined, 'more than 150 ms: two movements');
});

test('local devices from 60 to 1000 Hz, with a millisecond of stamping noise, are never suspected over 10 minutes', () => {
  for (const hz of [60, 125, 250, 500, 1000]) {
    const { test: t, foundAtMs } = run(devicePoints(hz, 600, 1, hz));
    assert.equal(foundAtMs, undefined, `${hz} Hz suspected after ${foundAtMs} ms`);
    assert.ok(t.windowsJudged > 20, `${hz} Hz: ${t.windowsJudged} windows judged`);
  }
});

test('a relay over broadband and mobile links is suspected within 30 s of movement', () => {
  for (const jitter of [5, 20]) {
    const { test: t, foundAtMs } = run(relayedPoints(125, 60, jitter));
    assert.ok(foundAtMs !== undefined && foundAtMs < 30_000, `${jitter} ms of jitter: found at ${foundAtMs}`);
    const f = t.finding!;
    assert.ok(f.disagreementMs > DEFAULT_PATH_TIMING_POLICY.scaleMs, `disagreement ${f.disagreementMs}`);
    assert.match(describeRemoteControl({ test: 'path', ...f }), /disagree with its path by \d+\.\d ms/);
  }
});

test('once found, the test stays found and takes no more points', () => {
  const { test: t } = run(relayedPoints(125, 60, 20));
  const f = t.finding;
  assert.ok(f);
  assert.equal(t.push({ timeMs: 1e9, x: 0, y: 0 }), undefined);
  assert.equal(t.finding, f);
});

test('robustSd ignores a few wild values', () => {
  const random = seededRandom(3);
  const xs = Array.from({ length: 200 }, () => 2 * gaussian(random));
  xs.push(500, -400, 900);
  assert.ok(Math.abs(robustSd(xs) - 2) < 0.4, `robust SD ${robustSd(xs)}`);
});
