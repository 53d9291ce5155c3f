/** What every protocol reports per model row, and small statistics helpers. */
import { equalErrorRate, rocAuc } from '../models/metrics.js';

/** The scores of one model on one protocol (larger = less like the claimed agent). */
export interface ScoredRow {
  /** Which pipelines produced them ('default', 'baseline'). */
  readonly row: string;
  /** Model names per modality, for the record. */
  readonly model: string;
  readonly genuine: number[];
  readonly impostor: number[];
}

export interface RowFigures {
  readonly row: string;
  readonly model: string;
  readonly auc: number;
  readonly eer: number;
  readonly genuine: number;
  readonly impostor: number;
}

export function figuresOf(r: ScoredRow): RowFigures {
  return {
    row: r.row,
    model: r.model,
    auc: round(rocAuc(r.genuine, r.impostor)),
    eer: round(equalErrorRate(r.genuine, r.impostor)),
    genuine: r.genuine.filter(Number.isFinite).length,
    impostor: r.impostor.filter(Number.isFinite).length,
  };
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Number.isFinite(x) ? Math.round(x * f) / f : x;
}

/** The q-quantile (0..1) of finite values, linear interpolation; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  const f = values.filter(Number.isFinite);
  return f.length === 0 ? Number.NaN : f.reduce((a, b) => a + b, 0) / f.length;
}

/** Progress on stderr, so stdout stays the report. */
export type Progress = (message: string) => void;
export const stderrProgress: Progress = (m) => {
  process.stderr.write(m + '\n');
};
export const silentProgress: Progress = () => undefined;
