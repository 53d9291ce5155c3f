import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addBuckets, growthAfterWarmup, isSteady, quantileBound, steadyBuckets, timeline } from './report.js';

const series = (values: number[], everyMs = 5000) => values.map((value, i) => ({ timeMs: 1000 + i * everyMs, value }));

test('memory that holds after warm-up grows ~0, whatever it climbed while warming up; a leak reads its growth', () => {
  const warm = series([100, 150, 190, 200, 201, 199, 200, 202, 198, 200, 201, 199]);
  const held = growthAfterWarmup(warm, 15_000);
  assert.equal(held?.samples, 9);
  assert.ok(Math.abs(held!.growth) < 0.01, `growth ${held!.growth}`);
  // 1% of 200 per sample over 9 samples: the line rises 8 steps of 2 = 16 over a mean of 208.
  const leak = growthAfterWarmup(series([100, 150, 190, 200, 202, 204, 206, 208, 210, 212, 214, 216]), 15_000);
  assert.ok(Math.abs(leak!.growth - 16 / 208) < 1e-9, `growth ${leak!.growth}`);
  assert.equal(growthAfterWarmup(series([1, 2, 3]), 15_000), null, 'too few samples after warm-up to say');
});

test('memory that follows the sessions held is not growth: a process taking over a peer\'s sessions reads ~0, and its bytes per session', () => {
  const times = Array.from({ length: 40 }, (_, i) => 1000 + i * 5000);
  // 500 sessions, then 1,000 from the 20th sample on (a restarted peer's clients), at 300 KB each over 100 MB.
  const sessions = times.map((timeMs, i) => ({ timeMs: timeMs - 1, value: i < 20 ? 500 : 1000 }));
  const memory = (leakPerSample: number) => times.map((timeMs, i) => ({ timeMs, value: 100e6 + 300e3 * (i < 20 ? 500 : 1000) + leakPerSample * i + (i % 2 === 0 ? 1e5 : -1e5) }));
  const held = growthAfterWarmup(memory(0), 0, sessions)!;
  assert.ok(Math.abs(held.growth) < 0.005, `growth ${held.growth}`);
  assert.ok(Math.abs(held.perSessionBytes! - 300e3) < 1e3, `per session ${held.perSessionBytes}`);
  assert.ok(growthAfterWarmup(memory(0), 0)!.growth > 0.5, 'on time alone the take-over reads as growth');
  // A leak of 1 MB per sample is growth with the sessions set apart: 39 MB over a mean of 325 MB.
  const leak = growthAfterWarmup(memory(1e6), 0, sessions)!;
  assert.ok(Math.abs(leak.growth - 39e6 / leak.meanBytes) < 0.005, `growth ${leak.growth}`);
  // Sessions that rise with time cannot be told from a leak: fitted on time alone, and said so.
  const ramp = times.map((timeMs, i) => ({ timeMs: timeMs - 1, value: 10 * i }));
  assert.equal(growthAfterWarmup(memory(0), 0, ramp)!.perSessionBytes, null);
});

test('quantiles from histogram buckets are the bound of the bucket that holds them', () => {
  const h = { bounds: [10, 50, 250], bucketCounts: [50, 40, 9, 1] };
  assert.equal(quantileBound(h, 0.5), 10);
  assert.equal(quantileBound(h, 0.9), 50);
  assert.equal(quantileBound(h, 0.99), 250);
  assert.equal(quantileBound(h, 1), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(quantileBound({ bounds: [10], bucketCounts: [0, 0] }, 0.5)));
  assert.deepEqual(addBuckets([h, { bounds: [10, 50, 250], bucketCounts: [1, 2, 3, 4] }]), { bounds: [10, 50, 250], bucketCounts: [51, 42, 12, 5] });
  assert.throws(() => addBuckets([h, { bounds: [10], bucketCounts: [1, 1] }]), /different bounds/);
});

test('steady time excludes warm-up, the end, and each fault with its recovery; a histogram counts only between steady points', () => {
  const phases = { steady: { fromMs: 100, toMs: 1000 }, disturbed: [{ fromMs: 400, toMs: 600 }] };
  assert.deepEqual([50, 100, 300, 400, 500, 600, 700, 1000, 1100].map((t) => isSteady(t, phases)), [false, true, true, false, false, false, true, true, false]);
  const bounds = [10, 100];
  const point = (instance: string, timeMs: number, bucketCounts: number[]) => ({ instance, timeMs, bounds, bucketCounts });
  const points = [
    point('g0', 200, [10, 0, 0]),
    point('g0', 300, [20, 1, 0]),
    // Across the fault: the verdicts slowed by it are not counted.
    point('g0', 500, [20, 1, 50]),
    point('g0', 700, [25, 1, 50]),
    point('g0', 800, [35, 2, 50]),
    // Another process's counts are its own.
    point('g1', 150, [0, 0, 0]),
    point('g1', 250, [5, 0, 0]),
  ];
  assert.deepEqual(steadyBuckets(points, phases), { bounds, bucketCounts: [10 + 10 + 5, 1 + 1, 0] });
});

test('a timeline keeps the last readings and the worst loop delay of each step, and leaves out steps with none', () => {
  const at = (s: number, value: number) => ({ timeMs: 1_000_000 + s * 1000, value });
  const points = timeline(1_000_000, 30_000, {
    rssBytes: [at(5, 100), at(25, 110), at(35, 120), at(95, 130)],
    heapCommittedBytes: [at(5, 90), at(26, 95)],
    fitHeapCommittedBytes: [at(36, 40)],
    liveHeapBytes: [at(25, 50), at(35, 60)],
    sessions: [at(10, 3), at(40, 4)],
    loopMs: [at(5, 12), at(20, 80), at(29, 15), at(95, 7)],
  });
  assert.deepEqual(points, [
    { atS: 0, rssBytes: 110, heapCommittedBytes: 95, fitHeapCommittedBytes: null, liveHeapBytes: 50, sessions: 3, loopDelayP99Ms: 80 },
    { atS: 30, rssBytes: 120, heapCommittedBytes: null, fitHeapCommittedBytes: 40, liveHeapBytes: 60, sessions: 4, loopDelayP99Ms: null },
    { atS: 90, rssBytes: 130, heapCommittedBytes: null, fitHeapCommittedBytes: null, liveHeapBytes: null, sessions: null, loopDelayP99Ms: 7 },
  ]);
});
