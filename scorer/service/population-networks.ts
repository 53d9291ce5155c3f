/**
 * The population networks of a deployment: trained by `vdiguard train` on its own enrolled agents
 * (no weights ship: the development data's licence forbids it, and another population's typing is
 * not this one's), versioned in the store, exported as TensorFlow.js files, and loaded by every
 * scorer replica when it starts. Until one is trained, the models use their fallbacks.
 */
import { join } from 'node:path';
import type { Db } from '../../lib/db/db.js';
import type { Logger } from '../../lib/log.js';
import { ProfileStore } from '../store/profiles.js';
import { PopulationModelStore } from '../store/population-models.js';
import { KeyEmbeddingNetwork, trainKeyEmbedding, type KeyEmbeddingTraining } from '../models/keystroke-embedding.js';
import { loadModelJson, modelToJson, saveModelFiles, type TfModelJson } from '../models/tf/artifacts.js';
import { evenSample } from '../models/population.js';
import type { NetworkArtifacts } from '../models/fit-pool.js';

export const KEY_EMBEDDING = 'key-embedding';

/**
 * Fewest agents a keystroke network is trained on: fewer would learn those agents rather than what
 * tells typists apart (the evaluation trains on hundreds).
 */
export const MIN_NETWORK_AGENTS = 20;

/** Keystroke windows per agent a training reads: bounds memory and weighs agents alike. */
const WINDOWS_PER_AGENT = 40;

export interface LoadedNetwork {
  readonly network: KeyEmbeddingNetwork;
  readonly artifacts: TfModelJson;
  readonly version: number;
}

/** The networks a scorer's pipelines use; none until `vdiguard train` made one. */
export interface Networks {
  readonly keyEmbedding?: LoadedNetwork;
}

/** What the fit workers need to build the same pipelines. */
export function networkArtifacts(n: Networks): NetworkArtifacts {
  return { keyEmbedding: n.keyEmbedding?.artifacts ?? null };
}

/** The newest trained networks in the store. */
export async function loadNetworks(db: Db, log: Logger): Promise<Networks> {
  const record = await new PopulationModelStore(db).latest(KEY_EMBEDDING);
  if (!record) {
    log.info('no keystroke embedding network trained yet: keyboard templates use the per-keystroke classifier alone (run `vdiguard train` once agents have enrolled)');
    return {};
  }
  const network = new KeyEmbeddingNetwork(await loadModelJson(record.artifacts));
  log.info({ version: record.version, agents: record.agents, fingerprint: network.fingerprint }, 'keystroke embedding network loaded');
  return { keyEmbedding: { network, artifacts: record.artifacts, version: record.version } };
}

/**
 * Trains a keystroke network on the enrolled agents' keystroke windows and saves it as a new
 * version (in the store, and as files under `modelsDir/key-embedding/v<version>`); undefined, with
 * the reason logged, when fewer than MIN_NETWORK_AGENTS agents have keystroke windows.
 */
export async function trainKeyEmbeddingFromProfiles(db: Db, modelsDir: string, log: Logger, options: KeyEmbeddingTraining = {}): Promise<(LoadedNetwork & { readonly agents: number; readonly dir: string }) | undefined> {
  const profiles = new ProfileStore(db);
  const population: (readonly number[])[][] = [];
  for (const s of await profiles.list()) {
    const windows = (await profiles.get(s.agentId))?.body.keystroke.windows ?? [];
    if (windows.length > 0) population.push(evenSample(windows, WINDOWS_PER_AGENT));
  }
  if (population.length < MIN_NETWORK_AGENTS) {
    log.warn({ agents: population.length, needed: MIN_NETWORK_AGENTS }, 'too few agents with keystrokes to train the keystroke embedding network; the current one (if any) stays');
    return undefined;
  }
  const started = Date.now();
  const network = trainKeyEmbedding(population, { ...options, progress: (line) => log.info(line) });
  const summary = { windows: population.reduce((n, w) => n + w.length, 0), trainingSeconds: (Date.now() - started) / 1000 };
  const { artifacts, version } = await storeKeyEmbedding(db, network, population.length, summary);
  const dir = join(modelsDir, KEY_EMBEDDING, `v${version}`);
  await saveModelFiles(dir, network.model);
  log.info({ version, agents: population.length, dir, fingerprint: network.fingerprint, ...summary }, 'keystroke embedding network trained');
  return { network, artifacts, version, agents: population.length, dir };
}

/** Saves a trained keystroke network as the next version in the store, where scorers load it from. */
export async function storeKeyEmbedding(db: Db, network: KeyEmbeddingNetwork, agents: number, summary: Record<string, unknown> = {}): Promise<{ artifacts: TfModelJson; version: number }> {
  const artifacts = modelToJson(network.model);
  const record = await new PopulationModelStore(db).save(KEY_EMBEDDING, agents, { fingerprint: network.fingerprint, parameters: network.parameters, ...summary }, artifacts);
  return { artifacts, version: record.version };
}
