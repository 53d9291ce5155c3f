/**
 * One desktop session at the gateway: the agent, the desktop, the tap on its input, the mirror to
 * the scorer and the enforcement of the scorer's verdicts.
 *
 * - terminate: a Guacamole `error` instruction with a plain message to the browser, the desktop
 *   connection and the WebSocket closed, the login revoked, the decision recorded.
 * - challenge: input held (not forwarded, still mirrored), the page asks for a fresh TOTP code; a right code resumes
 *   the session and tells the scorer the identity was confirmed; wrong codes or the time running
 *   out terminate.
 * - monitor mode records and alerts, and never holds or drops.
 * - the scorer lost for longer than the grace period: fail-closed terminates; fail-open keeps the
 *   session, raises an alert and records it.
 * - the connection dropped (browser or desktop side) after input was seen: the session waits for
 *   its agent to reconnect to the same desktop, and a reconnect continues it: the same scorer
 *   session and trust, a pending challenge still pending. Dropping the connection therefore does
 *   not reset trust, which is what a colluder would otherwise do.
 * - a second connection of the same agent to the same desktop (another tab, another login, a
 *   hand-written client) does not start a second session: it continues this one and the older
 *   connection is closed, so trust and a pending challenge belong to the agent, not to a tunnel.
 * - input reaches the desktop only from the connection attached last: a replaced connection's late
 *   messages are dropped, never typed.
 * - the engine could not reach or trust the desktop: the page is told what kind of failure and what
 *   the agent can do (`vdiguard,desktop-error,<kind>,<message>`, then the error), the precise cause is
 *   recorded for the admins, and the connection is treated as dropped.
 * - a session that starts on probation (its agent's last session ended on a security decision) is
 *   challenged before any input reaches the desktop, and starts at the trust that session ended on.
 * The person at the keyboard is never told which behaviour ended the session.
 */
import { EventEmitter } from 'node:events';
import { Action, TrustState, type InputEvent, type Verdict } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { Logger } from '../../lib/log.js';
import type { TrustPoint } from '../../scorer/store/audit.js';
import type { TimingReport } from '../../scorer/timing/client-times.js';
import type { EnforcementMode, MirrorPolicy } from '../config.js';
import { encodeInstruction, GuacStatus, type GuacStatusCode } from '../guac/index.js';
import { InputTap, type TapResult } from '../tap/tap.js';
import type { ClipboardPolicy } from '../tap/paste.js';
import { gatewayDecision, type DecisionSink, type GatewayAction } from './decisions.js';
import type { DesktopFailure } from './desktop-errors.js';

/** Opcode of the gateway's own instructions to its page (guacamole-common-js ignores unknown ones). */
export const PAGE_OPCODE = 'vdiguard';

export const ENDED_MESSAGE = 'This session was ended by the security policy. Please contact your supervisor.';
const PROTOCOL_MESSAGE = 'The connection sent data the gateway cannot accept, and was closed.';
const LOGIN_ENDED_MESSAGE = 'You were signed out, so this session has ended. Please sign in again.';
export const REPLACED_MESSAGE = 'This desktop session was opened in another window or tab, and continues there.';
const CHALLENGE_ATTEMPTS = 3;
const TRUST_LINE_POINTS = 600;

export interface SessionControls {
  /** Sends Guacamole text to the browser. */
  toBrowser(text: string): void;
  /** Closes the desktop connection and the WebSocket. */
  close(): void;
}

export interface SessionDeps {
  readonly log: Logger;
  readonly mode: EnforcementMode;
  readonly mirrorPolicy: MirrorPolicy;
  /** Which way the clipboard may cross: the tap lets pastes through only under `both`. */
  readonly clipboard: ClipboardPolicy;
  readonly graceMs: number;
  readonly challengeMs: number;
  /** How long a dropped connection may take to come back (0: never). */
  readonly reconnectGraceMs: number;
  readonly decisions: DecisionSink;
  readonly verifyCode: (agentId: string, code: unknown) => Promise<boolean>;
  readonly confirmIdentity: (sessionId: string) => Promise<boolean>;
  readonly revokeLogin: (loginId: string) => void;
  /** A terminate or a failed challenge ended the session: the agent is locked or put on probation. */
  readonly onSecurityEnd: (s: { readonly sessionId: string; readonly agentId: string; readonly trust: number }, action: GatewayAction, reason: string) => void;
  /** Trust the session starts at (the agent's last session, or their probation, ended there); 1 when absent. */
  readonly initialTrust?: number;
  /** The agent is on probation: the session starts challenged, for this reason. */
  readonly probation?: { readonly reason: string };
  /** Monotonic milliseconds (performance.now()). */
  readonly clock: () => number;
  readonly wallClock?: () => Date;
}

