/**
 * `vdiguard eval relay-local`: how often the remote-control tests would suspect local input, over
 * more hours than the rig can play in real time. A simulation, named as such: every recorded
 * pointer path of the mouse datasets played as the rig's local devices play it (rig/playback.ts,
 * `asDevice`), each report stamped in whole milliseconds up to `stampNoiseMs` late (the rig's own
 * XTest player and X server measure 0.5-1.6 ms off the path, docs/evaluation-notebook.md), through
 * the production tests. The rig's real local stretches check that the simulation is no kinder.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from '../lib/random.js';
import { importBalabitFile, importSapimouseFile } from '../scorer/datasets/mouse-datasets.js';
import { DEFAULT_REMOTE_CONTROL_POLICY, RemoteControlDetector, type RemoteControlPolicy } from '../scorer/remote-control/detector.js';
import type { InputEvent } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { actionsOf, asDevice } from './playback.js';

export interface LocalHoursOptions {
  readonly sapimouse?: string;
  readonly balabit?: string;
  readonly deviceHz: readonly number[];
  readonly stampNoiseMs: number;
  readonly policy?: RemoteControlPolicy;
  readonly seed: number;
}

export interface LocalHoursRow {
  readonly deviceHz: number;
  readonly sessions: number;
  /** Hours of pointer activity (pauses over a second cut to a second, as the rig plays them). */
  readonly hours: number;
  /** Windows judged by the path test and by the report-rhythm test. */
  readonly windows: { readonly path: number; readonly rhythm: number };
  /** Paths suspected, by the test that suspected them. */
  readonly suspected: { readonly path: number; readonly rhythm: number };
  readonly per100h: number;
}

/** Where recorded paths are played: the rig's desktop view on its 1280x800 screen. */
const AREA = { x: 20, y: 151, width: 1231, height: 628 };

async function recordedPaths(o: LocalHoursOptions): Promise<InputEvent[][]> {
  const paths: InputEvent[][] = [];
  if (o.sapimouse) {
    for (const user of (await readdir(o.sapimouse)).filter((u) => /^user\d+$/.test(u)).sort()) {
      for (const f of (await readdir(join(o.sapimouse, user))).filter((f) => f.endsWith('.csv')).sort()) paths.push((await importSapimouseFile(join(o.sapimouse, user, f))).events);
    }
  }
  if (o.balabit) {
    const root = join(o.balabit, 'training_files');
    for (const user of (await readdir(root)).sort()) {
      for (const f of (await readdir(join(root, user))).sort()) paths.push((await importBalabitFile(join(root, user, f))).events);
    }
  }
  return paths;
}

export async function evalLocalHours(o: LocalHoursOptions): Promise<{ rows: LocalHoursRow[]; text: string }> {
  const paths = await recordedPaths(o);
  if (paths.length === 0) throw new Error('no recorded pointer paths: give --mouse and/or --balabit');
  const random = seededRandom(o.seed);
  const rows = o.deviceHz.map((hz): LocalHoursRow => {
    let ms = 0;
    const windows = { path: 0, rhythm: 0 };
    const suspected = { path: 0, rhythm: 0 };
    for (const events of paths) {
      const actions = asDevice(actionsOf(events, AREA), hz);
      const detector = new RemoteControlDetector(o.policy ?? DEFAULT_REMOTE_CONTROL_POLICY);
      let last = -Infinity;
      for (const a of actions) {
        if ('key' in a) continue;
        const t = Math.max(last, Math.floor(a.atMs + o.stampNoiseMs * random()));
        last = t;
        const found = detector.push({ timeMs: t, x: a.x, y: a.y });
        if (found) suspected[found.test]++;
      }
      windows.path += detector.windowsJudged.path;
      windows.rhythm += detector.windowsJudged.rhythm;
      const pointer = actions.filter((a) => !('key' in a));
      if (pointer.length > 1) ms += (pointer[pointer.length - 1] as { atMs: number }).atMs - (pointer[0] as { atMs: number }).atMs;
    }
    const hours = ms / 3.6e6;
    return { deviceHz: hz, sessions: paths.length, hours, windows, suspected, per100h: (100 * (suspected.path + suspected.rhythm)) / hours };
  });
  const lines = [`local devices simulated from ${paths.length} recorded pointer paths, stamps up to ${o.stampNoiseMs} ms late`];
  for (const r of rows) {
    lines.push(
      `  ${String(r.deviceHz).padStart(5)} Hz: ${r.hours.toFixed(1)} h, ${r.windows.path} path windows and ${r.windows.rhythm} rhythm windows, ` +
        `suspected ${r.suspected.path + r.suspected.rhythm} times (${r.suspected.path} on the path, ${r.suspected.rhythm} on the rhythm; ${r.per100h.toFixed(2)} per 100 h)`,
    );
  }
  return { rows, text: lines.join('\n') };
}
