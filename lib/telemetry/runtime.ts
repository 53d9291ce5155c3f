/**
 * The process's own health as metrics, beside the services' (names as OpenTelemetry's semantic
 * conventions for processes, V8 and Node.js): resident memory, V8 heap in use, and the event
 * loop's delay since the last export, so an operator (and `vdiguard soak`) sees memory per session
 * and a loop that stalls.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Meter } from '@opentelemetry/api';

/** Registers the runtime gauges on `meter`; returns a function that stops measuring. */
export function observeRuntime(meter: Meter): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const rss = meter.createObservableGauge('process.memory.usage', { description: 'Resident memory of the process', unit: 'By' });
  const heap = meter.createObservableGauge('v8js.memory.heap.used', { description: 'V8 heap in use', unit: 'By' });
  const p99 = meter.createObservableGauge('nodejs.eventloop.delay.p99', { description: "99th percentile of the event loop's delay since the last export", unit: 's' });
  const max = meter.createObservableGauge('nodejs.eventloop.delay.max', { description: "Longest event loop delay since the last export", unit: 's' });
  meter.addBatchObservableCallback(
    (r) => {
      const memory = process.memoryUsage();
      r.observe(rss, memory.rss);
      r.observe(heap, memory.heapUsed);
      // In nanoseconds, measured by a timer of the resolution's period: the delay is how late it fired.
      if (delay.count > 0) {
        r.observe(p99, delay.percentile(99) / 1e9);
        r.observe(max, delay.max / 1e9);
      }
      delay.reset();
    },
    [rss, heap, p99, max],
  );
  return () => delay.disable();
}
