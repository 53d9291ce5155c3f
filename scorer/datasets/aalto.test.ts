import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { convertAalto, importAaltoFile } from './aalto.js';
import { extractMembers, listMembers, skipReason } from './archive.js';
import { KeystrokeExtractor } from '../features/keystroke.js';
import { windowsOf } from '../features/windows.js';
import { ScaledManhattan } from '../models/scaled-manhattan.js';
import { measureWindows, type UserWindows } from '../models/measure.js';

const HEADER = 'PARTICIPANT_ID\tTEST_SECTION_ID\tSENTENCE\tUSER_INPUT\tKEYSTROKE_ID\tPRESS_TIME\tRELEASE_TIME\tLETTER\tKEYCODE';
const row = (press: number, release: number, letter: string, code: number) => `7\t1\tHi\tHi\t1\t${press}\t${release}\t${letter}\t${code}`;

test('rows become press/release events with keysyms, relative ms, skipped rows counted', () => {
  const text = [
    HEADER,
    row(1000, 1100, 'SHIFT', 16),
    row(1050, 1090, 'H', 72),
    row(1200, 1280, '', 73), // empty label: by key code -> i
    row(1300, 1250, 'x', 88), // negative dwell
    '7\t1\tHi\tHi\t1\tnot-a-time',
    row(1400, 1450, 'BKSP', 8),
    row(1500, 1550, 'é', 0),
    row(1600, 1650, 'ж', 0),
  ].join('\n');
  const r = convertAalto(text, 'x/7_keystrokes.txt');
  assert.equal(r.header.agent, '7');
  assert.equal(r.header.source, 'aalto');
  assert.equal(r.rows, 8);
  assert.deepEqual(r.skipped, { negativeDwell: 1, malformed: 1 });
  const keys = r.events.map((e) => (e.kind?.$case === 'key' ? [e.timeMs, e.kind.value.keysym, e.kind.value.pressed] : []));
  assert.deepEqual(keys.slice(0, 4), [
    [0, 0xffe1, true],
    [50, 0x48, true],
    [90, 0x48, false],
    [100, 0xffe1, false],
  ]);
  assert.deepEqual(keys[4], [200, 0x69, true]);
  assert.deepEqual(keys[6], [400, 0xff08, true]);
  assert.deepEqual(keys[8], [500, 0xe9, true]);
  assert.deepEqual(keys[10], [600, 0x01000436, true]);
});

test('a file that is not an Aalto file is refused with what to pass', () => {
  assert.throws(() => convertAalto('client timestamp,button\n', 'f.csv'), /f\.csv: not an Aalto keystroke file/);
});

const skip = skipReason('aalto');

test('real participants: genuine windows score below other participants (baseline AUC)', { skip }, async () => {
  const members = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).sort().slice(0, 40);
  const dir = await extractMembers('aalto', members);
  const users: UserWindows[] = [];
  let skippedRows = 0;
  for (const m of members) {
    const r = await importAaltoFile(join(dir, m));
    skippedRows += Object.values(r.skipped).reduce((a, b) => a + b, 0);
    assert.ok(r.events.length >= 2 * (r.rows - 20), `${m}: most rows become two events`);
    const w = windowsOf(r.events, new KeystrokeExtractor({ windowKeys: 50 })).map((x) => x.vector);
    if (w.length >= 6) users.push({ id: r.header.agent, enrol: w.slice(0, 5), test: w.slice(5) });
  }
  assert.ok(users.length >= 30, `${users.length} participants with enough windows`);
  assert.ok(skippedRows < 100);
  const m = measureWindows(users, new ScaledManhattan());
  // Measured about 0.94 on these participants; chance is 0.5.
  assert.ok(m.auc > 0.85, `per-window AUC ${m.auc}`);
  assert.ok(m.eer < 0.25, `EER ${m.eer}`);
});
