/**
 * TensorFlow.js models as data: the standard layers-model format (`model.json` with the topology
 * and a weights manifest, beside `weights.bin`) on disk, and the same artifacts as one JSON value
 * (weights base64) inside a profile version or a store row. Both are the layout `model.save`
 * writes, so a saved model loads in any TensorFlow.js program. Conversion to JSON and back for
 * Sequential models is synchronous, so the synchronous `ModalityModel` fit and score can keep an
 * agent's networks in its template; other models (the population networks) load asynchronously.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import { VdiguardError } from '../../../lib/errors.js';
import type { JsonValue } from '../../../lib/json.js';
import { requireTf } from './runtime.js';

/** A model's artifacts as JSON: what a profile version or a store row holds. */
export interface TfModelJson {
  [key: string]: JsonValue;
  format: 'tfjs-layers';
  modelTopology: JsonValue;
  weightSpecs: JsonValue[];
  /** The weights' bytes, base64. */
  weightData: string;
  /** What the model's program stored with it (LayersModel.setUserDefinedMetadata), or null. */
  userDefinedMetadata: { [key: string]: JsonValue } | null;
}

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

/**
 * The model's artifacts, synchronously (weights read with dataSync), so a synchronous fit can put
 * them into a template. The same layout as `model.save` writes: topology from `toJSON`, one
 * float32 spec per weight under its original name.
 */
export function modelToJson(model: LayersModel): TfModelJson {
  const weights = model.weights;
  const parts = weights.map((w) => {
    const t = w.read();
    if (t.dtype !== 'float32') throw new VdiguardError('invalid-argument', `weight ${w.originalName} is ${t.dtype}; only float32 models are stored`);
    return t.dataSync() as Float32Array;
  });
  const bytes = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  return {
    format: 'tfjs-layers',
    modelTopology: model.toJSON(null, false) as JsonValue,
    weightSpecs: weights.map((w) => ({ name: w.originalName, shape: w.shape, dtype: 'float32' })),
    weightData: bytes.toString('base64'),
    userDefinedMetadata: (model.getUserDefinedMetadata() as { [key: string]: JsonValue } | undefined) ?? null,
  };
}

/** Builds a Sequential model from JSON, synchronously: a score call may need it. */
export function modelFromJson(json: TfModelJson): LayersModel {
  requireLayersJson(json);
  return fromArtifacts(json.modelTopology, json.weightSpecs as unknown as io.WeightsManifestEntry[], Buffer.from(json.weightData, 'base64'));
}

/** Builds any layers model from JSON (functional ones, custom layers registered), with its metadata. */
export async function loadModelJson(json: TfModelJson): Promise<LayersModel> {
  requireLayersJson(json);
  return loadArtifacts(json.modelTopology, json.weightSpecs as unknown as io.WeightsManifestEntry[], Buffer.from(json.weightData, 'base64'), json.userDefinedMetadata);
}

function requireLayersJson(json: TfModelJson): void {
  if (json?.format !== 'tfjs-layers' || typeof json.weightData !== 'string') {
    throw new VdiguardError('invalid-argument', 'not a TensorFlow.js layers model (expected format "tfjs-layers" with base64 weightData)');
  }
}

function loadArtifacts(topology: unknown, weightSpecs: io.WeightsManifestEntry[], bytes: Buffer, metadata: unknown): Promise<LayersModel> {
  const tf = requireTf();
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: topology as object,
      weightSpecs,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      ...(metadata ? { userDefinedMetadata: metadata as { [key: string]: object } } : {}),
    }),
  );
}

