/**
 * The population networks of a deployment, the keystroke embedding network and the mouse action
 * network: trained by `vdiguard train` on its own enrolled agents (no weights ship: the development
 * data's licence forbids it, and another population's behaviour is not this one's), versioned in the store, exported as TensorFlow.js files, and loaded by every
 * scorer replica when it starts. Until one is trained, the models use their fallbacks.
 */
import { join } from 'node:path';
import type { Db } from '../../lib/db/db.js';
import type { Logger } from '../../lib/log.js';
import { ProfileStore } from '../store/profiles.js';
import { PopulationModelStore } from '../store/population-models.js';
import { KeyEmbeddingNetwork, trainKeyEmbedding, type KeyEmbeddingTraining } from '../models/keystroke-embedding.js';
import { ActionNetwork, trainActionNetwork, type ActionNetworkTraining } from '../models/action-network.js';
import { loadModelJson, modelToJson, saveModelFiles, type TfModelJson } from '../models/tf/artifacts.js';
import { evenSample } from '../models/population.js';
import type { NetworkArtifacts } from '../models/fit-pool.js';

export const KEY_EMBEDDING = 'key-embedding';
export const ACTION_NETWORK = 'action-network';

/**
 * Fewest agents a keystroke network is trained on: fewer would learn those agents rather than what
 * tells typists apart (the evaluation trains on hundreds).
 */
export const MIN_NETWORK_AGENTS = 20;

/**
 * Fewest agents the mouse action network is trained on. It learns to tell exactly these agents
 * apart (each has an output), so it is useful from a handful; below that ActionMlp's per-agent
 * networks, which need 5 others, are on their own.
 */
export const MIN_ACTION_NETWORK_AGENTS = 10;

/** Keystroke windows per agent a training reads: bounds memory and weighs agents alike. */
const WINDOWS_PER_AGENT = 40;
/**
 * Mouse windows per agent a training reads (2,000 actions; the network samples at most 4,000): a
 * thousand agents' windows are then about 350 MB in memory, where whole mature profiles (400
 * windows) would be 1.4 GB.
 */
const MOUSE_WINDOWS_PER_AGENT = 100;

export interface LoadedNetwork<N> {
  readonly network: N;
  readonly artifacts: TfModelJson;
  readonly version: number;
}

/** The networks a scorer's pipelines use; none until `vdiguard train` made one. */
export interface Networks {
  readonly keyEmbedding?: LoadedNetwork<KeyEmbeddingNetwork>;
  readonly actionNetwork?: LoadedNetwork<ActionNetwork>;
}

/** What the fit workers need to build the same pipelines. */
export function networkArtifacts(n: Networks): NetworkArtifacts {
  return { keyEmbedding: n.keyEmbedding?.artifacts ?? null, actionNetwork: n.actionNetwork?.artifacts ?? null };
}

/** The newest trained networks in the store. */
export async function loadNetworks(db: Db, log: Logger): Promise<Networks> {
  const store = new PopulationModelStore(db);
  const key = await store.latest(KEY_EMBEDDING);
  const action = await store.latest(ACTION_NETWORK);
  if (!key) log.info('no keystroke embedding network trained yet: keyboard templates use the per-keystroke classifier alone (run `vdiguard train` once agents have enrolled)');
  if (!action) log.info('no mouse action network trained yet: mouse templates use the per-agent action classifier alone (run `vdiguard train` once agents have enrolled)');
  const keyEmbedding = key ? { network: new KeyEmbeddingNetwork(await loadModelJson(key.artifacts)), artifacts: key.artifacts, version: key.version } : undefined;
  const actionNetwork = action ? { network: new ActionNetwork(await loadModelJson(action.artifacts)), artifacts: action.artifacts, version: action.version } : undefined;
  if (keyEmbedding) log.info({ version: keyEmbedding.version, agents: key?.agents, fingerprint: keyEmbedding.network.fingerprint }, 'keystroke embedding network loaded');
  if (actionNetwork) log.info({ version: actionNetwork.version, agents: action?.agents, fingerprint: actionNetwork.network.fingerprint }, 'mouse action network loaded');
  return { ...(keyEmbedding ? { keyEmbedding } : {}), ...(actionNetwork ? { actionNetwork } : {}) };
}

