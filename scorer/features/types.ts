/** Shared types of the feature extractors. */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

export type Modality = 'keystroke' | 'mouse';

/** The features of one window of behaviour: the unit that models score. */
export interface FeatureWindow {
  modality: Modality;
  /** One value per name in the modality's feature list (KEYSTROKE_FEATURES / MOUSE_FEATURES); NaN when absent. */
  vector: number[];
  /** Time of the window's first event, ms (the events' clock). */
  startTimeMs: number;
  /** Time of the window's last event, ms. */
  endTimeMs: number;
  /** Keystrokes or mouse actions in the window. */
  count: number;
}

/** Takes a session's events one by one, in time order; returns the windows each one completed. */
export interface WindowExtractor {
  push(e: InputEvent): FeatureWindow[];
}
