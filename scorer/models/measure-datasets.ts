/**
 * The baseline's per-window figures on the development datasets (`vdiguard measure-baseline`).
 * Aalto: windows of N keystrokes, the first 250 keystrokes enrol (5 windows of 50), the rest are
 * genuine; one window of each other participant is an impostor. SapiMouse: the 3-minute session
 * enrols, windows of the 1-minute session are genuine; 3 windows of each other user are impostors.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { importAaltoFile } from '../datasets/aalto.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { KeystrokeExtractor } from '../features/keystroke.js';
import { MouseExtractor } from '../features/mouse.js';
import { windowsOf } from '../features/windows.js';
import { ScaledManhattan } from './scaled-manhattan.js';
import { measureWindows, type UserWindows, type WindowMeasure } from './measure.js';

export async function measureAalto(dir: string, users: number, windowKeys: number): Promise<WindowMeasure> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('_keystrokes.txt')).sort().slice(0, users);
  const enrolN = Math.max(3, Math.ceil(250 / windowKeys));
  const uw: UserWindows[] = [];
  for (const f of files) {
    const r = await importAaltoFile(join(dir, f));
    const w = windowsOf(r.events, new KeystrokeExtractor({ windowKeys })).map((x) => x.vector);
    if (w.length > enrolN) uw.push({ id: r.header.agent, enrol: w.slice(0, enrolN), test: w.slice(enrolN) });
  }
  return measureWindows(uw, new ScaledManhattan());
}

export async function measureSapimouse(dir: string, users: number, windowActions: number): Promise<WindowMeasure> {
  const uw: UserWindows[] = [];
  const names = (await readdir(dir)).filter((u) => /^user\d+$/.test(u)).sort().slice(0, users);
  for (const u of names) {
    const files = (await readdir(join(dir, u))).sort();
    const three = files.find((f) => f.endsWith('3min.csv'));
    const one = files.find((f) => f.endsWith('1min.csv'));
    if (!three || !one) continue;
    const we = windowsOf((await importSapimouseFile(join(dir, u, three))).events, new MouseExtractor({ windowActions }));
    const wt = windowsOf((await importSapimouseFile(join(dir, u, one))).events, new MouseExtractor({ windowActions }));
    if (we.length >= 3 && wt.length > 0) uw.push({ id: u, enrol: we.map((w) => w.vector), test: wt.map((w) => w.vector) });
  }
  return measureWindows(uw, new ScaledManhattan(), 3);
}
