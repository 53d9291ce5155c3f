/**
 * An agent's behavioural profile: the enrolled timing-feature windows per modality and the model
 * template fitted on them. Pure functions; the store persists the result as a new version.
 *
 * Lifecycle: a modality is ready once enough behaviour is enrolled and a template could be fitted;
 * the profile is mature (verdicts enforced) once any modality is ready.
 */
import type { JsonValue } from '../../lib/json.js';

export type Modality = 'keystroke' | 'mouse';
export const MODALITIES: readonly Modality[] = ['keystroke', 'mouse'];

export interface ModalityEnrolment {
  /** Keystrokes (keyboard) or actions (mouse) enrolled so far. */
  readonly units: number;
  /** Feature vectors of enrolled windows, oldest first. Timings only, never key identities. */
  readonly windows: readonly (readonly number[])[];
  /** Name of the model that fitted `template`. */
  readonly model: string;
  /** The model's per-agent template, or null while there are too few windows to fit one. */
  readonly template: JsonValue | null;
}

export interface ProfileBody {
  readonly keystroke: ModalityEnrolment;
  readonly mouse: ModalityEnrolment;
}

export type ProfileState = 'enrolling' | 'mature';

export interface MaturityPolicy {
  /** Keystrokes before the keyboard modality is enforced. */
  readonly keystrokes: number;
  /** Mouse actions before the mouse modality is enforced. */
  readonly mouseActions: number;
  /** Windows kept per modality; the oldest are dropped so a profile follows slow drift. */
  readonly maxWindows: number;
}

/** Fits a template from windows (null when there are too few) and names the model that did. */
export type Fit = (windows: readonly (readonly number[])[]) => Promise<{ readonly model: string; readonly template: JsonValue | null }>;

export function emptyProfile(): ProfileBody {
  const empty: ModalityEnrolment = { units: 0, windows: [], model: '', template: null };
  return { keystroke: empty, mouse: empty };
}

export function required(policy: MaturityPolicy, modality: Modality): number {
  return modality === 'keystroke' ? policy.keystrokes : policy.mouseActions;
}

export function isReady(body: ProfileBody, modality: Modality, policy: MaturityPolicy): boolean {
  const m = body[modality];
  return m.template !== null && m.units >= required(policy, modality);
}

export function profileState(body: ProfileBody, policy: MaturityPolicy): ProfileState {
  return MODALITIES.some((m) => isReady(body, m, policy)) ? 'mature' : 'enrolling';
}

/** Behaviour still needed before a modality is ready (0 when it is). */
export function stillRequired(body: ProfileBody, modality: Modality, policy: MaturityPolicy): number {
  return Math.max(0, required(policy, modality) - body[modality].units);
}

/**
 * Significant digits a stored window value keeps. Feature values come from millisecond timestamps
 * and pixel positions, so digits beyond the fourth are noise; the full doubles made a mature
 * profile version 4.6 MB of JSON, rounded it is 2.5 MB. Fits see the rounded windows too, so a refit
 * from the store sees what the first fit saw (measured: AUC 0.958 -> 0.960 on SapiMouse, 0.973 ->
 * 0.974 on Aalto, 12 users each; see docs/evaluation.md).
 */
export const STORED_DIGITS = 4;

export function roundWindow(window: readonly number[]): number[] {
  return window.map((x) => (Number.isFinite(x) ? Number(x.toPrecision(STORED_DIGITS)) : x));
}

/**
 * The profile with `windows` (covering `units` keystrokes or actions) added to `modality` and the
 * template refitted. Also refits when the stored template came from another model.
 */
export async function addWindows(
  body: ProfileBody,
  modality: Modality,
  added: { windows: readonly (readonly number[])[]; units: number },
  fit: Fit,
  policy: MaturityPolicy,
): Promise<ProfileBody> {
  const current = body[modality];
  const windows = [...current.windows, ...added.windows.slice(-policy.maxWindows).map(roundWindow)].slice(-policy.maxWindows);
  const { model, template } = await fit(windows);
  const next: ModalityEnrolment = { units: current.units + added.units, windows, model, template };
  return { ...body, [modality]: next };
}
