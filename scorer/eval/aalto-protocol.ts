/**
 * The TypeNet protocol on Aalto free text (Acien et al., T-BIOM 2022), through the production
 * keystroke pipeline: per participant, the first 5 sequences of 50 keystrokes enrol; the
 * participant's remaining sequences of L keystrokes (L = 50, 100, 200) are genuine attempts, and
 * the first sequence of L keystrokes of each other evaluated participant is an impostor attempt.
 * One global EER and AUC per L. Anything trained on a population must be trained on `--population`
 * participants only, which are checked to be disjoint from the evaluated ones: KeyMlp's negatives
 * are their enrolment sequences, and the keystroke embedding network trains on all their keystrokes
 * (one long window per participant, from which it crops its training sequences).
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { windowsOf } from '../features/windows.js';
import type { JsonValue } from '../../lib/json.js';
import { trainKeyEmbedding, type KeyEmbeddingNetwork, type KeyEmbeddingTraining } from '../models/keystroke-embedding.js';
import { defaultPipelines } from '../models/pipelines.js';
import { initTf } from '../models/tf/runtime.js';
import { measuredOverLink, POPULATION_JITTER_SEED, type Link } from './jitter.js';
import type { EvalRowSpec } from './mouse-protocols.js';
import type { Progress, ScoredRow } from './summary.js';
import { TimingTally, type TimingSummary } from './timing-tally.js';
import { pipelineOf, vectorsOf, wholeWindow } from './windows.js';

export const ENROL_SEQUENCES = 5;
export const ENROL_KEYS = 50;

export interface AaltoEvalOptions extends Link {
  readonly data: string;
  readonly population?: string;
  readonly rows: readonly EvalRowSpec[];
  readonly lengths: readonly number[];
  readonly users?: number;
  /** Population participants to use (default 200). */
  readonly populationUsers?: number;
  /** Training of the keystroke embedding network on the population; false: no network. */
  readonly keyEmbedding?: KeyEmbeddingTraining | false;
  readonly progress: Progress;
}

/** What the population's network cost, when one was trained. */
export interface NetworkFigures {
  readonly parameters: number;
  /** Weights, float32. */
  readonly bytes: number;
  readonly trainSeconds: number;
  /** Embedding one 50-keystroke window on its own, as the scorer does. */
  readonly inferenceMicros: number;
  readonly fingerprint: string;
}

export interface AaltoResult {
  /** Rows per sequence length. */
  readonly byLength: Map<number, ScoredRow[]>;
  readonly users: number;
  readonly populationUsers: number;
  readonly network?: NetworkFigures;
  /** What the client-time rule did: on the evaluated participants' keystrokes and the population's. */
  readonly timing: { readonly evaluated: TimingSummary; readonly population: TimingSummary };
}

/** Participant files of a folder, in id order, at most `limit`. */
export async function aaltoFiles(dir: string, limit?: number): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('_keystrokes.txt'));
  files.sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  return files.slice(0, limit ?? files.length);
}

interface Participant {
  id: string;
  events: InputEvent[];
}

