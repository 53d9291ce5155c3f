/**
 * `vdiguard eval relay-local`: how often the remote-control test would suspect local input, over
 * more hours than the rig can play in real time. A simulation, named as such: every recorded
 * pointer path of the mouse datasets played as the rig's local devices play it (rig/playback.ts,
 * `asDevice`), each report stamped in whole milliseconds up to `stampNoiseMs` late (the rig's own
 * XTest player and X server measure 0.5-1.6 ms off the path, docs/evaluation-notebook.md), through
 * the production test. The rig's real local stretches check that the simulation is no kinder.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from '../lib/random.js';
import { importBalabitFile, importSapimouseFile } from '../scorer/datasets/mouse-datasets.js';
import { DEFAULT_REMOTE_CONTROL_POLICY, RemoteControlTest, type RemoteControlPolicy } from '../scorer/remote-control/pointer-timing.js';
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
  readonly windows: number;
  readonly suspected: number;
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
    let windows = 0;
    let suspected = 0;
    for (const events of paths) {
      const actions = asDevice(actionsOf(events, AREA), hz);
      const test = new RemoteControlTest(o.policy ?? DEFAULT_REMOTE_CONTROL_POLICY);
      let last = -Infinity;
      for (const a of actions) {
        if ('key' in a) continue;
        const t = Math.max(last, Math.floor(a.atMs + o.stampNoiseMs * random()));
        last = t;
        if (test.push({ timeMs: t, x: a.x, y: a.y })) suspected++;
      }
      windows += test.windowsJudged;
      const pointer = actions.filter((a) => !('key' in a));
      if (pointer.length > 1) ms += (pointer[pointer.length - 1] as { atMs: number }).atMs - (pointer[0] as { atMs: number }).atMs;
    }
    const hours = ms / 3.6e6;
    return { deviceHz: hz, sessions: paths.length, hours, windows, suspected, per100h: (100 * suspected) / hours };
  });
  const lines = [`local devices simulated from ${paths.length} recorded pointer paths, stamps up to ${o.stampNoiseMs} ms late, scale ${(o.policy ?? DEFAULT_REMOTE_CONTROL_POLICY).scaleMs} ms`];
  for (const r of rows) lines.push(`  ${String(r.deviceHz).padStart(5)} Hz: ${r.hours.toFixed(1)} h, ${r.windows} windows, suspected ${r.suspected} times (${r.per100h.toFixed(2)} per 100 h)`);
  return { rows, text: lines.join('\n') };
}
