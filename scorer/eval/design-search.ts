/**
 * Which takeovers any trust policy could catch, from one recorded takeover run.
 *
 * The trust engine is a CUSUM whose design is a shift per modality; its threshold then follows from
 * the false-terminate target. For each design on a grid, this finds the lowest threshold that keeps
 * the target (by the same bootstrap of the agents' own genuine window scores as the takeover
 * report, and with no streamed genuine stretch terminated) and lists the takeovers it still misses.
 * A takeover that no design catches is out of the trust engine's reach on these window scores:
 * only better scores, or more of the impostor's behaviour, can catch it.
 *
 * The same search with ideally calibrated genuine scores (fresh N(0,1) draws in place of every
 * genuine window, the impostors' windows kept) says which of the two limits it: the agents' own
 * drift from their calibration (caught with ideal calibration), or an impostor whose windows
 * score like the agent's (missed even then).
 */
import { gaussian, seededRandom } from '../../lib/random.js';
import { maxWindowEvidence, type EvidencePolicy, type TrustPolicy } from '../trust/trust.js';
import { DEFAULT_SIMULATION, firstTerminate, simulateFalseTerminates, type ScoreTrace, type SimulationOptions } from './false-terminates.js';
import { quantile, round } from './summary.js';

/** What the search needs of one agent's recorded sessions (the takeover protocol's traces). */
export interface RecordedTakeover {
  readonly agent: string;
  readonly genuine: ScoreTrace;
  readonly genuineMs: number;
  readonly takeover: ScoreTrace;
  /** When the impostor took over, from the start of the takeover session. */
  readonly takeoverAtMs: number;
  /** When the scorer itself terminated each session (its scores stop there), or null. */
  readonly scorerTerminatedMs: { readonly genuine: number | null; readonly takeover: number | null };
}

export interface DesignSearchOptions {
  /** False terminates per 100 agent-hours that a design's threshold must keep (default 1). */
  readonly targetPer100h?: number;
  readonly keystrokeShifts?: readonly number[];
  readonly mouseShifts?: readonly number[];
  /** Clip (largest window score counted) of both modalities (default 6, the default policy's). */
  readonly maxScore?: number;
  /** Seed of the ideal genuine scores. */
  readonly seed?: number;
  /** The bootstrap of the genuine scores (default: the takeover report's). */
  readonly simulation?: SimulationOptions;
}

export interface Design {
  readonly terminateAt: number;
  readonly evidence: TrustPolicy['evidence'];
  /** Agents whose takeover this design does not terminate. */
  readonly missed: readonly string[];
  readonly secondsToDropMedian: number;
  readonly falseTerminatesPer100hSimulated: number;
}

export interface DesignSearchResult {
  /** Designs that keep the target, fewest missed first, then fastest. */
  readonly designs: readonly Design[];
  /** Agents no design catches (every agent missed by some design when no design keeps the target). */
  readonly missedByEveryDesign: readonly string[];
  /** Designs left out because the recorded scores stop (at the scorer's terminate) before they could decide. */
  readonly notReplayable: number;
}

export interface DesignSearch {
  readonly targetPer100h: number;
  readonly recorded: DesignSearchResult;
  readonly idealCalibration: DesignSearchResult;
}

const DEFAULTS: Required<DesignSearchOptions> = {
  targetPer100h: 1,
  keystrokeShifts: [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5],
  mouseShifts: [0.5, 1, 1.5, 2, 2.5, 3],
  maxScore: 6,
  seed: 1,
  simulation: DEFAULT_SIMULATION,
};
/** Thresholds are searched to this resolution, up to HIGHEST. */
const RESOLUTION = 0.1;
const HIGHEST = 200;

/** Whether every session the scorer cut short would also have been terminated by `policy` by then. */
export function replayable(traces: readonly RecordedTakeover[], policy: TrustPolicy): boolean {
  return traces.every((t) => (['genuine', 'takeover'] as const).every((kind) => t.scorerTerminatedMs[kind] === null || firstTerminate(t[kind], policy) !== null));
}

