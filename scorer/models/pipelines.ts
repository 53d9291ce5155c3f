/**
 * Which extractor and model serve each modality, and which events go to which. The scorer
 * service, enrolment and the evaluation harness all build their pipelines here, so they always
 * score the same way.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { JsonValue } from '../../lib/json.js';
import type { FeatureWindow, Modality, WindowExtractor } from '../features/types.js';
import { KeystrokeExtractor, type KeystrokeOptions } from '../features/keystroke.js';
import { MouseExtractor, type MouseOptions } from '../features/mouse.js';
import type { ModalityModel } from './types.js';
import { ScaledManhattan } from './scaled-manhattan.js';
import { KeystrokeEmbedding, type KeyEmbeddingNetwork } from './keystroke-embedding.js';
import { ActionFusion, type ActionNetwork } from './action-network.js';

/** How one modality turns events into calibrated window scores. */
export interface ModalityPipeline {
  readonly modality: Modality;
  createExtractor(): WindowExtractor;
  readonly model: ModalityModel<JsonValue>;
}

export interface PipelineOptions {
  readonly keystroke?: KeystrokeOptions;
  readonly mouse?: MouseOptions;
  /**
   * The trained keystroke embedding network (`trainKeyEmbedding`, after `initTf()`); without it
   * the keyboard model scores with its per-keystroke classifier alone (a new deployment).
   */
  readonly keyEmbedding?: KeyEmbeddingNetwork;
  /**
   * The trained mouse action network (`trainActionNetwork`); without it, or for agents it was not
   * trained on, the mouse model scores with its per-agent action classifier alone.
   */
  readonly actionNetwork?: ActionNetwork;
  /**
   * Seed of the mouse model's networks (default: the model's own). The evaluation varies it: how
   * far a figure moves between seeds is its noise.
   */
  readonly mouseSeed?: number;
}

/** Builds a pipeline set for given extractor options (the evaluation varies window sizes). */
export type PipelineFactory = (options?: PipelineOptions) => ModalityPipeline[];

/** The production pipelines: what the scorer, enrolment and `vdiguard eval` use by default. */
export function defaultPipelines(options: PipelineOptions = {}): ModalityPipeline[] {
  return [
    {
      modality: 'keystroke',
      createExtractor: () => new KeystrokeExtractor({ ...options.keystroke, keyVectors: true }),
      model: new KeystrokeEmbedding(options.keyEmbedding) as unknown as ModalityModel<JsonValue>,
    },
    {
      modality: 'mouse',
      createExtractor: () => new MouseExtractor({ ...options.mouse, actionVectors: true }),
      model: new ActionFusion(options.actionNetwork, options.mouseSeed !== undefined ? { seed: options.mouseSeed } : {}) as unknown as ModalityModel<JsonValue>,
    },
  ];
}

/** The foundation issue's baseline (scaled Manhattan on both modalities), kept as the comparison row. */
export function baselinePipelines(options: PipelineOptions = {}): ModalityPipeline[] {
  return [
    {
      modality: 'keystroke',
      createExtractor: () => new KeystrokeExtractor(options.keystroke),
      model: new ScaledManhattan() as ModalityModel<JsonValue>,
    },
    {
      modality: 'mouse',
      createExtractor: () => new MouseExtractor(options.mouse),
      model: new ScaledManhattan() as ModalityModel<JsonValue>,
    },
  ];
}

export function modalityOf(e: InputEvent): Modality | undefined {
  const kind = e.kind?.$case;
  return kind === 'key' ? 'keystroke' : kind === 'mouse' ? 'mouse' : undefined;
}

/** One extractor per pipeline, with each event routed to its modality's extractor. */
export class RoutedExtractor implements WindowExtractor {
  private readonly byModality: Map<Modality, WindowExtractor>;

  constructor(pipelines: readonly ModalityPipeline[]) {
    this.byModality = new Map(pipelines.map((p) => [p.modality, p.createExtractor()]));
  }

  push(e: InputEvent): FeatureWindow[] {
    const modality = modalityOf(e);
    return (modality && this.byModality.get(modality)?.push(e)) || NO_WINDOWS;
  }
}

const NO_WINDOWS: FeatureWindow[] = Object.freeze([]) as unknown as FeatureWindow[];
