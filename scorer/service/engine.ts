/**
 * The scorer's core, apart from any transport: open, feed, confirm and close sessions; enrol and
 * administer profiles. The gRPC services are thin shells around it.
 *
 * Database use is kept off the scoring path: a session loads its agent's profile once when it
 * opens (from memory if the database is down and the profile was loaded before), and everything
 * it writes goes through retrying write queues: one for the audit trail (session starts and ends,
 * decisions), one for profile versions. A profile version costs a template fit of up to seconds,
 * so the audit trail never waits behind fits, and the sessions of one agent that end while its
 * update waits are merged into that update: a thousand sessions ending at once (a scorer restart)
 * cost one fit per agent, not one per session.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { Logger } from '../../lib/log.js';
import { VdiguardError } from '../../lib/errors.js';
import {
  addWindows,
  emptyProfile,
  MODALITIES,
  profileState,
  stillRequired,
  type MaturityPolicy,
  type ProfileBody,
} from '../profile/profile.js';
import { ProfileStore, unknownAgent, type ProfileRecord, type ProfileSummary } from '../store/profiles.js';
import { AuditLog } from '../store/audit.js';
import { WriteQueue } from '../store/write-queue.js';
import { eventClock, ScoringSession, type Contribution, type SessionPolicy, type SessionVerdict } from '../session/session.js';
import { RoutedExtractor, type ModalityPipeline } from '../models/pipelines.js';
import { PopulationSample } from '../models/population.js';
import { FitPool, type NetworkArtifacts } from '../models/fit-pool.js';
import { forEachConcurrently } from '../../lib/concurrency.js';
import { validateBatch } from './validate.js';
import type { Db } from '../../lib/db/db.js';
import type { Context, Span } from '@opentelemetry/api';
import { ScorerTelemetry } from './telemetry.js';
import type { Modality } from '../profile/profile.js';
import { requireId } from '../../lib/ids.js';
import type { TimingReport } from '../timing/client-times.js';

export interface EngineOptions {
  readonly db: Db;
  readonly log: Logger;
  readonly pipelines: readonly ModalityPipeline[];
  readonly policy: SessionPolicy;
  readonly maxBatchEvents: number;
  /** Milliseconds a session's state is kept after its stream breaks. */
  readonly resumeGraceMs: number;
  /**
   * Worker threads that fit templates (default 1). Fits always use the production pipelines
   * (defaultPipelines), whatever `pipelines` the engine scores with.
   */
  readonly fitWorkers?: number;
  /** The population networks `pipelines` were built with, for the fit workers to build the same. */
  readonly networks?: NetworkArtifacts;
  /** Profile versions kept per agent (default DEFAULT_VERSIONS_KEPT). */
  readonly profileVersions?: number;
  /** Wall clock for audit records; tests inject their own. */
  readonly now?: () => Date;
}

export interface SessionIdentity {
  readonly sessionId: string;
  readonly agentId: string;
  readonly desktopId: string;
  readonly clientAddress: string;
}

export interface OpenedSession {
  readonly resumed: boolean;
  readonly lastBatchSeq: number;
  readonly profileState: 'absent' | 'enrolling' | 'mature';
  /** Events accepted in one batch. */
  readonly maxBatchEvents: number;
}

export interface ProfileStatus extends ProfileSummary {
  readonly keystrokesRequired: number;
  readonly mouseActionsRequired: number;
}

interface LiveSession {
  readonly identity: SessionIdentity;
  readonly scoring: ScoringSession;
  /** The session's trace span, ended when the session ends. */
  readonly span: Span;
  /** Set while no stream is attached: ends the session when the grace period runs out. */
  detachTimer: NodeJS.Timeout | undefined;
  attached: boolean;
}

const STREAM_LOST = 'stream lost and not resumed';

/** Profiles kept in memory for sessions opened while the database is down. */
const PROFILE_CACHE_SIZE = 5000;

