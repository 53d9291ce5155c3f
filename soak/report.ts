/**
 * The soak's figures from what it collected, as pure functions: memory growth after warm-up per
 * process, percentiles from histogram buckets, and the pass or fail of each target.
 */

/** One reading of a process's memory (bytes) at a time (ms). */
export interface MemorySample {
  readonly timeMs: number;
  readonly value: number;
}

export interface Growth {
  /** Samples the model was fitted to (those after warm-up). */
  readonly samples: number;
  /** Mean over those samples, bytes. */
  readonly meanBytes: number;
  /**
   * What the fitted memory grows over the span with the sessions held constant, as a fraction of
   * the mean (0.05: 5%): the part no change of load explains.
   */
  readonly growth: number;
  /** Bytes per session held, fitted; null when the sessions held did not change enough to say. */
  readonly perSessionBytes: number | null;
}

/**
 * Least squares of memory on time and on the sessions the process held (the last count reported
 * at or before each sample), over the samples after `warmupMs` from the first one. A process that
 * holds its memory per session reads a growth near 0 however many sessions it takes over (a
 * restarted peer's clients) or gives up; a leak reads its growth. Without `sessions`, or when the
 * count barely moved, memory is fitted on time alone. Null with fewer than 3 samples after warm-up.
 */
export function growthAfterWarmup(samples: readonly MemorySample[], warmupMs: number, sessions: readonly MemorySample[] = []): Growth | null {
  if (samples.length === 0) return null;
  const from = (samples[0] as MemorySample).timeMs + warmupMs;
  const kept = samples.filter((s) => s.timeMs >= from);
  if (kept.length < 3) return null;
  const held = kept.map((s) => heldAt(sessions, s.timeMs));
  const n = kept.length;
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / n;
  const t = kept.map((s) => s.timeMs - (kept[0] as MemorySample).timeMs);
  const y = kept.map((s) => s.value);
  const [mt, my, mh] = [mean(t), mean(y), mean(held)];
  const dt = t.map((v) => v - mt);
  const dy = y.map((v) => v - my);
  const dh = held.map((v) => v - mh);
  const dot = (a: readonly number[], b: readonly number[]) => a.reduce((acc, v, i) => acc + v * (b[i] as number), 0);
  const [stt, shh, sth, sty, shy] = [dot(dt, dt), dot(dh, dh), dot(dt, dh), dot(dt, dy), dot(dh, dy)];
  const det = stt * shh - sth * sth;
  // The sessions held must vary apart from time (correlation squared below 0.95), and by a fifth
  // of the most held at least, or their effect cannot be told from a leak's.
  const spread = Math.max(...held) - Math.min(...held);
  const separable = shh > 0 && det > 0.05 * stt * shh && spread >= 0.2 * Math.max(...held);
  const slope = separable ? (sty * shh - shy * sth) / det : stt === 0 ? 0 : sty / stt;
  const perSession = separable ? (shy * stt - sty * sth) / det : null;
  const span = t.at(-1) as number;
  return { samples: n, meanBytes: my, growth: my === 0 ? 0 : (slope * span) / my, perSessionBytes: perSession };
}

/** A process in one step of the run, from the readings that fell in it. */
export interface TimelinePoint {
  /** The step's start, seconds from the start of the run. */
  readonly atS: number;
  /** The last readings in the step; null when there was none. */
  readonly rssBytes: number | null;
  /** The heap V8 has reserved, live data and room for garbage: resident memory follows it when V8 sizes its heap up. */
  readonly heapCommittedBytes: number | null;
  /** A scorer's fit workers' heaps, reserved (their own isolates, not in the figure above); null for a gateway. */
  readonly fitHeapCommittedBytes: number | null;
  /** The live heap: what survived the last full collection (lib/telemetry/runtime.ts). */
  readonly liveHeapBytes: number | null;
  readonly sessions: number | null;
  /** The worst 99th percentile of event loop delay reported in the step, ms. */
  readonly loopDelayP99Ms: number | null;
}

/** The readings a timeline keeps the last of in each step. */
const LAST_READINGS = ['rssBytes', 'heapCommittedBytes', 'fitHeapCommittedBytes', 'liveHeapBytes', 'sessions'] as const;

/**
 * A process's readings in steps of `stepMs` from `startMs`, to see when it grew or stalled; steps
 * with no reading at all (before it started, after it stopped) are left out.
 */
