/**
 * Aalto "136M keystrokes" participant files (tab-separated, one row per keystroke with Unix-ms
 * press and release times) to recordings: each row becomes a press and a release event.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { aaltoKeysym } from './keysyms.js';
import { countSkip, textLines, type ImportResult } from './types.js';

const HEADER_START = 'PARTICIPANT_ID\tTEST_SECTION_ID';

/** Converts the text of one participant file. `name` names it in errors and the header. */
export function convertAalto(text: string, name: string): ImportResult {
  const lines = textLines(text);
  if (lines.length === 0 || !(lines[0] as string).startsWith(HEADER_START)) {
    throw new VdiguardError(
      'invalid-argument',
      `${name}: not an Aalto keystroke file (the first line should start with "PARTICIPANT_ID<TAB>TEST_SECTION_ID"); pass a <id>_keystrokes.txt file of the aalto-keystrokes dataset`,
    );
  }
  const skipped: Record<string, number> = {};
  const rows: { press: number; release: number; keysym: number }[] = [];
  let participant = '';
  for (let i = 1; i < lines.length; i++) {
    const f = (lines[i] as string).split('\t');
    const n = f.length;
    if (n < 9) {
      countSkip(skipped, 'malformed');
      continue;
    }
    // Read from the end: the sentence columns before may in principle hold tabs.
    const keyCode = Number(f[n - 1]);
    const letter = f[n - 2] as string;
    const release = Number(f[n - 3]);
    const press = Number(f[n - 4]);
    if (!Number.isFinite(press) || !Number.isFinite(release) || press <= 0 || f[n - 4] === '' || f[n - 3] === '') {
      countSkip(skipped, 'malformed');
      continue;
    }
    if (release < press) {
      countSkip(skipped, 'negativeDwell');
      continue;
    }
    const keysym = aaltoKeysym(letter, Number.isInteger(keyCode) ? keyCode : -1);
    if (keysym === undefined) {
      countSkip(skipped, 'unknownKey');
      continue;
    }
    if (participant === '') participant = f[0] as string;
    rows.push({ press, release, keysym });
  }
  const events = keyEventsFromRows(rows);
  const agent = participant !== '' ? participant : basename(name).replace(/_keystrokes\.txt$/, '');
  return {
    header: { format: 'vdiguard.recording.v1', agent, source: 'aalto', session: basename(name) },
    events,
    rows: lines.length - 1,
    skipped,
  };
}

/** Press and release events of keystroke rows, in time order, times relative to the first press. */
export function keyEventsFromRows(rows: readonly { press: number; release: number; keysym: number }[]): InputEvent[] {
  let t0 = Infinity;
  for (const r of rows) t0 = Math.min(t0, r.press);
  const events: { e: InputEvent; order: number }[] = [];
  for (const r of rows) {
    events.push({ e: { timeMs: r.press - t0, kind: { $case: 'key', value: { keysym: r.keysym, pressed: true } } }, order: events.length });
    events.push({ e: { timeMs: r.release - t0, kind: { $case: 'key', value: { keysym: r.keysym, pressed: false } } }, order: events.length });
  }
  events.sort((a, b) => a.e.timeMs - b.e.timeMs || a.order - b.order);
  return events.map((x) => x.e);
}

/** Reads one participant file; invalid UTF-8 is decoded leniently (replacement characters). */
export async function importAaltoFile(file: string): Promise<ImportResult> {
  const bytes = await readInput(file);
  return convertAalto(new TextDecoder('utf-8', { fatal: false }).decode(bytes), file);
}

/** Reads a dataset file with an error that says what is wrong. */
export async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VdiguardError('not-found', `${file}: no such file`);
    if (code === 'EISDIR') throw new VdiguardError('invalid-argument', `${file}: is a folder; pass a file`);
    throw new VdiguardError('invalid-argument', `${file}: cannot read (${(err as Error).message})`);
  }
}
