/**
 * The mouse protocols of `vdiguard eval`.
 * - balabit: enrol each user on its training_files sessions (windows of the pipeline's size); every
 *   test session listed in labels.csv is one window of all its actions, scored against the user
 *   whose folder it is in. One global ROC AUC and EER over the labelled sessions.
 * - sapimouse: enrol each user on the 3-minute session; the 1-minute session of every user is cut
 *   into 15-second slices, each one window, scored against every enrolled user. With
 *   `outsideImpostors`, the users are split in two halves, each a deployment of its own: a user's
 *   population (and the action network it is scored with) is its own half, and its impostors come
 *   from the other half only, so no classifier has trained against the impostors it is tested with
 *   (as with attackers from outside the deployment).
 * Rows with population networks first train the mouse action network on the enrolled users'
 * windows, as `vdiguard train` does once agents have enrolled, and fit every template with it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import type { JsonValue } from '../../lib/json.js';
import { importBalabitFile, importSapimouseFile, parseBalabitLabels } from '../datasets/mouse-datasets.js';
import type { PipelineFactory } from '../models/pipelines.js';
import { trainActionNetwork, type ActionNetworkTraining } from '../models/action-network.js';
import { initTf } from '../models/tf/runtime.js';
import { measuredOverLink, type Link } from './jitter.js';
import { frameAlignedPointer } from './pointer-rate.js';
import { forgeOverLink, learnForgerProfile, type ForgerOptions, type ForgerProfile } from './forger.js';
import type { Progress, ScoredRow } from './summary.js';
import { TimingTally, type TimingSummary } from './timing-tally.js';
import { pipelineOf, vectorsOf, wholeWindow } from './windows.js';

export interface EvalRowSpec {
  readonly row: string;
  readonly factory: PipelineFactory;
  /** Train the mouse action network for this row (the production one), with these options. */
  readonly actionNetwork?: ActionNetworkTraining;
}

export interface MouseEvalOptions extends Link {
  readonly data: string;
  readonly rows: readonly EvalRowSpec[];
  readonly progress: Progress;
  /** Users to evaluate (default all). */
  readonly users?: number;
  /**
   * sapimouse: every impostor's client forges its claimed times toward the user it is scored
   * against (forger.ts), learned from that user's recorded enrolment; needs client times.
   */
  readonly forge?: Partial<ForgerOptions>;
  /** Pointer moves reduced to this many animation frames per second, as a page without coalesced events sees them (pointer-rate.ts); undefined: as recorded. */
  readonly pointerHz?: number;
  /** With pointerHz: each frame's earlier moves sent as timing-only samples before its move, as the page sends coalesced points. */
  readonly pointerSamples?: boolean;
}

/** A recording's events as the protocol's page would have sent them. */
function asSent(o: MouseEvalOptions, events: InputEvent[]): InputEvent[] {
  return o.pointerHz === undefined ? events : frameAlignedPointer(events, o.pointerHz, o.pointerSamples === true);
}

/** Fewest actions a test window needs to be scored at all. */
const MIN_ACTIONS = 3;

async function userDirs(dir: string, limit?: number): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new VdiguardError(
      'not-found',
      `cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass the folder extracted from the dataset archive (for Balabit the one holding training_files, test_files and labels.csv)`,
    );
  }
  const names = entries.filter((u) => /^user\d+$/.test(u)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  if (names.length === 0) throw new VdiguardError('not-found', `${dir} holds no userN folders; pass the folder extracted from the dataset archive`);
  return names.slice(0, limit ?? names.length);
}

/** Each user's enrolment windows from the pipeline. */
function enrolWindows(factory: PipelineFactory, events: readonly InputEvent[][]): number[][] {
  const p = pipelineOf(factory, 'mouse');
  return events.flatMap((ev) => vectorsOf(p, ev));
}

/**
 * The row's factory for a deployment of these users: with the mouse action network trained on
 * their enrolment windows when the row has one, as `vdiguard train` would.
 */
function deployment(spec: EvalRowSpec, users: readonly string[], windows: readonly number[][][], progress: Progress): PipelineFactory {
  // One user is no population: nothing to tell apart.
  if (!spec.actionNetwork || users.length < 2) return spec.factory;
  progress(`training the mouse action network on ${users.length} users`);
  const actionNetwork = trainActionNetwork(users.map((agentId, i) => ({ agentId, windows: windows[i] ?? [] })), { progress, ...spec.actionNetwork });
  return (o) => spec.factory({ ...o, actionNetwork });
}

/**
 * Templates of every user, each fitted with other users' enrolment windows as the background
 * (population negatives), as a deployment fits an agent against its other enrolled agents; by
 * default all the others, or those `inPopulation(i, j)` allows.
 */
