/**
 * Balabit and SapiMouse session files (CSV of mouse rows) to recordings.
 */
import { basename, dirname } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { readInput } from './aalto.js';
import { MouseRowConverter } from './mouse-csv.js';
import { countSkip, textLines, type ImportResult } from './types.js';

export interface BalabitOptions {
  /** Which time to use: the RDP client's (default) or the network monitor's `record timestamp`. */
  timestamp?: 'client' | 'record';
  /** is_illegal by session file name, from labels.csv. */
  labels?: ReadonlyMap<string, boolean>;
  /** The user (agent), when the file is not under a userN folder. */
  agent?: string;
}

const BALABIT_HEADER = 'record timestamp,client timestamp,button,state,x,y';
const SAPI_HEADER = 'client timestamp,button,state,x,y';

interface Columns {
  time: number;
  button: number;
  state: number;
  x: number;
  y: number;
  /** Seconds (Balabit) or milliseconds (SapiMouse) per time unit, to ms. */
  toMs: number;
}

function convertRows(lines: readonly string[], cols: Columns, skipped: Record<string, number>): InputEvent[] {
  const conv = new MouseRowConverter();
  const events: InputEvent[] = [];
  let first = Number.NaN;
  let offset = 0;
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const f = line.split(',');
    const raw = Number(f[cols.time]);
    if (f.length < 5 || f[cols.time] === '' || !Number.isFinite(raw)) {
      countSkip(skipped, 'malformed');
      continue;
    }
    const ms = raw * cols.toMs;
    if (Number.isNaN(first)) first = ms;
    let t = ms - first + offset;
    if (t < last) {
      // A timestamp reset: continue from the last time.
      if (last - t > 1000) countSkip(skipped, 'timestampResets');
      offset += last - t;
      t = last;
    }
    const reason = conv.convert(Math.round(t * 1000) / 1000, f[cols.button] as string, f[cols.state] as string, Number(f[cols.x]), Number(f[cols.y]), events);
    if (reason !== undefined) countSkip(skipped, reason);
    else last = t;
  }
  return events;
}

function userOf(file: string): string | undefined {
  const d = basename(dirname(file));
  return /^user\d+$/.test(d) ? d : undefined;
}

/** One Balabit session file (text) to a recording. */
export function convertBalabit(text: string, file: string, o: BalabitOptions = {}): ImportResult {
  const lines = textLines(text);
  if (lines[0] !== BALABIT_HEADER) {
    throw new VdiguardError('invalid-argument', `${file}: not a Balabit session file (the first line should be "${BALABIT_HEADER}"); pass a training_files/userN/session_* or test_files/userN/session_* file`);
  }
  const skipped: Record<string, number> = {};
  const timeCol = (o.timestamp ?? 'client') === 'client' ? 1 : 0;
  const events = convertRows(lines, { time: timeCol, button: 2, state: 3, x: 4, y: 5, toMs: 1000 }, skipped);
  const session = basename(file);
  const illegal = o.labels?.get(session);
  return {
    header: {
      format: 'vdiguard.recording.v1',
      agent: o.agent ?? userOf(file) ?? 'unknown',
      source: 'balabit',
      session,
      timestamp: o.timestamp ?? 'client',
      ...(illegal === undefined ? {} : { illegal }),
    },
    events,
    rows: lines.length - 1,
    skipped,
  };
}

/** One SapiMouse session csv (text) to a recording. */
export function convertSapimouse(text: string, file: string, agent?: string): ImportResult {
  const lines = textLines(text);
  if (lines[0] !== SAPI_HEADER) {
    throw new VdiguardError('invalid-argument', `${file}: not a SapiMouse session file (the first line should be "${SAPI_HEADER}"); pass a sapimouse/userN/session_*.csv file`);
  }
  const skipped: Record<string, number> = {};
  const events = convertRows(lines, { time: 0, button: 1, state: 2, x: 3, y: 4, toMs: 1 }, skipped);
  return {
    header: { format: 'vdiguard.recording.v1', agent: agent ?? userOf(file) ?? 'unknown', source: 'sapimouse', session: basename(file) },
    events,
    rows: lines.length - 1,
    skipped,
  };
}

/** Parses Balabit's labels.csv (`filename,is_illegal`). */
export function parseBalabitLabels(text: string, file: string): Map<string, boolean> {
  const lines = textLines(text);
  if (lines[0] !== 'filename,is_illegal') throw new VdiguardError('invalid-argument', `${file}: not a Balabit labels.csv (header "filename,is_illegal")`);
  const m = new Map<string, boolean>();
  for (const l of lines.slice(1)) {
    const [name, flag] = l.split(',');
    if (name && (flag === '0' || flag === '1')) m.set(name, flag === '1');
  }
  return m;
}

export async function importBalabitFile(file: string, o: BalabitOptions = {}): Promise<ImportResult> {
  return convertBalabit((await readInput(file)).toString('utf8'), file, o);
}

export async function importSapimouseFile(file: string, agent?: string): Promise<ImportResult> {
  return convertSapimouse((await readInput(file)).toString('utf8'), file, agent);
}