function fromArtifacts(topology: unknown, specs: io.WeightsManifestEntry[], bytes: Buffer): LayersModel {
  const tf = requireTf();
  const t = topology as { class_name?: string; config?: JsonValue } | null;
  if (!t?.config || t.class_name !== 'Sequential') {
    throw new VdiguardError('invalid-argument', `the model topology is ${t?.class_name ?? 'missing'}; the synchronous loader takes Sequential layers models (use tf.loadLayersModel for others)`);
  }
  const config = tsConfig(t.config) as unknown as Parameters<typeof tf.Sequential.fromConfig>[1];
  const model = tf.Sequential.fromConfig(tf.Sequential, config) as LayersModel;
  const named = tf.io.decodeWeights(new Uint8Array(bytes).buffer, specs);
  try {
    model.loadWeights(named);
  } finally {
    tf.dispose(Object.values(named));
  }
  return model;
}

/**
 * Keras JSON (snake_case keys and enum values, as model.json holds them) to the config fromConfig
 * takes: what tf.loadLayersModel does before it builds a model, which TensorFlow.js does not export
 * (its loader is async only). Names are kept as they are.
 */
function tsConfig(v: JsonValue): JsonValue {
  const camel = (s: string): string => s.replace(/_+(\w|$)/g, (_, c: string) => c.toUpperCase());
  if (typeof v === 'string') return camel(v);
  if (Array.isArray(v)) return v.map(tsConfig);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => (k === 'name' && typeof x === 'string' ? [k, x] : [camel(k), tsConfig(x)])));
}

/** Writes `model.json` and `weights.bin` into `dir` (created), each atomically. */
export async function saveModelFiles(dir: string, model: LayersModel): Promise<void> {
  const a = modelToJson(model);
  await mkdir(dir, { recursive: true });
  const manifest = {
    format: 'layers-model',
    generatedBy: 'vdiguard',
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: a.weightSpecs }],
    ...(a.userDefinedMetadata ? { userDefinedMetadata: a.userDefinedMetadata } : {}),
  };
  await writeAtomically(join(dir, WEIGHTS_FILE), Buffer.from(a.weightData, 'base64'));
  await writeAtomically(join(dir, MODEL_FILE), JSON.stringify(manifest));
}

/** Loads a model saved by `saveModelFiles` (or any single-shard TensorFlow.js layers model). */
export async function loadModelFiles(dir: string): Promise<LayersModel> {
  let manifest: { modelTopology?: object; weightsManifest?: { paths: string[]; weights: io.WeightsManifestEntry[] }[]; userDefinedMetadata?: object };
  try {
    manifest = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8'));
  } catch (err) {
    throw new VdiguardError('not-found', `cannot read the TensorFlow.js model in ${dir} (${(err as Error).message}); run \`vdiguard train\` to create it`, { cause: err });
  }
  const groups = manifest.weightsManifest ?? [];
  const weightSpecs = groups.flatMap((g) => g.weights);
  const shards = await Promise.all(groups.flatMap((g) => g.paths).map((p) => readFile(join(dir, p))));
  const bytes = Buffer.concat(shards);
  const expected = weightSpecs.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (bytes.byteLength !== expected) {
    throw new VdiguardError('invalid-argument', `the weights in ${dir} hold ${bytes.byteLength} bytes where the manifest needs ${expected}; the files are truncated or from another model, retrain with \`vdiguard train\``);
  }
  return loadArtifacts(manifest.modelTopology ?? {}, weightSpecs, bytes, manifest.userDefinedMetadata);
}

async function writeAtomically(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * Identifies a population network by its architecture, weights and metadata: `name:` and 16 hex
 * digits, stored in each template made with it. Metadata keys are hashed in sorted order, because a
 * jsonb column hands objects back with their keys reordered.
 */
export function networkFingerprint(name: string, model: LayersModel, metadata: { readonly [key: string]: unknown }): string {
  const sorted = Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const hash = createHash('sha256').update(JSON.stringify(sorted)).update(JSON.stringify(model.toJSON(null, false)));
  for (const w of model.getWeights()) hash.update(Buffer.from((w.dataSync() as Float32Array).buffer));
  return `${name}:${hash.digest('hex').slice(0, 16)}`;
}