export function timeline(
  startMs: number,
  stepMs: number,
  series: { readonly [K in (typeof LAST_READINGS)[number]]: readonly MemorySample[] } & { readonly loopMs: readonly MemorySample[] },
): TimelinePoint[] {
  type Point = { -readonly [K in keyof TimelinePoint]: TimelinePoint[K] };
  const steps = new Map<number, Point>();
  const at = (t: number): Point => {
    const k = Math.floor((t - startMs) / stepMs);
    let p = steps.get(k);
    if (!p) steps.set(k, (p = { atS: (k * stepMs) / 1000, rssBytes: null, heapCommittedBytes: null, fitHeapCommittedBytes: null, liveHeapBytes: null, sessions: null, loopDelayP99Ms: null }));
    return p;
  };
  for (const field of LAST_READINGS) {
    for (const x of [...series[field]].sort((a, b) => a.timeMs - b.timeMs)) at(x.timeMs)[field] = x.value;
  }
  for (const x of series.loopMs) {
    const p = at(x.timeMs);
    p.loopDelayP99Ms = Math.max(p.loopDelayP99Ms ?? 0, x.value);
  }
  return [...steps].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

/** The last count at or before `timeMs` (0 before the first), of counts in time order. */
export function heldAt(counts: readonly MemorySample[], timeMs: number): number {
  let value = 0;
  for (const c of counts) {
    if (c.timeMs > timeMs) break;
    value = c.value;
  }
  return value;
}

/** A stretch of the run, ms on the wall clock (Date.now(), as the exported points' times). */
export interface Span {
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * The steady part of a run: after warm-up and before the load stops, outside every fault and the
 * recovery after it. The performance targets are judged there; the faults are there to show that
 * nothing is lost, and their own figures are printed beside.
 */
export interface Phases {
  readonly steady: Span;
  readonly disturbed: readonly Span[];
}

export function isSteady(timeMs: number, phases: Phases): boolean {
  return timeMs >= phases.steady.fromMs && timeMs <= phases.steady.toMs && !phases.disturbed.some((d) => timeMs >= d.fromMs && timeMs <= d.toMs);
}

/**
 * What a histogram counted in steady time: for each process, the difference between consecutive
 * exported points (cumulative counts) that are both steady, added up.
 */
export function steadyBuckets(points: readonly { instance: string; timeMs: number; bounds: readonly number[]; bucketCounts: readonly number[] }[], phases: Phases): Buckets | null {
  const deltas: Buckets[] = [];
  const byInstance = new Map<string, typeof points[number][]>();
  for (const p of points) byInstance.set(p.instance, [...(byInstance.get(p.instance) ?? []), p]);
  for (const series of byInstance.values()) {
    const sorted = [...series].sort((a, b) => a.timeMs - b.timeMs);
    for (let i = 1; i < sorted.length; i++) {
      const [a, b] = [sorted[i - 1]!, sorted[i]!];
      if (isSteady(a.timeMs, phases) && isSteady(b.timeMs, phases)) deltas.push({ bounds: b.bounds, bucketCounts: b.bucketCounts.map((c, j) => c - (a.bucketCounts[j] ?? 0)) });
    }
  }
  return addBuckets(deltas);
}

/** Counts of a histogram: `bucketCounts[i]` counts values up to `bounds[i]`; the last, those above every bound. */
export interface Buckets {
  readonly bounds: readonly number[];
  readonly bucketCounts: readonly number[];
}

/** Adds histograms with the same bounds (the latest point of each process). */
export function addBuckets(all: readonly Buckets[]): Buckets | null {
  const first = all[0];
  if (!first) return null;
  for (const b of all) {
    if (b.bounds.join() !== first.bounds.join()) throw new Error(`histograms with different bounds cannot be added: [${b.bounds.join()}] and [${first.bounds.join()}]`);
  }
  return { bounds: first.bounds, bucketCounts: first.bucketCounts.map((_, i) => all.reduce((a, b) => a + (b.bucketCounts[i] ?? 0), 0)) };
}

/**
 * The bound of the bucket holding quantile `q`: the value is at most that (Infinity when it lies
 * above every bound). NaN for an empty histogram.
 */
export function quantileBound(h: Buckets, q: number): number {
  const total = h.bucketCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < h.bucketCounts.length; i++) {
    seen += h.bucketCounts[i] as number;
    if (seen >= rank) return h.bounds[i] ?? Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}
