/**
 * An OTLP/HTTP receiver for tests: accepts what the real OpenTelemetry exporters send with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json and keeps every request body, raw and parsed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpReceiver {
  readonly endpoint: string;
  /** Raw bodies of every request, for searching what was exported. */
  readonly raw: string[];
  spans(): OtlpSpan[];
  logRecords(): OtlpLogRecord[];
  metricNames(): string[];
  /** The sum of a counter over every export (cumulative: the last data point per series). */
  counterTotal(name: string): number;
  /** Every exported value of a gauge, in the order exported, with the exporting process. */
  gaugeValues(name: string): { service: string; instance: string; value: number; timeMs: number }[];
  /** Every exported value of a sum (a counter's total, an up-down counter's level), in the order exported, with the exporting process. */
  sumValues(name: string): { service: string; instance: string; value: number; timeMs: number }[];
  /**
   * Every exported data point of a histogram (cumulative since its process started), in the order
   * exported; with `attributes`, only the series that carry them.
   */
  histogramPoints(name: string, attributes?: Readonly<Record<string, string>>): HistogramPoint[];
  close(): Promise<void>;
}

/** One exported point of a histogram: counts per bucket, the last one above the last bound. */
export interface HistogramPoint {
  readonly service: string;
  /** The exporting process (service.instance.id): a restarted process starts its counts again. */
  readonly instance: string;
  readonly count: number;
  readonly bounds: number[];
  readonly bucketCounts: number[];
  readonly timeMs: number;
}

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: OtlpAttribute[];
}

export interface OtlpLogRecord {
  eventName?: string;
  traceId?: string;
  spanId?: string;
  body?: { stringValue?: string };
  attributes: OtlpAttribute[];
}

type Json = Record<string, any>;

export function attribute(attrs: OtlpAttribute[] | undefined, key: string): string | number | boolean | undefined {
  const v = attrs?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const bodies = new Map<string, Json[]>([['/v1/traces', []], ['/v1/logs', []], ['/v1/metrics', []]]);
  const raw: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      raw.push(text);
      try {
        bodies.get(req.url ?? '')?.push(JSON.parse(text));
      } catch {
        // Kept in raw; the assertions say what was missing.
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const all = (path: string): Json[] => bodies.get(path) ?? [];
  const valuesOf = (name: string, kind: 'gauge' | 'sum') =>
    pointsOf(all('/v1/metrics'), name, kind).map(({ service, instance, p }) => ({ service, instance, value: Number(p.asDouble ?? p.asInt), timeMs: timeMsOf(p) }));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    raw,
    spans: () => all('/v1/traces').flatMap((b) => b.resourceSpans ?? []).flatMap((r: Json) => r.scopeSpans ?? []).flatMap((s: Json) => s.spans ?? []),
    logRecords: () => all('/v1/logs').flatMap((b) => b.resourceLogs ?? []).flatMap((r: Json) => r.scopeLogs ?? []).flatMap((s: Json) => s.logRecords ?? []),
    metricNames: () => [...new Set(metricsOf(all('/v1/metrics')).map((m) => m.name as string))],
    counterTotal(name) {
      const last = pointsOf(all('/v1/metrics'), name, 'sum').at(-1)?.p;
      return last ? Number(last.asInt ?? last.asDouble ?? 0) : 0;
    },
    gaugeValues: (name) => valuesOf(name, 'gauge'),
    sumValues: (name) => valuesOf(name, 'sum'),
    histogramPoints(name, attributes = {}) {
      const wanted = Object.entries(attributes);
      const carries = (p: Json): boolean => wanted.every(([key, value]) => attribute(p.attributes, key) === value);
      return pointsOf(all('/v1/metrics'), name, 'histogram').filter(({ p }) => carries(p)).map(({ service, instance, p }) => ({
        service,
        instance,
        count: Number(p.count ?? 0),
        bounds: (p.explicitBounds ?? []).map(Number),
        bucketCounts: (p.bucketCounts ?? []).map(Number),
        timeMs: timeMsOf(p),
      }));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The data points of one metric, with the service and process that exported each. */
function pointsOf(bodies: Json[], name: string, type: 'sum' | 'gauge' | 'histogram'): { service: string; instance: string; p: Json }[] {
  return bodies
    .flatMap((b) => b.resourceMetrics ?? [])
    .flatMap((r: Json) => {
      const service = String(attribute(r.resource?.attributes, 'service.name') ?? '');
      const instance = String(attribute(r.resource?.attributes, 'service.instance.id') ?? '');
      return (r.scopeMetrics ?? [])
        .flatMap((s: Json) => s.metrics ?? [])
        .filter((m: Json) => m.name === name)
        .flatMap((m: Json) => m[type]?.dataPoints ?? [])
        .map((p: Json) => ({ service, instance, p }));
    });
}

function timeMsOf(p: Json): number {
  return Number(BigInt(p.timeUnixNano) / 1_000_000n);
}

function metricsOf(bodies: Json[]): Json[] {
  return bodies.flatMap((b) => b.resourceMetrics ?? []).flatMap((r: Json) => r.scopeMetrics ?? []).flatMap((s: Json) => s.metrics ?? []);
}
