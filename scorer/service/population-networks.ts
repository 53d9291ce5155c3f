/**
 * The population networks of a deployment, the keystroke embedding network and the mouse action
 * network: trained by `vdiguard train` on its own enrolled agents (no weights ship: the development
 * data's licence forbids it, and another population's behaviour is not this one's), versioned in
 * the store, exported as TensorFlow.js files, and loaded by every scorer replica when it starts.
 * Until one is trained, the models use their fallbacks.
 */
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
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

/** A network `vdiguard train` just trained and saved. */
export type SavedNetwork<N> = LoadedNetwork<N> & { readonly agents: number; readonly dir: string };

/** The networks a scorer's pipelines use; none until `vdiguard train` made one. */
export interface Networks {
  readonly keyEmbedding?: LoadedNetwork<KeyEmbeddingNetwork>;
  readonly actionNetwork?: LoadedNetwork<ActionNetwork>;
}

/** What the fit workers need to build the same pipelines. */
export function networkArtifacts(n: Networks): NetworkArtifacts {
  return { keyEmbedding: n.keyEmbedding?.artifacts ?? null, actionNetwork: n.actionNetwork?.artifacts ?? null };
}

/** Each enrolled agent's windows of both modalities, evenly sampled as the trainings read them. */
export interface PopulationWindows {
  readonly agentId: string;
  readonly keystroke: readonly (readonly number[])[];
  readonly mouse: readonly (readonly number[])[];
}

/** Reads every profile once (a mature one is megabytes) and keeps a sample of each modality's windows. */
export async function readPopulation(db: Db): Promise<PopulationWindows[]> {
  const profiles = new ProfileStore(db);
  const out: PopulationWindows[] = [];
  for (const s of await profiles.list()) {
    const body = (await profiles.get(s.agentId))?.body;
    if (body) out.push({ agentId: s.agentId, keystroke: evenSample(body.keystroke.windows, WINDOWS_PER_AGENT), mouse: evenSample(body.mouse.windows, MOUSE_WINDOWS_PER_AGENT) });
  }
  return out;
}

type StoredNetwork = KeyEmbeddingNetwork | ActionNetwork;

/** How one population network is stored, loaded and trained. */
interface Recipe<N extends StoredNetwork> {
  /** Its name in the store and its folder under the models directory. */
  readonly name: string;
  /** What logs call it. */
  readonly what: string;
  readonly modality: 'keystroke' | 'mouse';
  readonly minAgents: number;
  /** What scores without it, for the log line of a scorer that has none. */
  readonly fallback: string;
  readonly load: (model: LayersModel) => N;
  readonly train: (population: readonly { agentId: string; windows: readonly (readonly number[])[] }[], progress: (line: string) => void) => N;
}

const keyEmbeddingRecipe = (options: KeyEmbeddingTraining = {}): Recipe<KeyEmbeddingNetwork> => ({
  name: KEY_EMBEDDING,
  what: 'keystroke embedding network',
  modality: 'keystroke',
  minAgents: MIN_NETWORK_AGENTS,
  fallback: 'keyboard templates use the per-keystroke classifier alone',
  load: (model) => new KeyEmbeddingNetwork(model),
  train: (population, progress) => trainKeyEmbedding(population.map((p) => p.windows), { ...options, progress }),
});

const actionNetworkRecipe = (options: ActionNetworkTraining = {}): Recipe<ActionNetwork> => ({
  name: ACTION_NETWORK,
  what: 'mouse action network',
  modality: 'mouse',
  minAgents: MIN_ACTION_NETWORK_AGENTS,
  fallback: 'mouse templates use the per-agent action classifier alone',
  load: (model) => new ActionNetwork(model),
  train: (population, progress) => trainActionNetwork(population, { ...options, progress }),
});

/** The newest trained networks in the store. */
export async function loadNetworks(db: Db, log: Logger): Promise<Networks> {
  const keyEmbedding = await loadNetwork(db, log, keyEmbeddingRecipe());
  const actionNetwork = await loadNetwork(db, log, actionNetworkRecipe());
  return { ...(keyEmbedding ? { keyEmbedding } : {}), ...(actionNetwork ? { actionNetwork } : {}) };
}

