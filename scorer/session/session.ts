/**
 * One desktop session inside the scorer: events in, verdicts out. No I/O: the gRPC service feeds
 * it and persists what it returns, which keeps the behaviour testable on recorded data.
 *
 * Per completed feature window: score it against the agent's template when that modality is ready,
 * update trust, and decide. While the profile is enrolling, windows are scored for information
 * only and never enforced. The session also gathers what it may add to the profile, which its
 * owner takes in parts (see takeContribution()).
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { FeatureWindow } from '../features/types.js';
import { RoutedExtractor, type ModalityPipeline } from '../models/pipelines.js';
import {
  emptyProfile,
  isReady,
  MODALITIES,
  profileState,
  stillRequired,
  type MaturityPolicy,
  type Modality,
  type ProfileBody,
  type ProfileState,
} from '../profile/profile.js';
import { carriedTrust, confirmIdentity, DEFAULT_TIMING_EVIDENCE, INITIAL_TRUST, terminatedOutright, updateTrust, type TrustAction, type TrustPolicy, type TrustState } from '../trust/trust.js';
import type { TrustPoint } from '../store/audit.js';
import type { ModalityWindows } from '../store/profiles.js';
import { describeCoupling } from '../timing/lag-coupling.js';
import { DEFAULT_CLIENT_TIME_POLICY, EventTimes, type ClientTimePolicy, type MeasuredEvent, type TimingReport } from '../timing/client-times.js';
import { DEFAULT_REMOTE_CONTROL_POLICY, describeRemoteControl, RemoteControlDetector, type RemoteControlFinding, type RemoteControlPolicy } from '../remote-control/detector.js';

export interface SessionPolicy {
  readonly trust: TrustPolicy;
  readonly maturity: MaturityPolicy;
  /** After a confirmed identity, windows scoring at most this adapt the profile. */
  readonly adaptMaxScore: number;
  /**
   * Which client times are trusted (scorer/timing/client-times.ts); the default when unset, and
   * none when null (arrival times only: every event counts as one without a client time).
   */
  readonly clientTimes?: ClientTimePolicy | null;
  /** Evidence each stretch of inconsistent client times adds; DEFAULT_TIMING_EVIDENCE when unset. */
  readonly timingEvidence?: number;
  /** The remote-control test (scorer/remote-control/); the default when unset, off when null. */
  readonly remoteControl?: RemoteControlPolicy | null;
}

export interface SessionVerdict {
  readonly modality: Modality;
  readonly trust: number;
  readonly level: 'enrolling' | 'trusted' | 'suspect' | 'mismatch';
  readonly action: TrustAction;
  readonly reason: string;
  /** The window's calibrated distance from the profile; NaN when it could not be scored. */
  readonly windowScore: number;
  readonly atTimeMs: number;
  readonly windowsScored: number;
  readonly profileState: ProfileState;
  /** Which times the session's events were measured on, so far. */
  readonly timing: TimingReport;
}

/** Windows a session may add to one modality of the profile, with the behaviour they cover. */
export type Contribution = ModalityWindows;

/**
 * The client-time rule as the policy sets it: without client times (null) every event is measured
 * on its arrival. Sessions and enrolment both use it, so a profile learns from the times it is
 * scored on.
 */
export function eventClock(policy: Pick<SessionPolicy, 'clientTimes'>): EventTimes {
  return new EventTimes(policy.clientTimes === undefined ? DEFAULT_CLIENT_TIME_POLICY : policy.clientTimes);
}

/** Trust points kept for the audit trail of a decision. */
const TRAIL_LENGTH = 20;

export class ScoringSession {
  private trustState: TrustState;
  private readonly extractor: RoutedExtractor;
  private readonly clock: EventTimes;
  private readonly remoteControl: RemoteControlDetector | undefined;
  private readonly gathered = new Map<Modality, { windows: number[][]; units: number }>();
  private readonly recent: TrustPoint[] = [];
  private identityConfirmed = false;
  /** Evidence from inconsistent client times, added to trust with the next enforced window. */
  private pendingTimingEvidence = 0;
  private timingEvidenceAdded = 0;
  /** Highest event batch applied; a resumed stream skips batches up to it. */
  lastBatchSeq = 0;
  /** Time of the last event accepted, ms; later events must not be earlier. */
  lastEventTimeMs = Number.NaN;

