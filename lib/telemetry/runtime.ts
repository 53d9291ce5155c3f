/**
 * The process's own health as metrics, beside the services' (names as OpenTelemetry's semantic
 * conventions for processes, V8 and Node.js): resident memory, V8 heap in use, and the event
 * loop's delay since the last export, so an operator (and `vdiguard soak`) sees memory per session
 * and a loop that stalls.
 *
 * The heap in use at any moment is mostly garbage waiting for the next full collection: V8 lets it
 * pile up to a share of the memory it believes it has (a 1 GiB container: a heap limit of some
 * 512 MiB; a 24 GiB machine: 4 GiB), so it rises and falls by a hundred MiB with no leak at all.
 * What a process holds on to is the heap left right after a full (mark-compact) collection:
 * `vdiguard.runtime.heap.live`, the figure a leak makes grow. The heap V8 has reserved
 * (`vdiguard.runtime.heap.committed`: live data and room for garbage) is what resident memory
 * follows when V8 sizes its heap up under load, with nothing more held.
 *
 * Each collection's pause is `v8js.gc.duration` (seconds, by `v8js.gc.type`): a loop that stalls
 * while its process is busy collecting says so there, and a long mark-compact tells apart a heap
 * too big for the CPU it has from work that blocks the loop.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Meter } from '@opentelemetry/api';

/** Registers the runtime gauges on `meter`; returns a function that stops measuring. */
export function observeRuntime(meter: Meter): () => void {
  const delay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  delay.enable();
  let liveBytes: number | undefined;
  const pauses = meter.createHistogram('v8js.gc.duration', {
    description: 'Time the process spent in each garbage collection',
    unit: 's',
    advice: { explicitBucketBoundaries: GC_PAUSE_BUCKETS_S },
  });
  const collections = new PerformanceObserver((list) => {
    let full = false;
    for (const e of list.getEntries()) {
      const type = gcType(e);
      if (type) pauses.record(e.duration / 1000, { 'v8js.gc.type': type });
      full ||= type === 'major';
    }
    // Read when the observer runs, a moment after the collection: what was allocated since is small beside what survived.
    if (full) liveBytes = getHeapStatistics().used_heap_size;
  });
  collections.observe({ entryTypes: ['gc'] });
  const rss = meter.createObservableGauge('process.memory.usage', { description: 'Resident memory of the process', unit: 'By' });
  const heap = meter.createObservableGauge('v8js.memory.heap.used', { description: 'V8 heap in use', unit: 'By' });
  const committed = meter.createObservableGauge('vdiguard.runtime.heap.committed', { description: 'V8 heap reserved by the process: what is live and room for garbage', unit: 'By' });
  const live = meter.createObservableGauge('vdiguard.runtime.heap.live', { description: 'V8 heap in use right after the last full collection: what the process holds on to (none before its first)', unit: 'By' });
  const p99 = meter.createObservableGauge('nodejs.eventloop.delay.p99', { description: "99th percentile of the event loop's delay since the last export", unit: 's' });
  const max = meter.createObservableGauge('nodejs.eventloop.delay.max', { description: "Longest event loop delay since the last export", unit: 's' });
  meter.addBatchObservableCallback(
    (r) => {
      const memory = process.memoryUsage();
      r.observe(rss, memory.rss);
      r.observe(heap, memory.heapUsed);
      r.observe(committed, memory.heapTotal);
      if (liveBytes !== undefined) r.observe(live, liveBytes);
      if (delay.count > 0) {
        r.observe(p99, lateness(delay.percentile(99)));
        r.observe(max, lateness(delay.max));
      }
      delay.reset();
    },
    [rss, heap, committed, live, p99, max],
  );
  return () => {
    delay.disable();
    collections.disconnect();
  };
}

/** The period of the timer that samples the event loop, ms. */
const LOOP_SAMPLE_MS = 10;

/**
 * How late the sampling timer fired, in seconds, from the histogram's nanoseconds. Node records the
 * whole interval between the timer's runs, period included (an idle loop reads 10 ms, not 0: see
 * nodejs/node#34661, and Elastic's APM agent, which subtracts it likewise).
 */
function lateness(intervalNs: number): number {
  return Math.max(0, intervalNs / 1e6 - LOOP_SAMPLE_MS) / 1e3;
}

/** From a millisecond to the event-loop target (50 ms) and well past it. */
export const GC_PAUSE_BUCKETS_S = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/** The collection's kind, as the semantic conventions name it. */
export type GcType = 'major' | 'minor' | 'incremental' | 'weakcb';

const GC_TYPES: Readonly<Record<number, GcType>> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

function gcType(entry: PerformanceEntry): GcType | undefined {
  return GC_TYPES[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1];
}