export interface SessionIdentity {
  readonly sessionId: string;
  readonly agentId: string;
  readonly desktopId: string;
  readonly loginId: string;
  readonly address: string;
}

export type SessionStatus = 'active' | 'challenged' | 'ended';

/** One point of the trust line the admin console draws. */
export interface TrustLinePoint {
  /** Milliseconds since the Unix epoch. */
  readonly t: number;
  /** 0 (terminate) to 1. */
  readonly trust: number;
  /**
   * Stretches of inconsistent client event times in the session so far (cumulative, see
   * scorer/timing/client-times.ts): where it rises, one began. Null when the scorer said nothing
   * about event times.
   */
  readonly inconsistentStretches: number | null;
}

/** What the admin API shows of a session. */
export interface SessionView extends Omit<SessionIdentity, 'loginId'> {
  readonly startedAt: string;
  readonly status: SessionStatus;
  readonly trust: number;
  readonly state: string;
  readonly scored: boolean;
  /** False while the connection is down and the session waits for a reconnect. */
  readonly connected: boolean;
  /** While the connection is down: when the session ends unless its agent reconnects (ISO). */
  readonly reconnectEndsAt?: string;
  readonly inputEvents: number;
  readonly trustLine: readonly TrustLinePoint[];
  /** Which times the scorer measured the session's events on, as of its latest verdict; null before one. */
  readonly timing: TimingReport | null;
}

const STATE_NAMES: Record<number, string> = {
  [TrustState.TRUST_STATE_ENROLLING]: 'enrolling',
  [TrustState.TRUST_STATE_TRUSTED]: 'trusted',
  [TrustState.TRUST_STATE_SUSPECT]: 'suspect',
  [TrustState.TRUST_STATE_MISMATCH]: 'mismatch',
};

export class DesktopSession extends EventEmitter {
  readonly tap: InputTap;
  readonly startedAt: Date;
  status: SessionStatus = 'active';
  trust = 1;
  /** Lowest trust the scorer reported in this session. */
  minTrust = 1;
  /** Which times the scorer measured the session's events on, as of its latest verdict; null before one. */
  timing: TimingReport | null = null;
  state = 'unscored';
  scored = true;
  endReason = '';
  /** The gateway's action that ended the session; undefined when the browser or desktop went away. */
  endAction: GatewayAction | undefined;
  /** Monotonic time the terminate verdict arrived, and the WebSocket was closed (for the benchmark). */
  terminateVerdictAt: number | undefined;
  /** Every login that attached a connection to this session: revoking any of them ends it. */
  readonly logins: Set<string>;
  private controls: SessionControls | undefined;
  private readonly trail: TrustPoint[] = [];
  private readonly line: TrustLinePoint[] = [];
  private graceTimer: NodeJS.Timeout | undefined;
  private challengeTimer: NodeJS.Timeout | undefined;
  /** Monotonic time the pending challenge runs out. */
  private challengeEndsAt = 0;
  private challengeAttempts = 0;
  /** An overflow of the mirror was recorded and the scorer has not caught up since. */
  private overflowRecorded = false;
  /** Set while the connection is down and a reconnect may continue the session. */
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Wall-clock time the pending reconnect runs out, for the admin page. */
  private reconnectEndsAt: Date | undefined;
  private readonly wallClock: () => Date;

  constructor(
    readonly id: SessionIdentity,
    private readonly d: SessionDeps,
    onInput: (e: InputEvent) => boolean,
  ) {
    super();
    this.wallClock = d.wallClock ?? (() => new Date());
    this.startedAt = this.wallClock();
    this.logins = new Set([id.loginId]);
    // A timing-only sample the mirror refuses is no input lost: nothing to alert on.
    this.tap = new InputTap({ clock: d.clock, onInput: (e) => (e.timingOnly === true ? onInput(e) : this.mirrored(onInput(e))), forwardUnmirrored: d.mirrorPolicy === 'fail-open', clipboard: d.clipboard });
    if (d.initialTrust !== undefined) this.trust = this.minTrust = d.initialTrust;
    if (d.probation) this.challenge(d.probation.reason, 'probation');
  }

