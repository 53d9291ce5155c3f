/**
 * TensorFlow.js models as data: the standard layers-model format (`model.json` with the topology
 * and a weights manifest, beside `weights.bin`) on disk, and the same artifacts as one JSON value
 * (weights base64) inside a profile version. Both round-trip through `tf.io` handlers, so a saved
 * model loads in any TensorFlow.js program.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import { VdiguardError } from '../../../lib/errors.js';
import { requireTf } from './runtime.js';

/** A model's artifacts as JSON: what a profile version or a store row holds. */
export interface TfModelJson {
  [key: string]: unknown;
  format: 'tfjs-layers';
  modelTopology: unknown;
  weightSpecs: unknown[];
  /** The weights' bytes, base64. */
  weightData: string;
  /** What the model's program stored with it (LayersModel.setUserDefinedMetadata). */
  userDefinedMetadata?: object;
}

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

async function artifactsOf(model: LayersModel): Promise<io.ModelArtifacts> {
  const tf = requireTf();
  let saved: io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved?.weightData || !saved.weightSpecs) throw new VdiguardError('internal', 'TensorFlow.js saved a model without weights');
  return saved;
}

function weightBytes(artifacts: io.ModelArtifacts): Buffer {
  const data = artifacts.weightData;
  const buffers = Array.isArray(data) ? data : data ? [data] : [];
  return Buffer.concat(buffers.map((b) => Buffer.from(b)));
}

export async function modelToJson(model: LayersModel): Promise<TfModelJson> {
  const a = await artifactsOf(model);
  const json: TfModelJson = { format: 'tfjs-layers', modelTopology: a.modelTopology, weightSpecs: a.weightSpecs ?? [], weightData: weightBytes(a).toString('base64') };
  if (a.userDefinedMetadata) json.userDefinedMetadata = a.userDefinedMetadata;
  return json;
}

export async function modelFromJson(json: TfModelJson): Promise<LayersModel> {
  if (json?.format !== 'tfjs-layers' || typeof json.weightData !== 'string') {
    throw new VdiguardError('invalid-argument', 'not a TensorFlow.js layers model (expected format "tfjs-layers" with base64 weightData)');
  }
  const tf = requireTf();
  const bytes = Buffer.from(json.weightData, 'base64');
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as object,
      weightSpecs: json.weightSpecs as io.WeightsManifestEntry[],
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      userDefinedMetadata: json.userDefinedMetadata as { [key: string]: object } | undefined,
    }),
  );
}

/** Writes `model.json` and `weights.bin` into `dir` (created), each atomically. */
export async function saveModelFiles(dir: string, model: LayersModel): Promise<void> {
  const a = await artifactsOf(model);
  await mkdir(dir, { recursive: true });
  const manifest = {
    format: 'layers-model',
    generatedBy: 'vdiguard',
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: a.weightSpecs }],
    userDefinedMetadata: a.userDefinedMetadata,
  };
  await writeAtomically(join(dir, WEIGHTS_FILE), weightBytes(a));
  await writeAtomically(join(dir, MODEL_FILE), JSON.stringify(manifest));
}

/** Loads a model saved by `saveModelFiles` (or any single-shard TensorFlow.js layers model). */
export async function loadModelFiles(dir: string): Promise<LayersModel> {
  const tf = requireTf();
  let manifest: { modelTopology?: object; weightsManifest?: { paths: string[]; weights: io.WeightsManifestEntry[] }[]; userDefinedMetadata?: { [key: string]: object } };
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
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: manifest.modelTopology ?? {},
      weightSpecs,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      userDefinedMetadata: manifest.userDefinedMetadata,
    }),
  );
}

async function writeAtomically(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