function fitAll(factory: PipelineFactory, users: readonly string[], windows: readonly number[][][], inPopulation: (user: number, other: number) => boolean = (i, j) => i !== j): (JsonValue | null)[] {
  const p = pipelineOf(factory, 'mouse');
  return windows.map((own, i) => {
    const others = windows.filter((_, j) => j !== i && inPopulation(i, j));
    try {
      return p.model.fit(own, { background: { agents: others.length, windows: others.flat() }, agentId: users[i] as string });
    } catch (err) {
      if (err instanceof VdiguardError && err.code === 'failed-precondition') return null;
      throw err;
    }
  });
}

export interface BalabitResult {
  readonly rows: ScoredRow[];
  readonly sessions: number;
  /** Labelled sessions with too few actions to score (scored 0, "no evidence either way"). */
  readonly unscored: number;
  /** What the client-time rule did, by kind of stream. */
  readonly timing: { readonly enrolment: TimingSummary; readonly genuine: TimingSummary; readonly impostor: TimingSummary };
}

export async function evalBalabit(o: MouseEvalOptions & { timestamp: 'client' | 'record' }): Promise<BalabitResult> {
  await initTf();
  const labels = parseBalabitLabels(await readFile(join(o.data, 'labels.csv'), 'utf8'), join(o.data, 'labels.csv'));
  const users = await userDirs(join(o.data, 'training_files'), o.users);
  const rows: ScoredRow[] = o.rows.map((r) => ({ row: r.row, model: pipelineOf(r.factory, 'mouse').model.name, genuine: [], impostor: [] }));
  let sessions = 0;
  let unscored = 0;
  let seed = 1;
  const timing = { enrolment: new TimingTally(), genuine: new TimingTally(), impostor: new TimingTally() };
  const train: InputEvent[][][] = [];
  for (const user of users) {
    const sessionsOfUser: InputEvent[][] = [];
    for (const f of (await readdir(join(o.data, 'training_files', user))).sort()) {
      const r = await importBalabitFile(join(o.data, 'training_files', user, f), { timestamp: o.timestamp });
      sessionsOfUser.push(measuredOverLink(asSent(o, r.events), o, seed++, timing.enrolment));
    }
    train.push(sessionsOfUser);
  }
  const factories = o.rows.map((spec) => {
    const windows = train.map((t) => enrolWindows(spec.factory, t));
    const factory = deployment(spec, users, windows, o.progress);
    return { factory, templates: fitAll(factory, users, windows) };
  });
  o.progress(`balabit: ${users.length} users enrolled from training_files`);
  for (const [u, user] of users.entries()) {
    const tests = (await readdir(join(o.data, 'test_files', user))).filter((f) => labels.has(f)).sort();
    for (const f of tests) {
      const r = await importBalabitFile(join(o.data, 'test_files', user, f), { timestamp: o.timestamp });
      const illegal = labels.get(f) as boolean;
      const events = measuredOverLink(asSent(o, r.events), o, seed++, illegal ? timing.impostor : timing.genuine);
      sessions++;
      let missing = false;
      factories.forEach(({ factory, templates }, i) => {
        const t = templates[u] ?? null;
        const v = wholeWindow(factory, 'mouse', events, MIN_ACTIONS);
        let s = t !== null && v !== undefined ? pipelineOf(factory, 'mouse').model.score(t, v) : Number.NaN;
        if (!Number.isFinite(s)) {
          missing = true;
          s = 0;
        }
        (illegal ? rows[i]!.impostor : rows[i]!.genuine).push(s);
      });
      if (missing) unscored++;
    }
    o.progress(`balabit: ${user}: ${tests.length} labelled test sessions scored`);
  }
  return { rows, sessions, unscored, timing: { enrolment: timing.enrolment.summary(), genuine: timing.genuine.summary(), impostor: timing.impostor.summary() } };
}

/** Slices of `sliceMs` of the events (from the first event), each with at least one event. */
export function timeSlices(events: readonly InputEvent[], sliceMs: number): InputEvent[][] {
  if (events.length === 0) return [];
  const start = (events[0] as InputEvent).timeMs;
  const out: InputEvent[][] = [];
  for (const e of events) {
    const k = Math.floor((e.timeMs - start) / sliceMs);
    (out[k] ??= []).push(e);
  }
  return out.filter((s) => s !== undefined);
}

export interface SapimouseResult {
  readonly rows: ScoredRow[];
  readonly users: number;
  readonly slices: number;
  /** What the client-time rule did, by kind of stream (each test session is sliced whole; forged: impostors' sessions forged toward a user). */
  readonly timing: { readonly enrolment: TimingSummary; readonly test: TimingSummary; readonly forged?: TimingSummary };
}

