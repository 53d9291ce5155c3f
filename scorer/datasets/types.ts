/** What every dataset importer returns. */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { RecordingHeader } from '../recording/format.js';

export interface ImportResult {
  header: RecordingHeader;
  /** In time order, times in ms from the first event. */
  events: InputEvent[];
  /** Data rows read (the CSV/TSV header not counted). */
  rows: number;
  /** Rows skipped, by reason (for example { malformed: 2, negativeDwell: 1 }). */
  skipped: Record<string, number>;
}

export type DatasetKind = 'aalto' | 'balabit' | 'sapimouse';
export const DATASET_KINDS: readonly DatasetKind[] = ['aalto', 'balabit', 'sapimouse'];

export function countSkip(skipped: Record<string, number>, reason: string): void {
  skipped[reason] = (skipped[reason] ?? 0) + 1;
}

/** Splits file text into lines, dropping one trailing newline and carriage returns. */
export function textLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}