  /**
   * Connects the session to its tunnel (the first, a reconnect, or a second window of the agent that
   * takes over) under `loginId`; before this, enforcement has nothing to act on. A connection still
   * attached is told why and closed: one connection types at a time.
   */
  attach(controls: SessionControls, loginId = this.id.loginId): void {
    if (this.status === 'ended') return controls.close();
    const previous = this.controls === controls ? undefined : this.controls;
    if (this.reconnectTimer || previous) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.reconnectEndsAt = undefined;
      this.tap.newConnection();
    }
    this.logins.add(loginId);
    this.controls = controls;
    if (previous) {
      this.d.log.info({ sessionId: this.id.sessionId, agentId: this.id.agentId }, 'a newer connection of the agent took over the session');
      previous.toBrowser(encodeInstruction('error', REPLACED_MESSAGE, GuacStatus.SESSION_CONFLICT));
      previous.close();
    }
    // The page offers only the clipboard directions the policy allows (the engine may narrow them).
    this.page('clipboard', this.d.clipboard);
    this.page('session', this.id.sessionId);
    if (this.status === 'challenged') this.page('challenge', String(Math.max(1, Math.round((this.challengeEndsAt - this.d.clock()) / 1000))));
  }

  /** True while the connection is down and a reconnect of the same login may continue the session. */
  get awaitingReconnect(): boolean {
    return this.reconnectTimer !== undefined && this.status !== 'ended';
  }

  /**
   * The connection of `controls` went away (browser or desktop side). A session that has seen input
   * waits for a reconnect; one that has not has nothing to continue and ends.
   */
  disconnected(reason: string, controls: SessionControls): void {
    if (this.status === 'ended' || controls !== this.controls) return;
    if (this.d.reconnectGraceMs <= 0 || this.tap.inputEvents === 0) return this.closed(reason);
    this.controls = undefined;
    controls.close();
    this.d.log.info({ sessionId: this.id.sessionId, agentId: this.id.agentId, reason }, 'connection lost: the session waits for a reconnect');
    this.reconnectEndsAt = new Date(this.wallClock().getTime() + this.d.reconnectGraceMs);
    this.reconnectTimer = setTimeout(
      () => this.closed(`${reason}; no reconnect within ${Math.round(this.d.reconnectGraceMs / 1000)} s`),
      this.d.reconnectGraceMs,
    );
  }

  /**
   * The engine of `from` could not reach or trust the desktop: `cause` is the precise reason, for
   * the decision log only; the agent gets `failure`'s message, never the engine's.
   */
  desktopFailed(failure: DesktopFailure, cause: string, status: number, from: SessionControls): void {
    if (this.status === 'ended' || from !== this.controls) return;
    this.d.log.warn({ sessionId: this.id.sessionId, agentId: this.id.agentId, desktopId: this.id.desktopId, kind: failure.kind, cause }, 'desktop error');
    this.record('desktop-error', cause);
    this.page('desktop-error', failure.kind, failure.message);
    from.toBrowser(encodeInstruction('error', failure.message, status));
    this.disconnected(`desktop error (${failure.kind})`, from);
  }

  /** The hook on browser -> desktop data of the connection `from`: what to forward, after the tap has seen it. */
  fromBrowser(chunk: string | Buffer, from: SessionControls): string | Buffer | null {
    if (this.status === 'ended' || from !== this.controls) return null;
    const r: TapResult = this.tap.push(chunk);
    if (r.error) {
      this.d.log.warn({ sessionId: this.id.sessionId, reason: r.error.reason }, 'protocol error from the browser');
      // Breaking the protocol must not be a way out of a pending challenge.
      const action = this.status === 'challenged' ? 'challenge-failed' : 'protocol-error';
      this.end(action, r.error.message, { message: PROTOCOL_MESSAGE, status: r.error.guacStatus });
      return null;
    }
    return r.forward;
  }

  onVerdict(v: Verdict): void {
    if (this.status === 'ended') return;
    this.trust = v.trust;
    this.minTrust = Math.min(this.minTrust, v.trust);
    this.state = STATE_NAMES[v.state] ?? 'unknown';
    // A scorer from before client event times sends none: the session keeps what it knew.
    if (v.timing) this.timing = v.timing;
    const point = { atMs: v.atTimeMs, trust: v.trust, modality: v.modality === 1 ? 'keystroke' : 'mouse', score: Number.isNaN(v.windowScore) ? -1 : v.windowScore };
    this.trail.push(point);
    if (this.trail.length > 20) this.trail.shift();
    this.line.push({ t: Date.now(), trust: v.trust, inconsistentStretches: this.timing?.inconsistentStretches ?? null });
    if (this.line.length > TRUST_LINE_POINTS) this.line.shift();
    this.emit('trust', v.trust);
    if (v.action === Action.ACTION_TERMINATE) {
      if (this.d.mode === 'monitor') return this.alert('monitor-terminate', v.reason);
      this.terminateVerdictAt = this.d.clock();
      this.end('terminate', v.reason);
    } else if (v.action === Action.ACTION_CHALLENGE && this.status === 'active') {
      if (this.d.mode === 'monitor') return this.alert('monitor-challenge', v.reason);
      this.challenge(v.reason);
    }
  }

  /** The mirror lost (false) or regained (true) the scorer. */
  onScored(scored: boolean, why: string): void {
    if (this.status === 'ended') return;
    this.scored = scored;
    if (scored) this.overflowRecorded = false;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (scored) return;
    this.graceTimer = setTimeout(() => {
      if (this.scored || this.status === 'ended') return;
      this.unverifiable(`the scorer could not follow the session for ${Math.round(this.d.graceMs / 1000)} s (${why})`);
    }, this.d.graceMs);
  }

  /** The scorer refused the session for good: no grace period, since waiting cannot change that. */
  onRefused(why: string): void {
    if (this.status === 'ended') return;
    this.scored = false;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.unverifiable(`the scorer refused the session's input and no longer scores it (${why})`);
  }

  /**
   * Whether the mirror took an input event. A refusal is unscored input: recorded once per episode
   * (a flood must not be silent), and the mirror's scored(false) starts the grace period as an
   * outage would.
   */
  private mirrored(queued: boolean): boolean {
    if (!queued && !this.overflowRecorded && this.status !== 'ended') {
      this.overflowRecorded = true;
      const kept = this.d.mirrorPolicy === 'fail-open' ? 'let through unscored (fail-open)' : 'kept from the desktop';
      this.alert('mirror-overflow', `input arrived faster than the scorer could take it; what did not fit was ${kept}`);
    }
    return queued;
  }

  /** Answers an MFA challenge; resolves to what happened. */
  async answerChallenge(code: unknown): Promise<'resumed' | 'wrong' | 'ended' | 'not-challenged'> {
    if (this.status !== 'challenged') return this.status === 'ended' ? 'ended' : 'not-challenged';
    const ok = await this.d.verifyCode(this.id.agentId, code);
    if (this.status !== 'challenged') return 'ended';
    if (!ok) {
      if (++this.challengeAttempts >= CHALLENGE_ATTEMPTS) {
        this.end('challenge-failed', `wrong MFA code ${CHALLENGE_ATTEMPTS} times`);
        return 'ended';
      }
      return 'wrong';
    }
    clearTimeout(this.challengeTimer);
    this.status = 'active';
    this.tap.holding = false;
    this.record('challenge-passed', 'the agent passed a fresh MFA challenge');
    this.page('resumed');
    this.d.confirmIdentity(this.id.sessionId).catch((err: Error) =>
      this.d.log.warn({ sessionId: this.id.sessionId, err: err.message }, 'scorer did not take the identity confirmation'),
    );
    return 'resumed';
  }

  /** A login that attached to the session was ended (signed out, or ended by a decision elsewhere). */
  loginEnded(reason: string): void {
    this.end('login-ended', reason, { message: LOGIN_ENDED_MESSAGE, status: GuacStatus.SESSION_CLOSED });
  }

  /** The agent was locked (or put on probation) after a security decision in another session. */
  lockedOut(reason: string): void {
    this.end('agent-locked', reason);
  }

  /** An admin ends the session. */
  kill(reason: string): void {
    this.end('admin-kill', reason || 'ended by an administrator', undefined, 'admin');
  }

  /** The browser or desktop went away: end without a decision. */
  closed(reason: string): void {
    if (this.status === 'ended') return;
    this.finish(reason);
  }

  view(): SessionView {
    const { sessionId, agentId, desktopId, address } = this.id;
    return {
      sessionId,
      agentId,
      desktopId,
      address,
      startedAt: this.startedAt.toISOString(),
      status: this.status,
      trust: this.trust,
      state: this.state,
      scored: this.scored,
      connected: !this.awaitingReconnect,
      ...(this.awaitingReconnect && this.reconnectEndsAt ? { reconnectEndsAt: this.reconnectEndsAt.toISOString() } : {}),
      inputEvents: this.tap.inputEvents,
      trustLine: this.line,
      timing: this.timing,
    };
  }

  private challenge(reason: string, action: GatewayAction = 'challenge'): void {
    this.status = 'challenged';
    this.tap.holding = true;
    this.challengeAttempts = 0;
    this.challengeEndsAt = this.d.clock() + this.d.challengeMs;
    this.record(action, reason);
    this.page('challenge', String(Math.round(this.d.challengeMs / 1000)));
    this.challengeTimer = setTimeout(() => this.end('challenge-failed', 'the MFA challenge was not answered in time'), this.d.challengeMs);
  }

  /** The configured mirror policy, for a session the scorer cannot verify. */
  private unverifiable(reason: string): void {
    if (this.d.mirrorPolicy === 'fail-open') this.alert('fail-open', reason);
    else this.end('fail-closed', reason, { message: 'The session was ended because it could not be verified. Please try again later.', status: GuacStatus.UPSTREAM_UNAVAILABLE });
  }

  private alert(action: GatewayAction, reason: string): void {
    this.d.log.warn({ sessionId: this.id.sessionId, agentId: this.id.agentId, action, trust: this.trust, reason }, 'security alert');
    this.record(action, reason);
  }

  private end(action: GatewayAction, reason: string, shown = { message: ENDED_MESSAGE, status: GuacStatus.SESSION_CLOSED as GuacStatusCode }, source: 'gateway' | 'admin' = 'gateway'): void {
    // Set before anything else: revoking this session's logins reaches back here through the registry.
    if (this.status === 'ended' || this.endAction !== undefined) return;
    this.endAction = action;
    this.record(action, reason, source);
    this.d.log.warn({ sessionId: this.id.sessionId, agentId: this.id.agentId, action, trust: this.trust, reason }, 'session ended by the gateway');
    // Every login that attached is ended, so none of them can open a fresh session with fresh trust.
    for (const loginId of this.logins) this.d.revokeLogin(loginId);
    // Only the behaviour's verdict and a failed second factor speak against the agent. An admin's
    // kill is the admin's own decision (they can lock by other means), a protocol error is a broken
    // or hostile client rather than evidence of who types, and fail-closed is the scorer's outage:
    // locking on those would lock out agents for faults that are not theirs.
    if (action === 'terminate' || action === 'challenge-failed') this.d.onSecurityEnd({ sessionId: this.id.sessionId, agentId: this.id.agentId, trust: this.trust }, action, reason);
    this.page('ended');
    this.controls?.toBrowser(encodeInstruction('error', shown.message, shown.status));
    this.finish(`${action}: ${reason}`);
  }

  private finish(reason: string): void {
    this.status = 'ended';
    this.endReason = reason;
    this.tap.holding = true;
    clearTimeout(this.graceTimer);
    clearTimeout(this.challengeTimer);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.controls?.close();
    this.emit('ended', reason);
  }

  private record(action: GatewayAction, reason: string, source: 'gateway' | 'admin' = 'gateway'): void {
    try {
      this.d.decisions.record(
        gatewayDecision({ sessionId: this.id.sessionId, agentId: this.id.agentId, trust: this.trust, state: this.state, trail: this.trail, timing: this.timing }, action, reason, this.wallClock(), source),
      );
    } catch (err) {
      this.d.log.error({ sessionId: this.id.sessionId, err: (err as Error).message }, 'decision not recorded');
    }
  }

  private page(...args: string[]): void {
    this.controls?.toBrowser(encodeInstruction(PAGE_OPCODE, ...args));
  }
}
