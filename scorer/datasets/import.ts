/**
 * `vdiguard import`: a dataset file or folder to recordings. A folder gives a directory of
 * recordings, one per participant or session, and a summary of counts and skipped rows.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { VdiguardError } from '../../lib/errors.js';
import { writeRecording } from '../recording/writer.js';
import { importAaltoFile } from './aalto.js';
import { importBalabitFile, importSapimouseFile, parseBalabitLabels } from './mouse-datasets.js';
import type { DatasetKind, ImportResult } from './types.js';

export interface ImportSummary {
  files: number;
  events: number;
  rows: number;
  skipped: Record<string, number>;
  outputs: string[];
}

async function findLabels(start: string): Promise<Map<string, boolean> | undefined> {
  let dir = start;
  for (let i = 0; i < 3; i++) {
    const p = join(dir, 'labels.csv');
    if (existsSync(p)) return parseBalabitLabels(await readFile(p, 'utf8'), p);
    dir = dirname(dir);
  }
  return undefined;
}

async function inputFiles(kind: DatasetKind, input: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const ent of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (kind === 'aalto' ? ent.name.endsWith('_keystrokes.txt') : kind === 'balabit' ? ent.name.startsWith('session_') : ent.name.endsWith('.csv')) out.push(p);
    }
  };
  await walk(input);
  return out;
}

export async function importDataset(
  kind: DatasetKind,
  input: string,
  out: string,
  options: { timestamp?: 'client' | 'record' } = {},
): Promise<ImportSummary> {
  const st = await stat(input).catch(() => {
    throw new VdiguardError('not-found', `${input}: no such file or folder`);
  });
  const labels = kind === 'balabit' ? await findLabels(st.isDirectory() ? input : dirname(input)) : undefined;
  const one = async (file: string): Promise<ImportResult> =>
    kind === 'aalto' ? importAaltoFile(file) : kind === 'balabit' ? importBalabitFile(file, { timestamp: options.timestamp ?? 'client', ...(labels ? { labels } : {}) }) : importSapimouseFile(file);
  const files = st.isDirectory() ? await inputFiles(kind, input) : [input];
  if (files.length === 0) throw new VdiguardError('invalid-argument', `${input}: no ${kind} files found in this folder`);
  const summary: ImportSummary = { files: 0, events: 0, rows: 0, skipped: {}, outputs: [] };
  if (st.isDirectory()) await mkdir(out, { recursive: true });
  for (const f of files) {
    const r = await one(f);
    const rel = relative(input, f).replace(/[\\/]/g, '_');
    const target = st.isDirectory() ? join(out, `${basename(rel).replace(/\.(txt|csv)$/, '')}.jsonl`) : out;
    await writeRecording(target, r.header, r.events);
    summary.files += 1;
    summary.events += r.events.length;
    summary.rows += r.rows;
    for (const [k, v] of Object.entries(r.skipped)) summary.skipped[k] = (summary.skipped[k] ?? 0) + v;
    summary.outputs.push(target);
  }
  return summary;
}