export async function evalSapimouse(o: MouseEvalOptions & { sliceSeconds: number; outsideImpostors?: boolean }): Promise<SapimouseResult> {
  await initTf();
  const users = await userDirs(o.data, o.users);
  const enrol: { user: string; events: InputEvent[] }[] = [];
  const probes: { user: string; slice: InputEvent[] }[] = [];
  /** Per user, what forging needs: its test session as recorded and its link seed, its profile as a forger learns it. */
  const recorded: { test: InputEvent[]; seed: number; profile: ForgerProfile }[] = [];
  let seed = 1;
  const timing = { enrolment: new TimingTally(), test: new TimingTally(), forged: new TimingTally() };
  if (o.forge && o.clientTimes !== true) throw new VdiguardError('invalid-argument', 'forging rewrites the client times the page claims: run sapimouse with client times (--client-times)');
  for (const u of users) {
    const files = (await readdir(join(o.data, u))).sort();
    const three = files.find((f) => f.endsWith('3min.csv'));
    const one = files.find((f) => f.endsWith('1min.csv'));
    if (!three || !one) continue;
    const enrolment = asSent(o, (await importSapimouseFile(join(o.data, u, three))).events);
    enrol.push({ user: u, events: measuredOverLink(enrolment, o, seed++, timing.enrolment) });
    const test = asSent(o, (await importSapimouseFile(join(o.data, u, one))).events);
    if (o.forge) recorded.push({ test, seed, profile: learnForgerProfile(enrolment, o.forge) });
    for (const slice of timeSlices(measuredOverLink(test, o, seed++, timing.test), o.sliceSeconds * 1000)) probes.push({ user: u, slice });
  }
  o.progress(`sapimouse: ${enrol.length} users, ${probes.length} slices of ${o.sliceSeconds} s`);
  const rows: ScoredRow[] = [];
  const half = (u: number): number => (o.outsideImpostors && u >= enrol.length / 2 ? 1 : 0);
  const halfOf = new Map(enrol.map((e, u) => [e.user, half(u)]));
  const halves = o.outsideImpostors ? [0, 1] : [0];
  for (const spec of o.rows) {
    const row: ScoredRow = { row: spec.row, model: pipelineOf(spec.factory, 'mouse').model.name, genuine: [], impostor: [] };
    const vectors = probes.map((x) => wholeWindow(spec.factory, 'mouse', x.slice, MIN_ACTIONS));
    const windows = enrol.map((e) => enrolWindows(spec.factory, [e.events]));
    for (const h of halves) {
      // Each half is a deployment: its own population and network, impostors from the other half.
      const members = enrol.map((_, u) => u).filter((u) => half(u) === h);
      const users = members.map((u) => (enrol[u] as { user: string }).user);
      const factory = deployment(spec, users, members.map((u) => windows[u] as number[][]), o.progress);
      const p = pipelineOf(factory, 'mouse');
      const templates = fitAll(factory, users, members.map((u) => windows[u] as number[][]));
      users.forEach((user, k) => {
        const template = templates[k] ?? null;
        if (template === null) return;
        probes.forEach((x, i) => {
          const v = vectors[i];
          const genuine = x.user === user;
          if (v === undefined || (!genuine && (o.forge || (o.outsideImpostors && halfOf.get(x.user) === h)))) return;
          (genuine ? row.genuine : row.impostor).push(p.model.score(template, v));
        });
        if (!o.forge) return;
        // Each impostor's session again, its claims forged toward this user (counted once, on the first row).
        const agent = members[k] as number;
        const tally = spec === o.rows[0] ? timing.forged : new TimingTally();
        recorded.forEach((r, x) => {
          if (x === agent || (o.outsideImpostors && half(x) === h)) return;
          const forged = measuredOverLink(r.test, o, r.seed, tally, (sent) => forgeOverLink(sent, (recorded[agent] as { profile: ForgerProfile }).profile, o.forge));
          for (const slice of timeSlices(forged, o.sliceSeconds * 1000)) {
            const v = wholeWindow(spec.factory, 'mouse', slice, MIN_ACTIONS);
            if (v !== undefined) row.impostor.push(p.model.score(template, v));
          }
        });
      });
    }
    o.progress(`sapimouse: ${spec.row} (${row.model}) scored`);
    rows.push(row);
  }
  return { rows, users: enrol.length, slices: probes.length, timing: { enrolment: timing.enrolment.summary(), test: timing.test.summary(), ...(o.forge ? { forged: timing.forged.summary() } : {}) } };
}
