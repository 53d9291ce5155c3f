import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { KeystrokeExtractor } from '../features/keystroke.js';
import { windowsOf } from '../features/windows.js';
import { KeyMlp } from './unit-mlp.js';
import { rocAuc } from './metrics.js';
import { initTf } from './tf/runtime.js';
import { loadModelJson, modelToJson } from './tf/artifacts.js';
import { encodeKeys, KEY_INPUTS, KeyEmbeddingNetwork, KeystrokeEmbedding, trainKeyEmbedding, type KeyEmbeddingTraining } from './keystroke-embedding.js';

/** Small and fast: the tests check that training works, not how well a full-size network does. */
const SMALL: KeyEmbeddingTraining = { keyUnits: 32, pooledUnits: 32, embedding: 32, batchAgents: 20, perAgent: 4, learningRate: 0.005 };
const POPULATION = 20;
const USERS = 8;

interface Typist {
  enrol: number[][];
  rest: number[][];
}

const windows = (events: Parameters<typeof windowsOf>[0], keys: number): number[][] => windowsOf(events, new KeystrokeExtractor({ windowKeys: keys, keyVectors: true })).map((w) => w.vector);

/** Cosine distances of held-out windows to each typist's mean enrolment embedding: genuine and impostor. */
function separation(net: KeyEmbeddingNetwork, typists: readonly Typist[]): number {
  const genuine: number[] = [];
  const impostor: number[] = [];
  const centroids = typists.map((t) => {
    const e = net.embed(t.enrol);
    return Array.from({ length: net.dimensions }, (_, d) => e.reduce((s, v) => s + (v[d] as number), 0));
  });
  typists.forEach((t, j) => {
    const e = net.embed(t.rest);
    centroids.forEach((c, i) => {
      const norm = Math.hypot(...c);
      for (const v of e) (i === j ? genuine : impostor).push(1 - v.reduce((s, x, d) => s + x * (c[d] as number), 0) / norm);
    });
  });
  return rocAuc(genuine, impostor);
}

