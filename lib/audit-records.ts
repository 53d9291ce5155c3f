/**
 * The shape of a security decision as both services record it and telemetry exports it: who, when,
 * the trust trail that led to it and which times its events were measured on. Counts and figures
 * only, never input. Declared here, below the services, because the gateway, the scorer and
 * lib/telemetry all read it; the scorer's timing rule and audit log produce it.
 */

/** Counts over a session so far: of events, never of what they were. */
export interface TimingReport {
  readonly client: number;
  readonly missing: number;
  readonly backwards: number;
  readonly future: number;
  readonly outsideEnvelope: number;
  /** Events measured on arrival because the session's client times were found rewritten. */
  readonly distrusted: number;
  readonly inconsistentStretches: number;
  readonly envelopeMs: number;
}

/** One point of the trust trail that led to a decision. */
export interface TrustPoint {
  /** Session time of the window's last event, milliseconds. */
  readonly atMs: number;
  readonly trust: number;
  readonly modality: string;
  /** The window's standardised distance from the profile. */
  readonly score: number;
}

export interface Decision {
  readonly sessionId: string;
  readonly agentId: string;
  readonly decidedAt: Date;
  /** Who decided: the scorer's verdict, the gateway's enforcement, or an admin. */
  readonly source: 'scorer' | 'gateway' | 'admin';
  readonly trust: number;
  readonly state: string;
  readonly action: string;
  readonly reason: string;
  readonly trail: readonly TrustPoint[];
  /**
   * Which times the session's events were measured on when the decision was taken (counts, never
   * what was typed); null when none was known yet (no verdict before it) and for decisions
   * recorded before the report existed.
   */
  readonly timing: TimingReport | null;
}
