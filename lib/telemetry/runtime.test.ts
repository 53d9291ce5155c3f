import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { metrics } from '@opentelemetry/sdk-node';
import { GC_PAUSE_BUCKETS_S, observeRuntime } from './runtime.js';

// A full collection on demand, without starting the test runner with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The last value of each gauge the runtime reports, by name. */
async function gauges(reader: metrics.MetricReader): Promise<Map<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, number>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const m of scope.metrics) {
      const point = m.dataPoints.at(-1);
      if (point && typeof point.value === 'number') out.set(m.descriptor.name, point.value);
    }
  return out;
}

/** Runs `body` with the runtime's metrics observed, read on demand from `reader`. */
async function withRuntimeMetrics(body: (reader: metrics.MetricReader) => Promise<void>): Promise<void> {
  const reader = new metrics.PeriodicExportingMetricReader({ exporter: new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const provider = new metrics.MeterProvider({ readers: [reader] });
  const stop = observeRuntime(provider.getMeter('runtime-test'));
  try {
    await body(reader);
  } finally {
    stop();
    await provider.shutdown();
  }
}

/** After a full collection, once the GC observer has run. */
async function collected(): Promise<void> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

test('the live heap is what survives a full collection: it follows retained memory, not garbage; the committed heap holds both', async () => {
  await withRuntimeMetrics(async (reader) => {
    await collected();
    const before = (await gauges(reader)).get('vdiguard.runtime.heap.live');
    assert.ok(before !== undefined && before > 1e6, `a live heap after the first full collection (${before} B)`);

    // 64 MiB of garbage: the heap in use grows, what is live does not.
    const heapWithGarbage = await (async () => {
      const garbage = Array.from({ length: 64 }, () => new Array<number>(131_072).fill(1.5));
      const read = await gauges(reader);
      assert.equal(garbage.length, 64);
      return { used: read.get('v8js.memory.heap.used')!, committed: read.get('vdiguard.runtime.heap.committed')! };
    })();
    assert.ok(heapWithGarbage.used > before + 48 * 2 ** 20, 'the heap in use counts the garbage');
    assert.ok(heapWithGarbage.committed >= heapWithGarbage.used, `the committed heap holds what is in use: ${heapWithGarbage.committed} B, ${heapWithGarbage.used} B in use`);
    await collected();
    const afterGarbage = (await gauges(reader)).get('vdiguard.runtime.heap.live')!;
    assert.ok(Math.abs(afterGarbage - before) < 16 * 2 ** 20, `garbage is not live: ${before} B, then ${afterGarbage} B`);

    // 64 MiB kept: the live heap grows by it.
    const kept = Array.from({ length: 64 }, () => new Array<number>(131_072).fill(2.5));
    await collected();
    const retained = (await gauges(reader)).get('vdiguard.runtime.heap.live')!;
    assert.ok(retained > afterGarbage + 56 * 2 ** 20, `what is retained is live: ${afterGarbage} B, then ${retained} B`);
    assert.equal(kept.length, 64);
  });
});

test("the event loop's delay: Node's histogram counts the sampling period, which the gauges leave out", async () => {
  // What the gauges rely on: an idle loop's shortest interval is the period itself (10 ms), not 0.
  const raw = monitorEventLoopDelay({ resolution: 10 });
  raw.enable();
  await new Promise((resolve) => setTimeout(resolve, 200));
  raw.disable();
  assert.ok(raw.min >= 9e6, `the shortest interval is the period: ${raw.min / 1e6} ms`);

  await withRuntimeMetrics(async (reader) => {
    await gauges(reader);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const blockedUntil = performance.now() + 120;
    while (performance.now() < blockedUntil);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const read = await gauges(reader);
    const max = read.get('nodejs.eventloop.delay.max')!;
    assert.ok(max >= 0.1, `a loop blocked for 120 ms is seen, in seconds: ${max}`);
    assert.ok(read.get('nodejs.eventloop.delay.p99')! <= max);
  });
});

test('each collection is timed by its kind: a forced full collection is a major one, garbage makes minor ones', async () => {
  await withRuntimeMetrics(async (reader) => {
    await collected();
    // Short-lived garbage, well past a young generation's size: scavenges.
    let kept = 0;
    for (let i = 0; i < 2000; i++) kept += new Array<number>(16_384).fill(i).length;
    assert.equal(kept, 2000 * 16_384);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { resourceMetrics } = await reader.collect();
    const gc = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'v8js.gc.duration');
    assert.ok(gc, 'the pauses are exported');
    assert.equal(gc.descriptor.unit, 's');
    const byType = new Map(gc.dataPoints.map((p) => [p.attributes['v8js.gc.type'], p.value as metrics.Histogram]));
    const major = byType.get('major');
    const minor = byType.get('minor');
    assert.ok(major && major.count >= 1, `the forced collection was timed as major: ${JSON.stringify([...byType.keys()])}`);
    assert.ok(minor && minor.count >= 1, 'the garbage made minor collections');
    assert.deepEqual(major.buckets.boundaries, GC_PAUSE_BUCKETS_S);
    // Seconds, not milliseconds: a pause of a second on a test's heap would be absurd.
    assert.ok((major.sum ?? 0) > 0 && (major.max ?? 0) < 1, `a full collection of a small heap takes a fraction of a second: ${major.max} s`);
  });
});