describe('keystroke embedding network on slices of Aalto', { skip: skipReason('aalto') }, () => {
  let population: number[][][] = [];
  /** The population's enrolment windows, as the eval gives them to a fit (KeyMlp's negatives and cohort). */
  let background: number[][] = [];
  let typists: Typist[] = [];
  let trained: KeyEmbeddingNetwork;

  before(async () => {
    await initTf('wasm');
    const files = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt'));
    files.sort((a, b) => parseInt(a.split('/').pop()!, 10) - parseInt(b.split('/').pop()!, 10));
    const chosen = files.slice(0, POPULATION + USERS);
    const root = await extractMembers('aalto', chosen);
    const events = await Promise.all(chosen.map(async (f) => (await importAaltoFile(join(root, f))).events));
    // Population: long windows, from which training crops its sequences; typists: the TypeNet split.
    population = events.slice(0, POPULATION).map((ev) => windows(ev, 150));
    background = events.slice(0, POPULATION).flatMap((ev) => windows(ev, 50).slice(0, 5));
    typists = events.slice(POPULATION).map((ev) => {
      const w = windows(ev, 50);
      return { enrol: w.slice(0, 5), rest: w.slice(5) };
    });
    trained = trainKeyEmbedding(population, { ...SMALL, steps: 120 });
  });

  test('keystrokes encode as classes, scaled timings and missing flags; training is reproducible', () => {
    const v = typists[0]!.enrol[0]!;
    const keys = encodeKeys(v);
    assert.equal(keys.length, 50 * KEY_INPUTS);
    assert.ok(keys.every(Number.isFinite), 'no NaN reaches the network');
    assert.ok(keys.every((x) => Math.abs(x) <= 5));
    const again = (): string => trainKeyEmbedding(population.slice(0, 6), { ...SMALL, batchAgents: 6, steps: 3 }).fingerprint;
    assert.equal(again(), again());
  });

  test('a trained network separates held-out typists better than the untrained one', () => {
    const untrained = trainKeyEmbedding(population, { ...SMALL, steps: 0 });
    const [before, after] = [separation(untrained, typists), separation(trained, typists)];
    assert.ok(after > before, `AUC untrained ${before.toFixed(3)}, trained ${after.toFixed(3)}`);
    assert.ok(after > 0.75, `AUC ${after.toFixed(3)}`);
    const e = trained.embed([typists[0]!.enrol[0]!, []]);
    assert.ok(Math.abs(Math.hypot(...e[0]!) - 1) < 1e-5, 'unit length');
    assert.equal(e[1]!.length, 0, 'no keystrokes, no embedding');
  });

  test('own windows score about N(0,1), impostors higher; another network falls back to KeyMlp', () => {
    const model = new KeystrokeEmbedding(trained);
    const templates = typists.map((t) => model.fit(t.enrol));
    assert.deepEqual(JSON.parse(JSON.stringify(templates[0])), templates[0], 'the template is plain JSON');
    assert.equal(templates[0]!.network, trained.fingerprint);
    const own = typists.flatMap((t, i) => t.rest.map((v) => model.score(templates[i]!, v)));
    const other = typists.flatMap((_, i) => typists[(i + 1) % USERS]!.rest.map((v) => model.score(templates[i]!, v)));
    const mean = own.reduce((a, b) => a + b, 0) / own.length;
    const sd = Math.sqrt(own.reduce((a, b) => a + (b - mean) ** 2, 0) / (own.length - 1));
    assert.ok(Math.abs(mean) < 0.75 && sd > 0.5 && sd < 1.6, `own windows: mean ${mean.toFixed(2)}, sd ${sd.toFixed(2)}`);
    assert.ok(other.reduce((a, b) => a + b, 0) / other.length > mean + 1, 'impostor windows score higher');

    // A template of another network, of no network, or of KeyMlp before this model: KeyMlp's score alone.
    const keyMlp = new KeyMlp();
    const v = typists[0]!.rest[0]!;
    const alone = keyMlp.score(templates[0]!.keyMlp, v);
    assert.ok(Number.isFinite(alone));
    const other3 = new KeystrokeEmbedding(trainKeyEmbedding(population.slice(0, 6), { ...SMALL, batchAgents: 6, steps: 3 }));
    assert.equal(other3.score(templates[0]!, v), alone);
    assert.equal(new KeystrokeEmbedding().score(templates[0]!, v), alone);
    const without = new KeystrokeEmbedding().fit(typists[0]!.enrol);
    assert.equal(without.network, null);
    assert.equal(model.score(without, v), alone);
    assert.equal(model.score(keyMlp.fit(typists[0]!.enrol) as never, v), alone);
    assert.notEqual(model.score(templates[0]!, v), alone, 'with its own network the embedding counts');
  });

  test('the network round-trips through its JSON artifacts with the same fingerprint and scores', async () => {
    const loaded = new KeyEmbeddingNetwork(await loadModelJson(JSON.parse(JSON.stringify(modelToJson(trained.model)))));
    assert.equal(loaded.fingerprint, trained.fingerprint);
    const template = new KeystrokeEmbedding(trained).fit(typists[1]!.enrol);
    const scores = (m: KeystrokeEmbedding) => typists[1]!.rest.concat(typists[2]!.rest).map((v) => m.score(template, v));
    assert.deepEqual(scores(new KeystrokeEmbedding(loaded)), scores(new KeystrokeEmbedding(trained)));
  });

  test('KeyMlp is normalised by its impostor cohort; a template stored before keeps its raw fusion', () => {
    const model = new KeystrokeEmbedding(trained);
    const context = { background: { agents: POPULATION, windows: background } };
    const templates = typists.map((t) => model.fit(t.enrol, context));
    for (const t of templates) {
      assert.ok(t.keyCohortMean! > 1 && t.keyCohortSd! > 0.05, `cohort mean ${t.keyCohortMean}, sd ${t.keyCohortSd}: other agents score above the agent's own`);
    }
    const keyMlp = new KeyMlp();
    const alone = new KeystrokeEmbedding();
    const pooledAuc = (score: (i: number, v: number[]) => number): number => {
      const own = typists.flatMap((t, i) => t.rest.map((v) => score(i, v)));
      const other = typists.flatMap((_, i) => typists[(i + 1) % USERS]!.rest.map((v) => score(i, v)));
      return rocAuc(own, other);
    };
    const raw = pooledAuc((i, v) => keyMlp.score(templates[i]!.keyMlp, v));
    const normalised = pooledAuc((i, v) => alone.score(templates[i]!, v));
    assert.ok(normalised > raw, `pooled AUC of KeyMlp alone: raw ${raw.toFixed(3)}, cohort-normalised ${normalised.toFixed(3)}`);

    // Stored before: no cohort fields, KeyMlp raw, the embedding weighted 1.5.
    const { keyCohortMean: _m, keyCohortSd: _s, ...before } = templates[0]!;
    const v = typists[0]!.rest[0]!;
    const e = trained.embed([v])[0]!;
    const cos = e.reduce((a, x, d) => a + x * before.centroid[d]!, 0) / Math.hypot(...before.centroid);
    const ze = (1 - cos - before.calMean) / before.calSd;
    const expected = (1.5 * ze + keyMlp.score(before.keyMlp, v)) / Math.hypot(1.5, 1);
    assert.ok(Math.abs(model.score(before as never, v) - expected) < 1e-5, `${model.score(before as never, v)} vs ${expected}`);
    assert.notEqual(model.score(templates[0]!, v), model.score(before as never, v));
  });
});