async function loadNetwork<N extends StoredNetwork>(db: Db, log: Logger, recipe: Recipe<N>): Promise<LoadedNetwork<N> | undefined> {
  const record = await new PopulationModelStore(db).latest(recipe.name);
  if (!record) {
    log.info(`no ${recipe.what} trained yet: ${recipe.fallback} (run \`vdiguard train\` once agents have enrolled)`);
    return undefined;
  }
  const network = recipe.load(await loadModelJson(record.artifacts));
  log.info({ version: record.version, agents: record.agents, fingerprint: network.fingerprint }, `${recipe.what} loaded`);
  return { network, artifacts: record.artifacts, version: record.version };
}

/**
 * Trains a keystroke network on the enrolled agents' keystroke windows and saves it as a new
 * version (in the store, and as files under `modelsDir/key-embedding/v<version>`); undefined, with
 * the reason logged, when fewer than MIN_NETWORK_AGENTS agents have keystroke windows.
 */
export async function trainKeyEmbeddingFromProfiles(
  db: Db,
  modelsDir: string,
  log: Logger,
  options: KeyEmbeddingTraining = {},
  population?: readonly PopulationWindows[],
): Promise<SavedNetwork<KeyEmbeddingNetwork> | undefined> {
  return trainFromProfiles(db, modelsDir, log, keyEmbeddingRecipe(options), population ?? (await readPopulation(db)));
}

/**
 * Trains the mouse action network on the enrolled agents' mouse windows and saves it as a new
 * version (in the store, and as files under `modelsDir/action-network/v<version>`); undefined, with
 * the reason logged, when fewer than MIN_ACTION_NETWORK_AGENTS agents have mouse windows.
 */
export async function trainActionNetworkFromProfiles(
  db: Db,
  modelsDir: string,
  log: Logger,
  options: ActionNetworkTraining = {},
  population?: readonly PopulationWindows[],
): Promise<SavedNetwork<ActionNetwork> | undefined> {
  return trainFromProfiles(db, modelsDir, log, actionNetworkRecipe(options), population ?? (await readPopulation(db)));
}

async function trainFromProfiles<N extends StoredNetwork>(db: Db, modelsDir: string, log: Logger, recipe: Recipe<N>, population: readonly PopulationWindows[]): Promise<SavedNetwork<N> | undefined> {
  const agents = population.map((p) => ({ agentId: p.agentId, windows: p[recipe.modality] })).filter((p) => p.windows.length > 0);
  if (agents.length < recipe.minAgents) {
    log.warn({ agents: agents.length, needed: recipe.minAgents }, `too few agents with ${recipe.modality} windows to train the ${recipe.what}; the current one (if any) stays`);
    return undefined;
  }
  const started = Date.now();
  const network = recipe.train(agents, (line) => log.info(line));
  const summary = { windows: agents.reduce((n, p) => n + p.windows.length, 0), trainingSeconds: (Date.now() - started) / 1000 };
  const { artifacts, version } = await storeNetwork(db, recipe.name, network, agents.length, summary);
  const dir = join(modelsDir, recipe.name, `v${version}`);
  await saveModelFiles(dir, network.model);
  log.info({ version, agents: agents.length, dir, fingerprint: network.fingerprint, ...summary }, `${recipe.what} trained`);
  return { network, artifacts, version, agents: agents.length, dir };
}

/** Saves a trained keystroke network as the next version in the store, where scorers load it from. */
export function storeKeyEmbedding(db: Db, network: KeyEmbeddingNetwork, agents: number, summary: Record<string, unknown> = {}): Promise<{ artifacts: TfModelJson; version: number }> {
  return storeNetwork(db, KEY_EMBEDDING, network, agents, summary);
}

/** Saves a trained mouse action network as the next version in the store, where scorers load it from. */
export function storeActionNetwork(db: Db, network: ActionNetwork, agents: number, summary: Record<string, unknown> = {}): Promise<{ artifacts: TfModelJson; version: number }> {
  return storeNetwork(db, ACTION_NETWORK, network, agents, summary);
}

async function storeNetwork(db: Db, name: string, network: StoredNetwork, agents: number, summary: Record<string, unknown>): Promise<{ artifacts: TfModelJson; version: number }> {
  const artifacts = modelToJson(network.model);
  const record = await new PopulationModelStore(db).save(name, agents, { fingerprint: network.fingerprint, parameters: network.parameters, ...summary }, artifacts);
  return { artifacts, version: record.version };
}
