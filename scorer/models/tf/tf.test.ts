import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdiguardError } from '../../../lib/errors.js';
import { initTf, requireTf, tf } from './runtime.js';
import { loadModelFiles, modelFromJson, modelToJson, saveModelFiles } from './artifacts.js';

function smallModel(): ReturnType<typeof tf.sequential> {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 4, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

function outputs(model: { predict(x: ReturnType<typeof tf.tensor2d>): unknown }): number[] {
  return tf.tidy(() => Array.from((model.predict(tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]])) as ReturnType<typeof tf.tensor2d>).dataSync()));
}

test('models refuse to run before a backend is chosen, then run on wasm', async () => {
  assert.throws(() => requireTf(), (e: unknown) => e instanceof VdiguardError && /initTf/.test(e.message));
  assert.equal(await initTf('wasm'), 'wasm');
  assert.equal(requireTf().getBackend(), 'wasm');
  await assert.rejects(initTf('cpu'), /one backend per process/);
  assert.equal(await initTf(), 'wasm', 'auto after a choice keeps the choice');
});

test('a model round-trips through JSON and through model.json + weights.bin with the same outputs', async () => {
  await initTf('wasm');
  const model = smallModel();
  const expected = outputs(model);
  const json = modelToJson(model);
  assert.equal(json.format, 'tfjs-layers');
  assert.deepEqual(outputs(modelFromJson(JSON.parse(JSON.stringify(json)))), expected);

  const dir = await mkdtemp(join(tmpdir(), 'vdiguard-tf-'));
  try {
    await saveModelFiles(dir, model);
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    assert.equal(manifest.format, 'layers-model');
    assert.deepEqual(manifest.weightsManifest[0].paths, ['./weights.bin']);
    assert.deepEqual(outputs(await loadModelFiles(dir)), expected);

    await truncate(join(dir, 'weights.bin'), 10);
    await assert.rejects(loadModelFiles(dir), /truncated or from another model/);
    await assert.rejects(loadModelFiles(join(dir, 'absent')), /run `vdiguard train`/);
    assert.throws(() => modelFromJson({ format: 'other' } as never), /not a TensorFlow.js layers model/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
