/**
 * The recorded-session file format `vdiguard.recording.v1`: JSON lines, a header first, then one
 * InputEvent per line in the proto's JSON shape. Recordings exist for datasets, tests and replay
 * only; the product never records agent sessions (they would hold what the agent typed).
 *
 * This module is pure: it validates one line at a time and never touches files. See
 * docs/recording-format.md for the specification.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

export const RECORDING_FORMAT = 'vdiguard.recording.v1';

/** Largest accepted timestamp, in milliseconds (about 317 years: anything beyond is corrupt). */
export const MAX_TIME_MS = 1e13;
/** Largest accepted gap between two consecutive events, in milliseconds (7 days). */
export const MAX_GAP_MS = 7 * 24 * 3600 * 1000;
/** Largest accepted line, in characters: events are tiny, a longer line is corrupt. */
export const MAX_LINE_CHARS = 64 * 1024;

import type { JsonValue } from '../../lib/json.js';

export type { JsonValue };

/** The first line of a recording. */
export interface RecordingHeader {
  /** Always RECORDING_FORMAT. */
  format: typeof RECORDING_FORMAT;
  /** Whose behaviour this is, as the scorer's agent id (for datasets: the participant or user). */
  agent: string;
  /** Where it came from: 'aalto', 'balabit', 'sapimouse', 'gateway-test', ... */
  source: string;
  /** Name of the session in its source (file name), when there is one. */
  session?: string;
  /** True when the behaviour is known not to be the agent's (Balabit `is_illegal` = 1). */
  illegal?: boolean;
  /** Any further metadata (JSON values), kept as read. */
  [key: string]: JsonValue | undefined;
}

/** A problem in one line: the reader adds the file name and line number. */
export class LineError extends Error {
  constructor(
    message: string,
    /** What the user can do about it. */
    readonly hint: string,
  ) {
    super(message);
    this.name = 'LineError';
  }
}

const KNOWN_EVENT_KEYS = new Set(['timeMs', 'clientTimeMs', 'key', 'mouse']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(line: string): unknown {
  if (line.length > MAX_LINE_CHARS) {
    throw new LineError(`line is ${line.length} characters, over the limit of ${MAX_LINE_CHARS}`, 'the file is corrupt; re-create it');
  }
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new LineError(`not valid JSON (${(err as Error).message})`, 'each line must be one JSON object; re-create the file with `vdiguard import` or the recording writer');
  }
}

/** Validates the header line. */
export function parseHeaderLine(line: string): RecordingHeader {
  const v = parseJson(line);
  if (!isObject(v) || !('format' in v)) {
    const looksLikeEvent = isObject(v) && ('timeMs' in v || 'key' in v || 'mouse' in v);
    throw new LineError(
      looksLikeEvent ? 'an event comes before the header' : 'the first line is not a recording header (no "format" field)',
      `the first line must be {"format":"${RECORDING_FORMAT}","agent":...,"source":...}`,
    );
  }
  if (v.format !== RECORDING_FORMAT) {
    const known = typeof v.format === 'string' && v.format.startsWith('vdiguard.recording.');
    throw new LineError(
      known ? `unsupported recording version ${JSON.stringify(v.format)}` : `unknown format ${JSON.stringify(v.format)}`,
      known ? `this build reads ${RECORDING_FORMAT}; use a vdiguard that matches the file's version` : `the file is not a vdiguard recording (expected format ${RECORDING_FORMAT})`,
    );
  }
  for (const field of ['agent', 'source'] as const) {
    if (typeof v[field] !== 'string' || (v[field] as string).length === 0) {
      throw new LineError(`header field "${field}" must be a non-empty string`, `add "${field}" to the header`);
    }
  }
  if ('session' in v && typeof v.session !== 'string') {
    throw new LineError('header field "session" must be a string', 'fix or remove "session" in the header');
  }
  if ('illegal' in v && typeof v.illegal !== 'boolean') {
    throw new LineError('header field "illegal" must be true or false', 'fix or remove "illegal" in the header');
  }
  return v as RecordingHeader;
}

function intField(o: Record<string, unknown>, name: string, min: number, max: number, where: string): number {
  const n = o[name];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new LineError(`${where}.${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(n)})`, 'fix the event or re-create the file');
  }
  return n;
}

/**
 * What is wrong with an event time that follows one at `previousTimeMs` (NaN for the first event),
 * or null. Shared by recordings and the scorer's stream, which both carry the gateway's monotonic
 * clock: times never decrease and never jump by more than MAX_GAP_MS.
 */
