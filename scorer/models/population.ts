/**
 * The population a model may learn from: a bounded sample of each enrolled agent's windows per
 * modality, held by the scorer in memory and rebuilt from the profile store at start. A model fitting
 * agent A gets everyone else's windows as its background (never A's own), so per-agent classifiers
 * learn "A versus the other agents of this deployment" and no weights trained elsewhere ship.
 */
import { MODALITIES, type ProfileBody } from '../profile/profile.js';
import type { Modality } from '../features/types.js';
import type { Background } from './types.js';

/** Agents a scorer's sample keeps by default. */
export const POPULATION_MAX_AGENTS = 500;

export interface PopulationOptions {
  /**
   * Windows kept per agent and modality, evenly spaced over the profile (default 10: a keystroke
   * window with keyVectors is ~1,400 numbers, so 500 agents hold ~7M; the models sample at most
   * 4,000 negative units anyway).
   */
  readonly windowsPerAgent?: number;
  /** Agents kept; beyond this, the earliest added are dropped (default POPULATION_MAX_AGENTS). */
  readonly maxAgents?: number;
  /**
   * Called with each agent's new sample, and with undefined when an agent leaves the sample
   * (deleted, or dropped beyond maxAgents): the fit pool keeps its workers' copies in step with it.
   */
  readonly onChange?: (agentId: string, sample: AgentSample | undefined) => void;
}

/** One agent's windows in the sample, by modality. */
export type AgentSample = ReadonlyMap<Modality, readonly (readonly number[])[]>;

export class PopulationSample {
  private readonly agents = new Map<string, AgentSample>();
  private readonly perAgent: number;
  private readonly maxAgents: number;

  constructor(private readonly o: PopulationOptions = {}) {
    this.perAgent = o.windowsPerAgent ?? 10;
    this.maxAgents = o.maxAgents ?? POPULATION_MAX_AGENTS;
  }

  get size(): number {
    return this.agents.size;
  }

  /** Records (or replaces) an agent's sample from its profile. */
  set(agentId: string, body: ProfileBody): void {
    const byModality = new Map<Modality, readonly (readonly number[])[]>();
    for (const m of MODALITIES) byModality.set(m, evenSample(body[m].windows, this.perAgent));
    this.put(agentId, byModality);
  }

  /** Records (or replaces) an agent's sample as it is, already sampled (a fit worker's copy of the scorer's). */
  put(agentId: string, sample: AgentSample): void {
    this.agents.delete(agentId);
    this.agents.set(agentId, sample);
    this.o.onChange?.(agentId, sample);
    if (this.agents.size > this.maxAgents) this.delete(this.agents.keys().next().value as string);
  }

  delete(agentId: string): void {
    if (this.agents.delete(agentId)) this.o.onChange?.(agentId, undefined);
  }

  /** Every agent's sample, earliest added first. */
  entries(): IterableIterator<[string, AgentSample]> {
    return this.agents.entries();
  }

  /**
   * Every other agent's windows of the modality (agents with none are not counted), in agent id
   * order: the models sample their negatives from this list, so a fit must not depend on the order
   * in which agents happened to enrol (concurrent enrolments, a scorer's start).
   */
  background(modality: Modality, exceptAgent: string): Background {
    const windows: (readonly number[])[] = [];
    let agents = 0;
    for (const id of [...this.agents.keys()].sort()) {
      if (id === exceptAgent) continue;
      const w = this.agents.get(id)?.get(modality) ?? [];
      if (w.length === 0) continue;
      agents++;
      windows.push(...w);
    }
    return { agents, windows };
  }
}

/**
 * At most `n` items, spread evenly over `items` (all of them when there are few enough). `phase`
 * in [0, 1) shifts the picks within each step, so samples of different phases take different items.
 */
export function evenSample<T>(items: readonly T[], n: number, phase = 0): T[] {
  if (items.length <= n) return items.slice();
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i + phase) * step)] as T);
}