export function searchDesigns(traces: readonly RecordedTakeover[], o: DesignSearchOptions = {}): DesignSearch {
  const opts: Required<DesignSearchOptions> = { ...DEFAULTS, ...o };
  const random = seededRandom(opts.seed);
  const ideal = traces.map((t) => ({
    ...t,
    genuine: t.genuine.map((w) => (Number.isNaN(w.score) ? w : { ...w, score: gaussian(random) })),
    takeover: t.takeover.map((w) => (w.atMs > t.takeoverAtMs || Number.isNaN(w.score) ? w : { ...w, score: gaussian(random) })),
  }));
  return { targetPer100h: opts.targetPer100h, recorded: searchOn(traces, opts), idealCalibration: searchOn(ideal, opts) };
}

function searchOn(traces: readonly RecordedTakeover[], o: Required<DesignSearchOptions>): DesignSearchResult {
  const designs: Design[] = [];
  let notReplayable = 0;
  for (const ks of o.keystrokeShifts) {
    for (const ms of o.mouseShifts) {
      const evidence = { keystroke: { shift: ks, maxScore: o.maxScore }, mouse: { shift: ms, maxScore: o.maxScore } };
      const policy = lowestKeepingTarget(traces, evidence, o);
      if (policy === null) continue;
      if (!replayable(traces, policy)) {
        notReplayable++;
        continue;
      }
      designs.push(designOf(traces, policy, o.simulation));
    }
  }
  designs.sort((a, b) => a.missed.length - b.missed.length || a.secondsToDropMedian - b.secondsToDropMedian);
  const missedByEveryDesign = designs.length === 0 ? [] : traces.map((t) => t.agent).filter((a) => designs.every((d) => d.missed.includes(a)));
  return { designs, missedByEveryDesign, notReplayable };
}

/**
 * The design's policy at the lowest threshold keeping the target, or null if none up to HIGHEST
 * does. Never a threshold one window can reach, as for the default policy.
 */
function lowestKeepingTarget(traces: readonly RecordedTakeover[], evidence: Record<'keystroke' | 'mouse', EvidencePolicy>, o: Required<DesignSearchOptions>): TrustPolicy | null {
  const policyAt = (terminateAt: number): TrustPolicy => ({ evidence, terminateAt, challengeBelow: 0 });
  const keeps = (terminateAt: number): boolean => keepsTarget(traces, policyAt(terminateAt), o);
  let lo = Math.max(0, maxWindowEvidence(evidence.keystroke), maxWindowEvidence(evidence.mouse)) + 0.01;
  let hi = HIGHEST;
  if (!keeps(hi)) return null;
  // Rounded up, so the reported threshold is never one the search found too low.
  const reported = (x: number): TrustPolicy => policyAt(Math.ceil(x * 100 - 1e-9) / 100);
  if (keeps(lo)) return reported(lo);
  while (hi - lo > RESOLUTION) {
    const mid = (lo + hi) / 2;
    if (keeps(mid)) hi = mid;
    else lo = mid;
  }
  return reported(hi);
}

/** No streamed genuine stretch terminated, and the bootstrap within the target. */
function keepsTarget(traces: readonly RecordedTakeover[], policy: TrustPolicy, o: Required<DesignSearchOptions>): boolean {
  for (const t of traces) {
    if (firstTerminate(t.genuine, policy) !== null) return false;
    const drop = firstTerminate(t.takeover, policy);
    if (drop !== null && drop <= t.takeoverAtMs) return false;
  }
  return simulateFalseTerminates(genuineScores(traces), policy, o.simulation).per100Hours <= o.targetPer100h;
}

function genuineScores(traces: readonly RecordedTakeover[]): { windows: ScoreTrace; seconds: number }[] {
  return traces.map((t) => ({ windows: t.genuine, seconds: t.genuineMs / 1000 }));
}

function designOf(traces: readonly RecordedTakeover[], policy: TrustPolicy, simulation: SimulationOptions): Design {
  const missed: string[] = [];
  const seconds: number[] = [];
  for (const t of traces) {
    const drop = firstTerminate(t.takeover, policy);
    if (drop === null) missed.push(t.agent);
    else seconds.push((drop - t.takeoverAtMs) / 1000);
  }
  return {
    terminateAt: policy.terminateAt,
    evidence: policy.evidence,
    missed,
    secondsToDropMedian: round(quantile(seconds, 0.5), 2),
    falseTerminatesPer100hSimulated: round(simulateFalseTerminates(genuineScores(traces), policy, simulation).per100Hours, 2),
  };
}