/**
 * Trains a keystroke network on the enrolled agents' keystroke windows and saves it as a new
 * version (in the store, and as files under `modelsDir/key-embedding/v<version>`); undefined, with
 * the reason logged, when fewer than MIN_NETWORK_AGENTS agents have keystroke windows.
 */
export async function trainKeyEmbeddingFromProfiles(db: Db, modelsDir: string, log: Logger, options: KeyEmbeddingTraining = {}): Promise<(LoadedNetwork<KeyEmbeddingNetwork> & { readonly agents: number; readonly dir: string }) | undefined> {
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

/**
 * Trains the mouse action network on the enrolled agents' mouse windows and saves it as a new
 * version (in the store, and as files under `modelsDir/action-network/v<version>`); undefined, with
 * the reason logged, when fewer than MIN_ACTION_NETWORK_AGENTS agents have mouse windows.
 */
export async function trainActionNetworkFromProfiles(db: Db, modelsDir: string, log: Logger, options: ActionNetworkTraining = {}): Promise<(LoadedNetwork<ActionNetwork> & { readonly agents: number; readonly dir: string }) | undefined> {
  const profiles = new ProfileStore(db);
  const population: { agentId: string; windows: (readonly number[])[] }[] = [];
  for (const s of await profiles.list()) {
    const windows = (await profiles.get(s.agentId))?.body.mouse.windows ?? [];
    if (windows.length > 0) population.push({ agentId: s.agentId, windows: evenSample(windows, MOUSE_WINDOWS_PER_AGENT) });
  }
  if (population.length < MIN_ACTION_NETWORK_AGENTS) {
    log.warn({ agents: population.length, needed: MIN_ACTION_NETWORK_AGENTS }, 'too few agents with mouse actions to train the mouse action network; the current one (if any) stays');
    return undefined;
  }
  const started = Date.now();
  const network = trainActionNetwork(population, { ...options, progress: (line) => log.info(line) });
  const summary = { windows: population.reduce((n, p) => n + p.windows.length, 0), trainingSeconds: (Date.now() - started) / 1000 };
  const { artifacts, version } = await storeActionNetwork(db, network, population.length, summary);
  const dir = join(modelsDir, ACTION_NETWORK, `v${version}`);
  await saveModelFiles(dir, network.model);
  log.info({ version, agents: population.length, dir, fingerprint: network.fingerprint, ...summary }, 'mouse action network trained');
  return { network, artifacts, version, agents: population.length, dir };
}

/** Saves a trained keystroke network as the next version in the store, where scorers load it from. */
export function storeKeyEmbedding(db: Db, network: KeyEmbeddingNetwork, agents: number, summary: Record<string, unknown> = {}): Promise<{ artifacts: TfModelJson; version: number }> {
  return storeNetwork(db, KEY_EMBEDDING, network, agents, summary);
}

/** Saves a trained mouse action network as the next version in the store, where scorers load it from. */
export function storeActionNetwork(db: Db, network: ActionNetwork, agents: number, summary: Record<string, unknown> = {}): Promise<{ artifacts: TfModelJson; version: number }> {
  return storeNetwork(db, ACTION_NETWORK, network, agents, summary);
}

async function storeNetwork(db: Db, name: string, network: KeyEmbeddingNetwork | ActionNetwork, agents: number, summary: Record<string, unknown>): Promise<{ artifacts: TfModelJson; version: number }> {
  const artifacts = modelToJson(network.model);
  const record = await new PopulationModelStore(db).save(name, agents, { fingerprint: network.fingerprint, parameters: network.parameters, ...summary }, artifacts);
  return { artifacts, version: record.version };
}