  constructor(
    private readonly profile: ProfileBody | null,
    private readonly pipelines: readonly ModalityPipeline[],
    private readonly policy: SessionPolicy,
    /** Trust carried over from the agent's last session (or their probation); otherwise 1. */
    initialTrust?: number,
  ) {
    this.trustState = initialTrust === undefined ? INITIAL_TRUST : carriedTrust(initialTrust, policy.trust);
    this.extractor = new RoutedExtractor(pipelines);
    this.clock = eventClock(policy);
    if (policy.remoteControl !== null) this.remoteControl = new RemoteControlDetector(policy.remoteControl ?? DEFAULT_REMOTE_CONTROL_POLICY);
    for (const m of MODALITIES) this.gathered.set(m, { windows: [], units: 0 });
  }

  /** 'absent' when the agent had no profile when the session opened. */
  get openedProfileState(): ProfileState | 'absent' {
    return this.profile ? this.profileState : 'absent';
  }

  get profileState(): ProfileState {
    return this.profile ? profileState(this.profile, this.policy.maturity) : 'enrolling';
  }

  get trust(): TrustState {
    return this.trustState;
  }

  /** Which times the session's events were measured on, so far. */
  get timing(): TimingReport {
    return this.clock.report();
  }

  get trail(): readonly TrustPoint[] {
    return this.recent;
  }

  get terminated(): boolean {
    return this.trustState.terminated;
  }

  /** Feeds events (already validated, in time order) and returns a verdict per completed window. */
  push(events: readonly InputEvent[]): SessionVerdict[] {
    const verdicts: SessionVerdict[] = [];
    for (const e of events) {
      // A terminated session is over: the rest of its behaviour is neither judged nor gathered.
      if (this.trustState.terminated) break;
      this.lastEventTimeMs = e.timeMs;
      const step = this.clock.next(e);
      if (step.newStretch) this.pendingTimingEvidence += this.policy.timingEvidence ?? DEFAULT_TIMING_EVIDENCE;
      for (const measured of step.events) {
        const found = this.testRemoteControl(measured);
        if (found) {
          verdicts.push(this.endForRemoteControl(found, measured.timeMs));
          break;
        }
        for (const w of this.extractor.push(measured)) verdicts.push(this.judge(w));
      }
    }
    return verdicts;
  }

  /** What remote control was suspected on; undefined while it has not been. */
  get remoteControlFinding(): RemoteControlFinding | undefined {
    return this.remoteControl?.finding;
  }

  private testRemoteControl(e: MeasuredEvent): RemoteControlFinding | undefined {
    if (!this.remoteControl || !e.onClientTime || e.kind?.$case !== 'mouse') return undefined;
    return this.remoteControl.push({ timeMs: e.timeMs, x: e.kind.value.x, y: e.kind.value.y });
  }

  /**
   * Remote control suspected: the session ends whatever the profile says, and nothing it gathered
   * is added to the profile, so a colluder cannot enrol as the agent through the tool either (the
   * engine withdraws the parts already taken).
   */
  private endForRemoteControl(found: RemoteControlFinding, atTimeMs: number): SessionVerdict {
    this.trustState = terminatedOutright(this.trustState);
    for (const g of this.gathered.values()) {
      g.windows = [];
      g.units = 0;
    }
    return {
      modality: 'mouse',
      trust: 0,
      level: 'mismatch',
      action: 'terminate',
      reason: describeRemoteControl(found),
      windowScore: Number.NaN,
      atTimeMs,
      windowsScored: this.trustState.windows,
      profileState: this.profileState,
      timing: this.timing,
    };
  }

  /** The agent passed a fresh MFA challenge: evidence is set aside and adaptation may begin. */
  confirmIdentity(): void {
    this.trustState = confirmIdentity(this.trustState);
    this.identityConfirmed = true;
  }

  /**
   * What this session may add to the profile since the last call, per modality; what is taken is
   * no longer held. What a session gathers:
   * - a modality still enrolling takes every window, unless the session was challenged or ended
   *   by the other modality (behaviour that does not match the agent does not enrol as the agent);
   * - a ready modality adapts only from windows after a confirmed identity that stay within
   *   `adaptMaxScore` of the profile, so a colluder cannot train the profile through the agent's MFA.
   */
  takeContribution(): Map<Modality, Contribution> {
    const out = new Map<Modality, Contribution>();
    for (const [m, g] of this.gathered) {
      if (g.windows.length === 0) continue;
      out.set(m, { windows: g.windows, units: g.units });
      this.gathered.set(m, { windows: [], units: 0 });
    }
    return out;
  }

