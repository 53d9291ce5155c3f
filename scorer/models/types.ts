/** The interface every behaviour model of one modality implements. */
import type { JsonValue } from '../recording/format.js';

export type { JsonValue };

export interface ModalityModel<T extends JsonValue> {
  /** Stable name, stored with each template (for example 'scaled-manhattan'). */
  readonly name: string;
  /**
   * The agent's template from enrolment windows (feature vectors, NaN for missing features).
   * JSON-serialisable so the profile store keeps it as it is. Throws VdiguardError
   * 'failed-precondition' when there are too few windows.
   */
  fit(windows: readonly number[][]): T;
  /**
   * A CALIBRATED distance: the agent's own windows score about N(0,1); larger = less like the
   * agent. NaN when the vector shares no usable feature with the template (no evidence).
   */
  score(template: T, vector: readonly number[]): number;
}
