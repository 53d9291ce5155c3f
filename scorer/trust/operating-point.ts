/**
 * The operating point as a policy: a target of at most N false terminates per 100 agent-hours,
 * turned into the trust engine's terminate threshold.
 *
 * The trust engine is a CUSUM on calibrated window scores (shift*z - shift^2/2 per window), i.e. a
 * CUSUM on z with reference k = shift/2 and decision interval terminateAt/shift. For scores that
 * really are N(0,1) on the agent, Siegmund's approximation gives its average run length between
 * false terminates. The threshold is the smallest one whose run length covers the target.
 *
 * Real genuine scores are not exactly N(0,1) on a new day: `vdiguard eval takeover --sweep` measures
 * how far the development split's rates are from this (docs/evaluation.md), which is why the
 * threshold stays a setting too.
 */
import type { Modality } from '../features/types.js';
import { maxWindowEvidence, type EvidencePolicy } from './trust.js';

/** Active windows per agent-hour assumed by the policy: an agent working steadily (keystroke windows of 50 keys, mouse windows of 20 actions). */
export const ACTIVE_WINDOWS_PER_HOUR = 600;

/** Average windows between false terminates for N(0,1) scores (Siegmund's approximation). */
export function inControlRunLength(shift: number, terminateAt: number): number {
  const k = shift / 2;
  const b = terminateAt / shift + 1.166;
  return (Math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k);
}

/**
 * The threshold for a target rate with each modality's own shift: the highest that any modality
 * would need if every window were its own, so a session mixing both stays within the target; and
 * never one that a single window could reach (the trust engine's rule), which on real scores is
 * often the higher of the two.
 */
export function terminateAtForPolicy(per100Hours: number, evidence: Readonly<Record<Modality, EvidencePolicy>>, windowsPerHour = ACTIVE_WINDOWS_PER_HOUR): number {
  const policies = Object.values(evidence);
  const theory = Math.max(...policies.map((e) => terminateAtFor(per100Hours, e.shift, windowsPerHour)));
  const aboveOneWindow = (Math.floor(Math.max(...policies.map(maxWindowEvidence)) * 100) + 1) / 100;
  return Math.max(theory, aboveOneWindow);
}

/**
 * The smallest terminate threshold (to 0.01) whose false terminates stay at or below
 * `per100Hours` per 100 agent-hours of `windowsPerHour` windows, within [1, 1000].
 */
export function terminateAtFor(per100Hours: number, shift: number, windowsPerHour = ACTIVE_WINDOWS_PER_HOUR): number {
  const needed = (100 * windowsPerHour) / per100Hours;
  let lo = 1;
  let hi = 1000;
  if (inControlRunLength(shift, lo) >= needed) return lo;
  while (hi - lo > 0.005) {
    const mid = (lo + hi) / 2;
    if (inControlRunLength(shift, mid) >= needed) hi = mid;
    else lo = mid;
  }
  return Math.ceil(hi * 100) / 100;
}