export async function evalAalto(o: AaltoEvalOptions): Promise<AaltoResult> {
  await initTf();
  const files = await aaltoFiles(o.data, o.users);
  // The population: another folder (checked disjoint), or the same folder's participants after
  // the evaluated ones.
  let popFiles: string[] = [];
  if (o.population !== undefined) {
    const same = resolve(o.population) === resolve(o.data);
    const chosen = new Set(files.map((f) => parseInt(f, 10)));
    const all = await aaltoFiles(o.population);
    if (!same) {
      const overlap = all.filter((f) => chosen.has(parseInt(f, 10)));
      if (overlap.length > 0) {
        throw new VdiguardError('invalid-argument', `--population shares ${overlap.length} participants with --data (for example ${overlap[0]}); population models must be trained on other people`);
      }
    }
    popFiles = all.filter((f) => !chosen.has(parseInt(f, 10))).slice(0, o.populationUsers ?? 200);
  }
  const timing = { evaluated: new TimingTally(), population: new TimingTally() };
  const population: InputEvent[][] = [];
  for (const f of popFiles) population.push(measuredOverLink((await importAaltoFile(join(o.population as string, f))).events, o, POPULATION_JITTER_SEED + population.length, timing.population));
  const populationUsers = population.length;
  const people: Participant[] = [];
  let seed = 1;
  for (const f of files) {
    const r = await importAaltoFile(join(o.data, f));
    people.push({ id: r.header.agent, events: measuredOverLink(r.events, o, seed++, timing.evaluated) });
    if (people.length % 200 === 0) o.progress(`aalto: ${people.length}/${files.length} participants read`);
  }
  const trained = population.length >= 2 && o.keyEmbedding !== false ? await trainNetwork(population, o) : undefined;
  const keyEmbedding = trained?.network;
  const byLength = new Map<number, ScoredRow[]>();
  let evaluated = 0;
  for (const spec of o.rows) {
    const enrolPipe = pipelineOf(spec.factory, 'keystroke', { keystroke: { windowKeys: ENROL_KEYS }, keyEmbedding });
    const model = enrolPipe.model;
    // Population models learn from the population's enrolment sequences only.
    const popWindows = population.map((ev) => vectorsOf(enrolPipe, ev).slice(0, ENROL_SEQUENCES)).filter((w) => w.length > 0);
    const context = popWindows.length > 0 ? { background: { agents: popWindows.length, windows: popWindows.flat() } } : {};
    // Per participant: the template and the events after the enrolment sequences.
    const enrolled: { id: string; template: JsonValue; rest: InputEvent[] }[] = [];
    for (const p of people) {
      const w = windowsOf(p.events, enrolPipe.createExtractor());
      if (w.length <= ENROL_SEQUENCES) continue;
      const end = (w[ENROL_SEQUENCES - 1] as { endTimeMs: number }).endTimeMs;
      const rest = p.events.filter((e) => e.timeMs > end);
      enrolled.push({ id: p.id, template: model.fit(w.slice(0, ENROL_SEQUENCES).map((x) => x.vector), context), rest });
    }
    evaluated = enrolled.length;
    for (const len of o.lengths) {
      const pipe = pipelineOf(spec.factory, 'keystroke', { keystroke: { windowKeys: len }, keyEmbedding });
      const tests = enrolled.map((e) => vectorsOf(pipe, e.rest));
      const row: ScoredRow = { row: spec.row, model: model.name, genuine: [], impostor: [] };
      enrolled.forEach((e, i) => {
        for (const v of tests[i] as number[][]) row.genuine.push(model.score(e.template, v));
        tests.forEach((t, j) => {
          if (j !== i && t.length > 0) row.impostor.push(model.score(e.template, t[0] as number[]));
        });
      });
      const rows = byLength.get(len) ?? [];
      rows.push(row);
      byLength.set(len, rows);
      o.progress(`aalto: ${spec.row} (${model.name}), ${len}-keystroke sequences: ${row.genuine.length} genuine, ${row.impostor.length} impostor attempts`);
    }
  }
  return { byLength, users: evaluated, populationUsers, network: trained?.figures, timing: { evaluated: timing.evaluated.summary(), population: timing.population.summary() } };
}

/** Trains the network on the population's keystrokes (through the production extractor) and measures it. */
async function trainNetwork(population: readonly InputEvent[][], o: AaltoEvalOptions): Promise<{ network: KeyEmbeddingNetwork; figures: NetworkFigures }> {
  const backend = await initTf();
  const windows = population.map((ev) => wholeWindow(defaultPipelines, 'keystroke', ev, ENROL_KEYS)).filter((w) => w !== undefined);
  o.progress(`aalto: training the keystroke embedding network on ${windows.length} population participants (TensorFlow.js, ${backend})`);
  const started = performance.now();
  const network = trainKeyEmbedding(windows.map((w) => [w]), { progress: o.progress, ...(o.keyEmbedding || {}) });
  const trainSeconds = (performance.now() - started) / 1000;
  // Inference as the scorer runs it: one window per call, on windows the network has seen (cost only).
  const enrolPipe = pipelineOf(defaultPipelines, 'keystroke', { keystroke: { windowKeys: ENROL_KEYS } });
  const sample = population.slice(0, 20).flatMap((ev) => vectorsOf(enrolPipe, ev));
  network.embed(sample.slice(0, 1));
  const t0 = performance.now();
  for (const v of sample) network.embed([v]);
  const inferenceMicros = ((performance.now() - t0) * 1000) / Math.max(1, sample.length);
  const figures = { parameters: network.parameters, bytes: network.parameters * 4, trainSeconds, inferenceMicros, fingerprint: network.fingerprint };
  o.progress(`aalto: network ${network.fingerprint}: ${figures.parameters} parameters, trained in ${trainSeconds.toFixed(0)} s, ${inferenceMicros.toFixed(0)} µs per window`);
  return { network, figures };
}
