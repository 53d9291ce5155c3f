/** The interface every behaviour model of one modality implements. */
import type { JsonValue } from '../recording/format.js';

export type { JsonValue };

/** Behaviour of other agents a model may learn from (population negatives); never the agent's own. */
export interface Background {
  /** How many distinct agents the windows come from. */
  readonly agents: number;
  /** Their windows, from the same extractor as the agent's. */
  readonly windows: readonly (readonly number[])[];
}

/** What a fit may use besides the agent's own windows. */
export interface FitContext {
  readonly background?: Background;
  /** The agent being fitted: a population network trained on it has an output of its own. */
  readonly agentId?: string;
}

export interface ModalityModel<T extends JsonValue> {
  /** Stable name, stored with each template (for example 'scaled-manhattan'). */
  readonly name: string;
  /**
   * The agent's template from enrolment windows (feature vectors, NaN for missing features).
   * JSON-serialisable so the profile store keeps it as it is. Throws VdiguardError
   * 'failed-precondition' when there are too few windows. Models that use a population take it
   * from `context` and must still fit (falling back to a one-class template) without one.
   */
  fit(windows: readonly number[][], context?: FitContext): T;
  /**
   * A CALIBRATED distance: the agent's own windows score about N(0,1); larger = less like the
   * agent. NaN when the vector shares no usable feature with the template (no evidence).
   */
  score(template: T, vector: readonly number[]): number;
}