export class ScorerEngine {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly profileCache = new Map<string, ProfileRecord | null>();
  readonly profiles: ProfileStore;
  readonly audit: AuditLog;
  /** Audit records: small, in order, never behind a fit. */
  readonly auditWrites: WriteQueue;
  /** Profile versions from enrolment and adaptation at session end. */
  readonly profileWrites: WriteQueue;
  /** What ended sessions add to a profile, by agent and reason, until its write starts; later sessions merge in. */
  private readonly waitingContributions = new Map<string, Map<Modality, Contribution>>();
  private readonly now: () => Date;
  private readonly telemetry: ScorerTelemetry;
  /** Other agents' windows, the background of population models (see models/population.ts). */
  readonly population = new PopulationSample();
  /** Template fits, off the event loop that scores live sessions. */
  private readonly fits: FitPool;
  /** The profile update of each agent in progress; the next one waits for it. */
  private readonly profileUpdates = new Map<string, Promise<unknown>>();

  constructor(private readonly options: EngineOptions) {
    this.profiles = new ProfileStore(options.db, options.profileVersions);
    this.audit = new AuditLog(options.db);
    const queue = { log: options.log, maxPending: 100_000, initialDelayMs: 250, maxDelayMs: 30_000 };
    this.auditWrites = new WriteQueue(queue);
    // Unbounded in count, so no waiting update is ever dropped: merging keeps it to one running
    // update and one waiting per agent and reason, each of at most maxWindows windows.
    this.profileWrites = new WriteQueue({ ...queue, maxPending: Number.POSITIVE_INFINITY });
    this.now = options.now ?? (() => new Date());
    this.telemetry = new ScorerTelemetry(() => this.pendingWrites);
    this.fits = new FitPool({ size: options.fitWorkers ?? 1, log: options.log, ...(options.networks ? { networks: options.networks } : {}) });
  }

  /** Records not yet in the database (audit and profile writes). */
  get pendingWrites(): number {
    return this.auditWrites.pending + this.profileWrites.pending;
  }

