/**
 * False terminates per hour, estimated beyond the genuine activity a dataset holds.
 *
 * The takeover protocol streams a few genuine hours, far too few to see a rate of one false
 * terminate per 100 agent-hours. This replays each agent's OWN genuine window scores, from its
 * genuine session through the real scorer, through the trust engine for many simulated hours,
 * resampled with replacement (a bootstrap), so the estimate keeps each agent's bias and tails
 * instead of assuming calibrated N(0,1) scores. Each terminate starts a new simulated session.
 *
 * Blocks of one window by default: a block bootstrap keeps short-range correlation but replays the
 * recorded sequence's worst stretch about once per recorded length, so it cannot see run lengths
 * beyond the data (measured: N(0,1) scores, threshold 12, 20,000 windows resampled in blocks of 10
 * gave one false terminate per 42,000 windows where theory and fresh draws give ~800,000; single
 * windows gave 720,000). With the ~30 genuine windows per agent of the takeover protocol, sampling
 * noise in each agent's scores looks like bias, so the estimate errs high, on the safe side.
 */
import { seededRandom } from '../../lib/random.js';
import type { Modality } from '../features/types.js';
import { INITIAL_TRUST, updateTrust, type TrustPolicy, type TrustState } from '../trust/trust.js';

/** A window the scorer fed to the trust engine. */
export interface ScoredWindow {
  /** NaN: no evidence. */
  readonly score: number;
  readonly modality: Modality;
  /** Evidence the scorer added with this window for inconsistent client times (scorer/session/session.ts). */
  readonly timingEvidence?: number;
}

export interface GenuineScores {
  /** The agent's windows in the order the scorer produced them. */
  readonly windows: readonly ScoredWindow[];
  /** Seconds of activity those windows covered. */
  readonly seconds: number;
}

export interface SimulationOptions {
  /** Simulated hours of activity per agent. */
  readonly hoursPerAgent: number;
  /** Consecutive windows per resampled block. */
  readonly blockWindows: number;
  readonly seed: number;
}

export interface FalseTerminateEstimate {
  readonly terminates: number;
  readonly hours: number;
  readonly per100Hours: number;
  /** Agents with at least one simulated false terminate. */
  readonly agentsAffected: number;
  readonly agents: number;
}

export const DEFAULT_SIMULATION: SimulationOptions = { hoursPerAgent: 50, blockWindows: 1, seed: 1 };

export function simulateFalseTerminates(agents: readonly GenuineScores[], policy: TrustPolicy, o: SimulationOptions = DEFAULT_SIMULATION): FalseTerminateEstimate {
  const random = seededRandom(o.seed);
  let terminates = 0;
  let hours = 0;
  let agentsAffected = 0;
  let used = 0;
  for (const a of agents) {
    const n = a.windows.length;
    if (n === 0 || a.seconds <= 0) continue;
    used++;
    const windowsPerHour = (n * 3600) / a.seconds;
    const total = Math.round(o.hoursPerAgent * windowsPerHour);
    let state: TrustState = INITIAL_TRUST;
    let own = 0;
    for (let done = 0; done < total; ) {
      const start = Math.floor(random() * n);
      for (let k = 0; k < o.blockWindows && done < total; k++, done++) {
        const w = a.windows[(start + k) % n] as ScoredWindow;
        state = updateTrust(state, w.score, w.modality, policy, w.timingEvidence ?? 0).state;
        if (state.terminated) {
          own++;
          state = INITIAL_TRUST;
        }
      }
    }
    terminates += own;
    if (own > 0) agentsAffected++;
    hours += total / windowsPerHour;
  }
  return { terminates, hours, per100Hours: hours > 0 ? (100 * terminates) / hours : Number.NaN, agentsAffected, agents: used };
}

/** Every window a session fed to the trust engine, in order, with its time from the start. */
export type ScoreTrace = readonly (ScoredWindow & { readonly atMs: number })[];

/** When the trust engine, fed a session's window scores, first terminates (ms), or null. */
export function firstTerminate(trace: ScoreTrace, policy: TrustPolicy): number | null {
  let state = INITIAL_TRUST;
  for (const w of trace) {
    state = updateTrust(state, w.score, w.modality, policy, w.timingEvidence ?? 0).state;
    if (state.terminated) return w.atMs;
  }
  return null;
}
