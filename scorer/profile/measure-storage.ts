/**
 * What storing window values with STORED_DIGITS significant digits costs and saves:
 *
 *   node dist/scorer/profile/measure-storage.js <extracted aalto-keystrokes> <extracted sapimouse>
 *
 * Prints one JSON object: the JSON bytes of a mature profile version (maxWindows keystroke and
 * mouse windows of the production pipelines, both templates) with full and with rounded values,
 * and per-window AUC of templates fitted on full and on rounded enrolment windows, each user
 * against the other users as population (12 Aalto participants, 60/40 split; 12 SapiMouse users,
 * 3-minute enrolment, 1-minute test).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { importAaltoFile } from '../datasets/aalto.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { windowsOf } from '../features/windows.js';
import { rocAuc } from '../models/metrics.js';
import { defaultPipelines, type ModalityPipeline } from '../models/pipelines.js';
import { roundWindow } from './profile.js';

const USERS = 12;
const MAX_WINDOWS = 400;
const BACKGROUND_WINDOWS = 10;

interface User {
  readonly enrol: number[][];
  readonly test: number[][];
}

type Rounding = (w: number[][]) => number[][];
const full: Rounding = (w) => w;
const rounded: Rounding = (w) => w.map(roundWindow);

function auc(p: ModalityPipeline, users: readonly User[], round: Rounding): number {
  const genuine: number[] = [];
  const impostor: number[] = [];
  users.forEach((u, i) => {
    const others = users.filter((_, j) => j !== i).map((o) => o.enrol.slice(0, BACKGROUND_WINDOWS));
    const t = p.model.fit(round(u.enrol), { background: { agents: others.length, windows: others.flat() } });
    genuine.push(...u.test.map((w) => p.model.score(t, w)));
    users.forEach((o, j) => {
      if (j !== i) impostor.push(...o.test.slice(0, 3).map((w) => p.model.score(t, w)));
    });
  });
  return rocAuc(genuine.filter(Number.isFinite), impostor.filter(Number.isFinite));
}

/** Bytes of one profile version: the first MAX_WINDOWS windows of the later users, fitted against the first ones. */
function versionBytes(keystroke: ModalityPipeline, keys: number[][][], mouse: ModalityPipeline, moves: number[][][], round: Rounding): number {
  const part = (p: ModalityPipeline, perUser: number[][][]) => {
    const windows = round(perUser.slice(BACKGROUND_WINDOWS).flat().slice(0, MAX_WINDOWS));
    const background = perUser.slice(0, BACKGROUND_WINDOWS);
    const template = p.model.fit(windows, { background: { agents: background.length, windows: background.flat() } });
    return { units: 0, windows, model: p.model.name, template };
  };
  return Buffer.byteLength(JSON.stringify({ keystroke: part(keystroke, keys), mouse: part(mouse, moves) }));
}

async function main(aaltoDir: string, sapimouseDir: string): Promise<void> {
  const [keystroke, mouse] = defaultPipelines() as [ModalityPipeline, ModalityPipeline];
  const keys: number[][][] = [];
  for (const f of readdirSync(aaltoDir).sort()) {
    keys.push(windowsOf((await importAaltoFile(join(aaltoDir, f))).events, keystroke.createExtractor()).map((w) => w.vector));
    if (keys.slice(BACKGROUND_WINDOWS).flat().length >= MAX_WINDOWS && keys.length >= USERS) break;
  }
  const moves: number[][][] = [];
  const mouseUsers: User[] = [];
  for (let u = 1; moves.slice(BACKGROUND_WINDOWS).flat().length < MAX_WINDOWS || u <= USERS; u++) {
    const dir = join(sapimouseDir, `user${u}`);
    const files = readdirSync(dir);
    const read = async (suffix: string) =>
      windowsOf((await importSapimouseFile(join(dir, files.find((f) => f.endsWith(suffix)) as string))).events, mouse.createExtractor()).map((w) => w.vector);
    const enrol = await read('3min.csv');
    moves.push(enrol);
    if (u <= USERS) mouseUsers.push({ enrol, test: await read('1min.csv') });
  }
  const keyUsers = keys.slice(0, USERS).map((w) => {
    const cut = Math.floor(w.length * 0.6);
    return { enrol: w.slice(0, cut), test: w.slice(cut) };
  });
  process.stdout.write(
    JSON.stringify({
      versionBytes: { full: versionBytes(keystroke, keys, mouse, moves, full), rounded: versionBytes(keystroke, keys, mouse, moves, rounded) },
      aaltoAuc: { full: auc(keystroke, keyUsers, full), rounded: auc(keystroke, keyUsers, rounded) },
      sapimouseAuc: { full: auc(mouse, mouseUsers, full), rounded: auc(mouse, mouseUsers, rounded) },
    }) + '\n',
  );
}

const [aalto, sapimouse] = process.argv.slice(2);
if (!aalto || !sapimouse) {
  process.stderr.write('usage: node dist/scorer/profile/measure-storage.js <extracted aalto-keystrokes folder> <extracted sapimouse folder>\n');
  process.exit(2);
}
await main(aalto, sapimouse);
