/**
 * The trust engine: turns calibrated window scores into trust over time and a decision.
 *
 * Each window score z is standardised on the agent's own behaviour (about N(0,1) for the agent).
 * The engine runs a one-sided CUSUM, the sequential likelihood-ratio test for "the scores have
 * shifted up by `shift` standard deviations": each window adds the log-likelihood ratio
 * shift*z - shift^2/2 of N(shift,1) against N(0,1), and the sum never drops below zero, so old good
 * behaviour cannot bank credit against a takeover. Keyboard and mouse windows feed the same sum,
 * which fuses both modalities' evidence over time.
 *
 * Each modality has its own shift and clip, because someone else's windows sit further from the
 * agent on one than on the other (measured in the takeover protocol: keystroke windows of
 * impostors average about 5 standard deviations, mouse windows about 3). One shift for both either
 * undercounts the keyboard or lets the mouse's heavier genuine tails add up to false terminates.
 *
 * Trust falls linearly with the evidence: 1 with none, 0 at `terminateAt`.
 *
 * A passed MFA challenge shows who holds the agent's second factor, not who is at the keyboard: a
 * complicit agent answers it for whoever they handed the session to. So it lifts the challenge but
 * keeps the evidence (the terminate threshold still ends a takeover where it would have without
 * the challenge), and the next challenge comes only after trust has recovered above the band.
 */
import type { Modality } from '../features/types.js';

/** How one modality's window scores count as evidence. */
export interface EvidencePolicy {
  /** Upward shift of an impostor's window scores the test looks for, in the agent's standard deviations. */
  readonly shift: number;
  /** Window scores are clipped to +-maxScore, so one odd window adds at most shift*maxScore - shift^2/2. */
  readonly maxScore: number;
}

export interface TrustPolicy {
  readonly evidence: Readonly<Record<Modality, EvidencePolicy>>;
  /** Evidence (natural-log likelihood ratio) at which the session is terminated. */
  readonly terminateAt: number;
  /** Trust at or below which the agent is challenged (0 disables challenges). */
  readonly challengeBelow: number;
}

/**
 * Chosen on the takeover protocol's recorded window scores of two samples of 72 agents (docs/
 * evaluation-notebook.md, "Trust on two samples of agents", and for the threshold "The mouse
 * action network"): shifts a little below each modality's typical impostor score (keystroke windows about
 * 5.1, mouse windows about 2.7), which is what the test is most sensitive to; clips that keep any
 * single window well below the threshold (at most 16.9 of 23); the threshold for under 1 false
 * terminate per 100 agent-hours on both samples (0.72 and 0.69 simulated with the mouse action
 * network; 24 gave 0.33 and 0.89, with a median time to drop of 30.6 s on one sample).
 */
export const DEFAULT_TRUST_POLICY: TrustPolicy = {
  evidence: { keystroke: { shift: 4.5, maxScore: 6 }, mouse: { shift: 2.5, maxScore: 6 } },
  terminateAt: 23,
  challengeBelow: 0.5,
};

/**
 * Evidence one stretch of impossible client event times adds (scorer/timing/client-times.ts): a
 * client whose claimed times go backwards or come after their arrival is lying or broken. It
 * counts as about one suspicious keystroke window, not a verdict: a clock can misbehave once.
 */
export const DEFAULT_TIMING_EVIDENCE = 2;

/** The most evidence one window of the modality can add. */
export function maxWindowEvidence(e: EvidencePolicy): number {
  return e.shift * e.maxScore - (e.shift * e.shift) / 2;
}

export type TrustLevel = 'trusted' | 'suspect' | 'mismatch';
export type TrustAction = 'none' | 'challenge' | 'terminate';

export interface TrustState {
  /** Accumulated evidence against the agent, >= 0. */
  readonly evidence: number;
  /** In [0, 1]. */
  readonly trust: number;
  readonly minTrust: number;
  readonly windows: number;
  /** A challenge is outstanding: it is not asked again until the identity is confirmed. */
  readonly challenged: boolean;
  readonly terminated: boolean;
}

export interface TrustUpdate {
  readonly state: TrustState;
  readonly level: TrustLevel;
  /** What to do now: each action is returned once, when its threshold is first crossed. */
  readonly action: TrustAction;
}

export const INITIAL_TRUST: TrustState = {
  evidence: 0,
  trust: 1,
  minTrust: 1,
  windows: 0,
  challenged: false,
  terminated: false,
};

/**
 * The state of a session that continues the evidence of an ended one (an agent on probation after a
 * security decision): the evidence that brought trust down to `trust`, with no challenge
 * outstanding and nothing terminated yet. At 0 the next window above the agent's typical score
 * ends the session, which is what continuing the evidence means.
 */
export function carriedTrust(trust: number, policy: TrustPolicy): TrustState {
  const t = Math.max(0, Math.min(1, trust));
  return { ...INITIAL_TRUST, evidence: (1 - t) * policy.terminateAt, trust: t, minTrust: t };
}

/** Evidence one window adds (negative values pull the sum back towards zero). */
export function windowEvidence(score: number, e: EvidencePolicy): number {
  const z = Math.max(-e.maxScore, Math.min(e.maxScore, score));
  return e.shift * z - (e.shift * e.shift) / 2;
}

export function trustOf(evidence: number, policy: TrustPolicy): number {
  return Math.max(0, 1 - evidence / policy.terminateAt);
}

export function levelOf(state: TrustState, policy: TrustPolicy): TrustLevel {
  if (state.terminated) return 'mismatch';
  return state.trust <= policy.challengeBelow ? 'suspect' : 'trusted';
}

/**
 * The state after one scored window, plus `extraEvidence` gathered since the last one (inconsistent
 * client times). The extra is added after the window's own evidence is floored at zero, so the
 * agent's typical windows do not absorb it unseen: it shows as a dip their next windows recover.
 * NaN scores carry no evidence and leave trust as it was.
 */
export function updateTrust(state: TrustState, score: number, modality: Modality, policy: TrustPolicy, extraEvidence = 0): TrustUpdate {
  if (state.terminated || Number.isNaN(score)) {
    return { state, level: levelOf(state, policy), action: 'none' };
  }
  const evidence = Math.max(0, state.evidence + windowEvidence(score, policy.evidence[modality])) + extraEvidence;
  const trust = trustOf(evidence, policy);
  const terminated = evidence >= policy.terminateAt;
  // Only on the way down into the band: trust still in it after a confirmed identity asks nothing more.
  const challenge = !terminated && !state.challenged && trust <= policy.challengeBelow && state.trust > policy.challengeBelow;
  const next: TrustState = {
    evidence,
    trust,
    minTrust: Math.min(state.minTrust, trust),
    windows: state.windows + 1,
    challenged: state.challenged || challenge,
    terminated,
  };
  const action: TrustAction = terminated ? 'terminate' : challenge ? 'challenge' : 'none';
  return { state: next, level: levelOf(next, policy), action };
}

/**
 * Evidence from outside the agent's profile ended the session (remote control suspected,
 * scorer/remote-control/): it has its own test and operating point, and ends the session whatever
 * the profile's evidence, enrolling or not.
 */
export function terminatedOutright(state: TrustState): TrustState {
  return { ...state, trust: 0, minTrust: 0, terminated: true };
}

/** The agent passed a fresh MFA challenge: the challenge is lifted, the evidence stays (see above). */
export function confirmIdentity(state: TrustState): TrustState {
  if (state.terminated) return state;
  return { ...state, challenged: false };
}