  /** Windows gathered and not taken yet, over both modalities. */
  get gatheredWindows(): number {
    let n = 0;
    for (const g of this.gathered.values()) n += g.windows.length;
    return n;
  }

  private judge(w: FeatureWindow): SessionVerdict {
    const modality = w.modality;
    const ready = this.profile !== null && isReady(this.profile, modality, this.policy.maturity);
    const template = this.profile?.[modality].template ?? null;
    const pipeline = this.pipelines.find((p) => p.modality === modality);
    const score = template !== null && pipeline ? pipeline.model.score(template, w.vector) : Number.NaN;
    const mature = this.profileState === 'mature';

    let action: TrustAction = 'none';
    let level: SessionVerdict['level'] = 'enrolling';
    if (mature && ready) {
      const update = updateTrust(this.trustState, score, modality, this.policy.trust, this.pendingTimingEvidence);
      if (update.state !== this.trustState) {
        this.timingEvidenceAdded += this.pendingTimingEvidence;
        this.pendingTimingEvidence = 0;
      }
      this.trustState = update.state;
      action = update.action;
      level = update.level;
    } else if (mature) {
      level = this.trustState.terminated ? 'mismatch' : this.trustState.trust <= this.policy.trust.challengeBelow ? 'suspect' : 'trusted';
    }
    this.gather(w, ready, score);
    if (!Number.isNaN(score) && ready) {
      this.recent.push({ atMs: w.endTimeMs, trust: this.trustState.trust, modality, score });
      if (this.recent.length > TRAIL_LENGTH) this.recent.shift();
    }
    return {
      modality,
      trust: this.trustState.trust,
      level,
      action,
      reason: this.explain(level, modality, score),
      windowScore: score,
      atTimeMs: w.endTimeMs,
      windowsScored: this.trustState.windows,
      profileState: this.profileState,
      timing: this.timing,
    };
  }

  private gather(w: FeatureWindow, ready: boolean, score: number): void {
    const g = this.gathered.get(w.modality);
    if (!g) return;
    const accept = ready
      ? this.identityConfirmed && !this.trustState.terminated && score <= this.policy.adaptMaxScore
      : !this.trustState.challenged && !this.trustState.terminated;
    if (!accept) return;
    g.windows.push(w.vector);
    g.units += w.count;
    // A profile keeps only its newest maxWindows windows of a modality, so older ones of a long
    // session would be dropped at the update anyway: holding them would grow with the shift.
    // Trimmed in steps of a quarter, not one window at a time.
    const keep = this.policy.maturity.maxWindows;
    if (g.windows.length > keep + Math.ceil(keep / 4)) g.windows.splice(0, g.windows.length - keep);
  }

  private explain(level: SessionVerdict['level'], modality: Modality, score: number): string {
    const window = Number.isNaN(score) ? `${modality} window` : `${modality} window scored ${score.toFixed(2)}`;
    const why = this.describe(level, window);
    const stretches = this.clock.report().inconsistentStretches;
    if (this.timingEvidenceAdded === 0 || level === 'enrolling') return why;
    const found = this.clock.rewritten;
    const what = found ? 'impossible or rewritten client times' : 'impossible client times';
    const since = found ? `; the client's times were found rewritten (${describeCoupling(found)}) and are measured on arrival since` : '';
    return `${why}; event times: ${stretches} ${stretches === 1 ? 'stretch' : 'stretches'} of ${what} added ${this.timingEvidenceAdded.toFixed(1)} of the evidence${since}`;
  }

  private describe(level: SessionVerdict['level'], window: string): string {
    const s = this.trustState;
    switch (level) {
      case 'enrolling': {
        const p = this.profile ?? emptyProfile();
        const need = MODALITIES.map((m) => `${stillRequired(p, m, this.policy.maturity)} more ${m === 'keystroke' ? 'keystrokes' : 'mouse actions'}`);
        return `enrolling, not enforced: ${window}; profile needs ${need.join(' or ')}`;
      }
      case 'trusted':
        return `consistent with the agent's profile: ${window}, evidence ${s.evidence.toFixed(1)} of ${this.policy.trust.terminateAt}`;
      case 'suspect':
        return `departs from the agent's profile: ${window}, evidence ${s.evidence.toFixed(1)} of ${this.policy.trust.terminateAt} over ${s.windows} windows`;
      case 'mismatch':
        return `does not match the agent's profile: evidence ${s.evidence.toFixed(1)} reached ${this.policy.trust.terminateAt} (last: ${window}, ${s.windows} windows scored)`;
    }
  }
}