  /** Resolves true once every queued write has landed, false if `timeoutMs` passes first. */
  async drainWrites(timeoutMs: number): Promise<boolean> {
    const drained = await Promise.all([this.auditWrites.drain(timeoutMs), this.profileWrites.drain(timeoutMs)]);
    return drained.every(Boolean);
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * `parent` is the trace context of the caller (the gateway's session span), when it sent one.
   * `initialTrust` continues the evidence of the agent's last session (carried, or probation). A gateway may
   * only lower trust with it: values outside [0, 1] are refused, and a resume keeps the trust this
   * scorer holds whatever the gateway sends.
   */
  async openSession(id: SessionIdentity, resume: boolean, parent?: Context, initialTrust?: number): Promise<OpenedSession> {
    requireId('session_id', id.sessionId);
    requireId('agent_id', id.agentId);
    if (initialTrust !== undefined && !(initialTrust >= 0 && initialTrust <= 1)) {
      throw new VdiguardError('invalid-argument', `initial_trust must be in [0, 1] (got ${initialTrust}); leave it unset for a fresh session`);
    }
    const existing = this.sessions.get(id.sessionId);
    if (existing) {
      if (!resume) {
        throw new VdiguardError('failed-precondition', `session ${id.sessionId} is already open; set resume to continue it after a lost stream`);
      }
      if (existing.identity.agentId !== id.agentId) {
        throw new VdiguardError('permission-denied', `session ${id.sessionId} belongs to another agent and cannot be resumed as ${id.agentId}`);
      }
      if (existing.attached) {
        // Usually the old stream broke and this scorer has not noticed yet: the gateway retries.
        throw new VdiguardError('unavailable', `session ${id.sessionId} is still attached to another stream; retry once that stream has ended`);
      }
      clearTimeout(existing.detachTimer);
      existing.attached = true;
      return { resumed: true, lastBatchSeq: existing.scoring.lastBatchSeq, profileState: existing.scoring.openedProfileState, maxBatchEvents: this.options.maxBatchEvents };
    }
    const profile = await this.loadProfile(id.agentId);
    const scoring = new ScoringSession(profile?.body ?? null, this.options.pipelines, this.options.policy, initialTrust);
    const span = this.telemetry.sessionOpened(id, parent);
    this.sessions.set(id.sessionId, { identity: id, scoring, span, detachTimer: undefined, attached: true });
    this.auditWrites.enqueue(`session ${id.sessionId} start`, () =>
      this.audit.sessionStarted({ ...id, startedAt: this.now() }),
    );
    this.options.log.info({ sessionId: id.sessionId, agentId: id.agentId, desktopId: id.desktopId, resumed: false }, 'session opened');
    return { resumed: false, lastBatchSeq: 0, profileState: scoring.openedProfileState, maxBatchEvents: this.options.maxBatchEvents };
  }

  /** Scores a batch; batches the session has already applied (after a resume) are skipped. */
  applyBatch(sessionId: string, seq: number, events: readonly InputEvent[]): SessionVerdict[] {
    const live = this.live(sessionId);
    const scoring = live.scoring;
    if (seq !== 0 && seq <= scoring.lastBatchSeq) return [];
    validateBatch(events, scoring.lastEventTimeMs, this.options.maxBatchEvents, seq);
    if (scoring.terminated) return [];
    const started = performance.now();
    const verdicts = scoring.push(events);
    this.telemetry.batchScored(events.length, verdicts, performance.now() - started);
    if (seq !== 0) scoring.lastBatchSeq = seq;
    for (const v of verdicts) {
      if (v.action !== 'none') this.recordDecision(live, 'scorer', v.trust, v.level, v.action, v.reason, v.timing);
    }
    return verdicts;
  }

  /** False when the scorer does not hold the session (for example after a restart). */
  confirmIdentity(sessionId: string): boolean {
    const live = this.sessions.get(sessionId);
    if (!live || live.scoring.terminated) return false;
    live.scoring.confirmIdentity();
    this.recordDecision(live, 'gateway', live.scoring.trust.trust, 'trusted', 'identity-confirmed', 'the agent passed a fresh MFA challenge', live.scoring.timing);
    return true;
  }

  /** The stream broke without a close: keep the state for a resume, then end the session. */
  detach(sessionId: string): void {
    const live = this.sessions.get(sessionId);
    if (!live) return;
    live.attached = false;
    live.detachTimer = setTimeout(() => this.closeSession(sessionId, STREAM_LOST), this.options.resumeGraceMs);
    live.detachTimer.unref();
  }

  closeSession(sessionId: string, reason: string): void {
    const live = this.sessions.get(sessionId);
    if (!live) return;
    clearTimeout(live.detachTimer);
    this.sessions.delete(sessionId);
    const { scoring, identity } = live;
    const scored = scoring.trust.windows > 0;
    // The scorer's own decision is the reason of record; the client's words are kept beside it.
    const endReason = scoring.terminated ? `terminated: behaviour did not match the agent (${reason || 'closed'})` : reason || 'closed';
    this.auditWrites.enqueue(`session ${sessionId} end`, () =>
      this.audit.sessionEnded({
        sessionId,
        endedAt: this.now(),
        reason: endReason,
        minTrust: scored ? scoring.trust.minTrust : null,
        finalTrust: scored ? scoring.trust.trust : null,
      }),
    );
    this.telemetry.sessionClosed(live.span, {
      outcome: scoring.terminated ? 'terminated' : reason === STREAM_LOST ? 'lost' : 'closed',
      reason: endReason,
      minTrust: scored ? scoring.trust.minTrust : null,
      finalTrust: scored ? scoring.trust.trust : null,
      windowsScored: scoring.trust.windows,
      timing: live.scoring.timing,
    });
    const contribution = scoring.contribution();
    if (contribution.size > 0) this.queueContribution(identity.agentId, sessionId, contribution, scoring.profileState === 'mature' ? 'adaptation' : 'enrolment');
    this.options.log.info({ sessionId, agentId: identity.agentId, reason, minTrust: scoring.trust.minTrust }, 'session closed');
  }

  /**
   * Enrols an agent from recorded events (time-ordered), measured on the times a session measures
   * them on (the client-time rule); returns the new profile status.
   */
  async enroll(agentId: string, events: readonly InputEvent[]): Promise<{ status: ProfileStatus; accepted: number }> {
    requireId('agent_id', agentId);
    validateBatch(events, Number.NaN, Number.MAX_SAFE_INTEGER, 0);
    const windows = new Map<Modality, { windows: number[][]; units: number }>();
    const extractor = new RoutedExtractor(this.options.pipelines);
    const clock = eventClock(this.options.policy);
    for (const e of events) {
      for (const measured of clock.next(e).events) {
        for (const w of extractor.push(measured)) {
          const c = windows.get(w.modality) ?? { windows: [], units: 0 };
          c.windows.push(w.vector);
          c.units += w.count;
          windows.set(w.modality, c);
        }
      }
    }
    const record = await this.addToProfile(agentId, windows, 'enrolment');
    return { status: this.status(record), accepted: events.length };
  }

  async profileStatus(agentId: string): Promise<ProfileStatus> {
    const summary = await this.profiles.summary(agentId);
    if (!summary) throw unknownAgent(agentId);
    return this.status(summary);
  }

  async listProfiles(): Promise<ProfileStatus[]> {
    return (await this.profiles.list()).map((s) => this.status(s));
  }

  async resetProfile(agentId: string): Promise<ProfileStatus> {
    const record = await this.profiles.reset(agentId);
    this.cacheProfile(agentId, record);
    return this.status(record);
  }

  async deleteProfile(agentId: string): Promise<number> {
    const n = await this.profiles.delete(agentId);
    this.profileCache.delete(agentId);
    this.population.delete(agentId);
    return n;
  }

  /** Fills the population sample from the stored profiles (at start). Returns the agents read. */
  async loadPopulation(): Promise<number> {
    const list = await this.profiles.list();
    for (const s of list) {
      const record = await this.profiles.get(s.agentId);
      if (record) this.population.set(s.agentId, record.body);
    }
    return list.length;
  }

  /**
   * Refits every agent's templates against the current population, each as a new profile version
   * (`vdiguard train`; also what a deployment runs once it has enough agents for population
   * models). Returns the profiles refitted.
   */
  async refitProfiles(): Promise<number> {
    const list = await this.profiles.list();
    // One agent per fit worker at a time: more would only queue in the pool.
    await forEachConcurrently(list, this.options.fitWorkers ?? 1, async (s) => {
      await this.addToProfile(s.agentId, new Map(), 'refit');
    });
    return list.length;
  }

  /**
   * Ends every session and waits up to `timeoutMs` for their records to land: the audit trail
   * first, then profile updates in what time is left.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const id of [...this.sessions.keys()]) this.closeSession(id, 'scorer shutting down');
    if (!(await this.auditWrites.drain(timeoutMs))) this.auditWrites.close();
    if (!(await this.profileWrites.drain(Math.max(0, deadline - Date.now())))) this.profileWrites.close();
    await this.fits.close();
  }

  /**
   * Queues what a session adds to its agent's profile, merged into the agent's update that is
   * still waiting, if any (the profile then gains one version for those sessions).
   */
  private queueContribution(agentId: string, sessionId: string, contribution: Map<Modality, Contribution>, reason: string): void {
    const key = `${reason} ${agentId}`;
    const waiting = this.waitingContributions.get(key);
    if (waiting) {
      // A profile keeps its last maxWindows windows, so older ones need not wait in memory.
      const keep = this.options.policy.maturity.maxWindows;
      for (const [m, c] of contribution) {
        const w = waiting.get(m);
        waiting.set(m, w ? { windows: [...w.windows, ...c.windows].slice(-keep), units: w.units + c.units } : c);
      }
      return;
    }
    const added = new Map(contribution);
    this.waitingContributions.set(key, added);
    this.profileWrites.enqueue(`profile ${agentId} from session ${sessionId} and later`, () => {
      if (this.waitingContributions.get(key) === added) this.waitingContributions.delete(key);
      return this.addToProfile(agentId, added, reason);
    });
  }

  private live(sessionId: string): LiveSession {
    const live = this.sessions.get(sessionId);
    if (!live) throw new VdiguardError('failed-precondition', `session ${sessionId} is not open on this scorer; open it first`);
    return live;
  }

  private status(s: ProfileSummary & { body?: ProfileBody }): ProfileStatus {
    const body = s.body ?? bodyWithUnits(s);
    const maturity = this.options.policy.maturity;
    return {
      agentId: s.agentId,
      version: s.version,
      state: s.state,
      keystrokes: s.keystrokes,
      mouseActions: s.mouseActions,
      updatedAt: s.updatedAt,
      keystrokesRequired: stillRequired(body, 'keystroke', maturity),
      mouseActionsRequired: stillRequired(body, 'mouse', maturity),
    };
  }

  private async loadProfile(agentId: string): Promise<ProfileRecord | null> {
    try {
      const record = await this.profiles.get(agentId);
      this.cacheProfile(agentId, record);
      return record;
    } catch (err) {
      if (this.profileCache.has(agentId)) {
        this.options.log.warn({ agentId, err: (err as Error).message }, 'database unavailable: using the profile held in memory');
        return this.profileCache.get(agentId) ?? null;
      }
      throw new VdiguardError(
        'unavailable',
        `cannot load the profile of agent ${agentId}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private cacheProfile(agentId: string, record: ProfileRecord | null): void {
    this.profileCache.delete(agentId);
    this.profileCache.set(agentId, record);
    if (this.profileCache.size > PROFILE_CACHE_SIZE) {
      const oldest = this.profileCache.keys().next().value as string;
      this.profileCache.delete(oldest);
    }
  }

  /**
   * One update per agent at a time on this scorer: a concurrent one would lose the store's version
   * check and fit again. Other scorers' updates of the same agent are caught by that check.
   */
  private addToProfile(agentId: string, added: Map<Modality, Contribution>, reason: string): Promise<ProfileRecord> {
    const previous = this.profileUpdates.get(agentId) ?? Promise.resolve();
    const update = previous.catch(() => undefined).then(() => this.updateProfile(agentId, added, reason));
    this.profileUpdates.set(agentId, update);
    const forget = (): void => {
      if (this.profileUpdates.get(agentId) === update) this.profileUpdates.delete(agentId);
    };
    update.then(forget, forget);
    return update;
  }

  private async updateProfile(agentId: string, added: Map<Modality, Contribution>, reason: string): Promise<ProfileRecord> {
    const maturity: MaturityPolicy = this.options.policy.maturity;
    const record = await this.profiles.update(agentId, reason, async (current) => {
      let body = current ?? emptyProfile();
      for (const m of MODALITIES) {
        const c = added.get(m);
        if (c || (added.size === 0 && body[m].windows.length > 0)) {
          const background = this.population.background(m, agentId);
          body = await addWindows(body, m, c ?? { windows: [], units: 0 }, (windows) => this.fits.fit({ modality: m, windows, background, agentId }), maturity);
        }
      }
      return { body, state: profileState(body, maturity) };
    });
    this.cacheProfile(agentId, record);
    this.population.set(agentId, record.body);
    this.options.log.info({ agentId, version: record.version, state: record.state, reason }, 'profile updated');
    return record;
  }

  /** `timing`: the session's event times as judged when the decision was taken. */
  private recordDecision(live: LiveSession, source: 'scorer' | 'gateway', trust: number, state: string, action: string, reason: string, timing: TimingReport): void {
    const { sessionId, agentId } = live.identity;
    const decision = { sessionId, agentId, decidedAt: this.now(), source, trust, state, action, reason, trail: [...live.scoring.trail], timing };
    this.auditWrites.enqueue(`decision ${action} in ${sessionId}`, () => this.audit.decision(decision));
    this.telemetry.decision(live.span, decision, live.identity.desktopId);
    this.options.log.info({ sessionId, agentId, action, trust, reason }, 'decision');
  }
}

/** Enough of a profile body to compute what is still required from a summary row. */
function bodyWithUnits(s: ProfileSummary): ProfileBody {
  const empty = emptyProfile();
  return {
    keystroke: { ...empty.keystroke, units: s.keystrokes },
    mouse: { ...empty.mouse, units: s.mouseActions },
  };
}