export function checkEventTime(t: unknown, previousTimeMs: number): { problem: string; hint: string } | null {
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > MAX_TIME_MS) {
    return { problem: `timeMs must be a number of milliseconds from 0 to ${MAX_TIME_MS} (got ${JSON.stringify(t)})`, hint: 'fix the timestamp' };
  }
  if (t < previousTimeMs) {
    return { problem: `timestamps decrease (${t} ms after ${previousTimeMs} ms)`, hint: 'events must be in time order; sort them, or offset a clock reset when importing' };
  }
  if (t - previousTimeMs > MAX_GAP_MS) {
    return { problem: `absurd timestamp: ${t} ms is more than 7 days after the previous event (${previousTimeMs} ms)`, hint: 'check the unit (milliseconds) and the clock of the source' };
  }
  return null;
}

/**
 * Validates one event line. `previousTimeMs` is the time of the event before (NaN for the first):
 * times must not decrease and must not jump by more than MAX_GAP_MS.
 */
export function parseEventLine(line: string, previousTimeMs: number): InputEvent {
  const v = parseJson(line);
  if (!isObject(v)) throw new LineError('an event must be a JSON object', 'fix the line or re-create the file');
  if ('format' in v) throw new LineError('a second header', 'a recording has exactly one header, on its first line; split concatenated files');
  for (const k of Object.keys(v)) {
    if (!KNOWN_EVENT_KEYS.has(k)) throw new LineError(`unknown event field "${k}"`, 'events have only timeMs, an optional clientTimeMs and one of key or mouse');
  }
  const t = v.timeMs;
  const timeProblem = checkEventTime(t, previousTimeMs);
  if (timeProblem) throw new LineError(timeProblem.problem, timeProblem.hint);
  const timeMs = t as number;
  const claim = clientTimeOf(v);
  const hasKey = 'key' in v;
  const hasMouse = 'mouse' in v;
  if (hasKey === hasMouse) {
    throw new LineError(hasKey ? 'an event has both "key" and "mouse"' : 'an event needs "key" or "mouse"', 'write one event per line');
  }
  if (hasKey) {
    const k = v.key;
    if (!isObject(k)) throw new LineError('"key" must be an object', 'write {"keysym":N,"pressed":true|false}');
    for (const f of Object.keys(k)) if (f !== 'keysym' && f !== 'pressed') throw new LineError(`unknown key field "${f}"`, 'a key has keysym and pressed');
    const keysym = intField(k, 'keysym', 0, 0x1fffffff, 'key');
    if (typeof k.pressed !== 'boolean') throw new LineError('key.pressed must be true or false', 'fix the event');
    return { timeMs, ...claim, kind: { $case: 'key', value: { keysym, pressed: k.pressed } } };
  }
  const m = v.mouse;
  if (!isObject(m)) throw new LineError('"mouse" must be an object', 'write {"x":N,"y":N,"buttonMask":N}');
  for (const f of Object.keys(m)) {
    if (f !== 'x' && f !== 'y' && f !== 'buttonMask') throw new LineError(`unknown mouse field "${f}"`, 'a mouse event has x, y and buttonMask');
  }
  const x = intField(m, 'x', -0x80000000, 0x7fffffff, 'mouse');
  const y = intField(m, 'y', -0x80000000, 0x7fffffff, 'mouse');
  const buttonMask = intField(m, 'buttonMask', 0, 31, 'mouse');
  return { timeMs, ...claim, kind: { $case: 'mouse', value: { x, y, buttonMask } } };
}

/**
 * The page's own time of the event, when the line has one. Only its range is checked: it is a
 * claim the scorer's client-time rule judges, and a recording keeps what a hostile client sent too.
 */
function clientTimeOf(v: Record<string, unknown>): { clientTimeMs?: number } {
  if (!('clientTimeMs' in v)) return {};
  const c = v.clientTimeMs;
  if (typeof c !== 'number' || !Number.isFinite(c) || c < 0 || c > MAX_TIME_MS) {
    throw new LineError(`clientTimeMs must be a number of milliseconds from 0 to ${MAX_TIME_MS} (got ${JSON.stringify(c)})`, "fix the page's time or remove it");
  }
  return { clientTimeMs: c };
}

/** The header as one line (with its newline). */
export function formatHeader(header: RecordingHeader): string {
  return JSON.stringify({ ...header, format: RECORDING_FORMAT }) + '\n';
}

/** One event as one line (with its newline), in the proto's JSON shape. */
export function formatEvent(e: InputEvent): string {
  const k = e.kind;
  if (k === undefined) throw new LineError('an event needs "key" or "mouse"', 'write one key or mouse event per line');
  const time = e.clientTimeMs === undefined ? `"timeMs":${e.timeMs}` : `"timeMs":${e.timeMs},"clientTimeMs":${e.clientTimeMs}`;
  if (k.$case === 'key') {
    return `{${time},"key":{"keysym":${k.value.keysym},"pressed":${k.value.pressed}}}\n`;
  }
  return `{${time},"mouse":{"x":${k.value.x},"y":${k.value.y},"buttonMask":${k.value.buttonMask}}}\n`;
}
