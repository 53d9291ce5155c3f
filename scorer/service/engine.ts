/**
 * The scorer's core, apart from any transport: open, feed, confirm and close sessions; enrol and
 * administer profiles. The gRPC services are thin shells around it.
 *
 * Database use is kept off the scoring path: a session loads its agent's profile once when it
 * opens (from memory if the database is down and the profile was loaded before), and everything
 * it writes goes through one retrying write queue of small records (session starts and ends,
 * decisions, and what a session adds to its agent's profile), which at shutdown spills what it
 * could not write for the next start (lib/db/write-queue.ts).
 *
 * A profile version costs a template fit of up to seconds, so what a session adds to its agent's
 * profile is stored as it goes, in parts of CONTRIBUTION_PART_WINDOWS windows or CONTRIBUTION_PART_MS
 * of work, whichever comes first (a session holds little here, and a crash loses at most a part),
 * and applied as a version once the
 * session has ended, off the write queue: all the contributions of an agent waiting when its update
 * starts go into that one version, so a thousand sessions ending at once (a scorer restart) cost
 * one fit per agent, not one per session. A contribution not applied when the scorer stops stays
 * stored, and the next start (or any other scorer, at its next sweep) applies it.
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
import { randomUUID } from 'node:crypto';
import { ProfileStore, reasonOf, unknownAgent, type ProfileChange, type ProfileContribution, type ProfileRecord, type ProfileSummary } from '../store/profiles.js';
import { AuditLog } from '../store/audit.js';
import { WriteQueue } from '../../lib/db/write-queue.js';
import { Spill } from '../../lib/db/spill.js';
import { isScorerRecord, SCORER_QUEUE, scorerRecordLabel, writeScorerRecords, type ScorerRecord } from '../store/records.js';
import { eventClock, ScoringSession, type Contribution, type SessionPolicy, type SessionVerdict } from '../session/session.js';
import { RoutedExtractor, type ModalityPipeline } from '../models/pipelines.js';
import { FitPool, type NetworkArtifacts } from '../models/fit-pool.js';
import { forEachConcurrently } from '../../lib/concurrency.js';
import { validateBatch } from './validate.js';
import type { Db } from '../../lib/db/db.js';
import type { Context, Span } from '@opentelemetry/api';
import { ScorerTelemetry } from './telemetry.js';
import { ProfileCache } from './profile-cache.js';
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
  /** Each fit worker's heap, MiB (FitPool's heapMb). */
  readonly fitWorkerHeapMb?: number;
  /** The population networks `pipelines` were built with, for the fit workers to build the same. */
  readonly networks?: NetworkArtifacts;
  /** Profile versions kept per agent (default DEFAULT_VERSIONS_KEPT). */
  readonly profileVersions?: number;
  /** Wall clock for audit records; tests inject their own. */
  readonly now?: () => Date;
  /** Where records not written at shutdown go, and are read back from at start; none: they are logged as lost. */
  readonly spillDir?: string;
  /** Milliseconds between sweeps for contributions no scorer is applying (another's that stopped); 0: only at start. */
  readonly contributionSweepMs?: number;
  /** Bytes of profiles kept for sessions opened while the database is down (default PROFILE_CACHE_BYTES). */
  readonly profileCacheBytes?: number;
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
  /** Contribution parts this scorer wrote for the session. */
  parts: number;
  /** When the last part was written, or the session opened here (ms, the engine's clock). */
  lastPartAtMs: number;
  /** Opened as a resume of a session this scorer did not hold: another may have written parts of it. */
  readonly resumedFromElsewhere: boolean;
}

const STREAM_LOST = 'stream lost and not resumed';

/**
 * Windows a live session gathers before they are written as a part of its contribution, a few
 * minutes of an enrolling agent's work: some 60 KB of feature vectors at the soak's mix of work,
 * up to some 350 KB for typing alone (a keystroke window with key vectors is ~1,400 numbers).
 */
export const CONTRIBUTION_PART_WINDOWS = 32;

/**
 * The longest a live session holds what it gathered before writing it as a part. Windows come
 * slowly at ordinary office work (a window in some 5 to 20 s), so parts of 32 alone would leave
 * every session holding up to 32 for many minutes: a scorer's memory would grow for the first ten
 * minutes of a shift, and a crash would lose that much enrolment.
 */
export const CONTRIBUTION_PART_MS = 60_000;

/**
 * Open contribution parts whose session wrote none for this long are closed by the sweep: the
 * session was lost with its scorer and its gateway, and never ended anywhere. Longer than a shift.
 */
const ORPHANED_PARTS_MS = 12 * 3_600_000;

/** How long an applied contribution's id is kept, to recognise it written again from an old spill. */
const APPLIED_CONTRIBUTIONS_KEPT_MS = 30 * 86_400_000;

/** Agents whose contributions are applied at once on a scorer: one reads while another fits. */
const APPLY_CONCURRENCY = 2;

/**
 * Bytes of profiles kept in memory for sessions opened while the database is down (ProfileCache):
 * some 1,400 agents with fitted templates, more than a scorer holds sessions of at the soak's load.
 */
const PROFILE_CACHE_BYTES = 64 * 1024 * 1024;

export class ScorerEngine {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly profileCache: ProfileCache;
  readonly profiles: ProfileStore;
  readonly audit: AuditLog;
  /** Session starts and ends, decisions, profile contributions: small, in order, never behind a fit. */
  readonly writes: WriteQueue<ScorerRecord>;
  /** Agents whose stored contributions are to be applied by a run not started yet: that run reads them all. */
  private readonly applyWaiting = new Set<string>();
  /** Contribution runs in progress, for drainWrites. */
  private readonly applies = new Set<Promise<void>>();
  /** Agents whose contributions wait for a run to start: a few run at once (APPLY_CONCURRENCY). */
  private readonly applyQueue: string[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Shutting down: sessions are being handed over, and their contributions left for others to apply. */
  private handingOver = false;
  private readonly now: () => Date;
  private readonly telemetry: ScorerTelemetry;
  /** Template fits, off the event loop that scores live sessions; its population sample (other agents' windows) is their background. */
  private readonly fits: FitPool;
  /** The profile update of each agent in progress; the next one waits for it. */
  private readonly profileUpdates = new Map<string, Promise<unknown>>();

  constructor(private readonly options: EngineOptions) {
    this.profiles = new ProfileStore(options.db, options.profileVersions);
    this.profileCache = new ProfileCache(options.profileCacheBytes ?? PROFILE_CACHE_BYTES);
    this.audit = new AuditLog(options.db);
    this.writes = new WriteQueue<ScorerRecord>({
      log: options.log,
      maxPending: 100_000,
      initialDelayMs: 250,
      maxDelayMs: 30_000,
      write: async (r) => {
        await writeScorerRecords([r], options.db, this.profiles);
        this.written([r]);
      },
      writeBatch: async (rs) => {
        await options.db.transaction((tx) => writeScorerRecords(rs, tx, this.profiles));
        this.written(rs);
      },
      label: scorerRecordLabel,
      ...(options.spillDir ? { spill: new Spill({ dir: options.spillDir, queue: SCORER_QUEUE, isRecord: isScorerRecord }) } : {}),
    });
    this.now = options.now ?? (() => new Date());
    this.telemetry = new ScorerTelemetry({ pendingWrites: () => this.pendingWrites, fitHeapCommittedBytes: () => this.fits.heapCommittedBytes });
    this.fits = new FitPool({
      size: options.fitWorkers ?? 1,
      log: options.log,
      ...(options.fitWorkerHeapMb ? { heapMb: options.fitWorkerHeapMb } : {}),
      ...(options.networks ? { networks: options.networks } : {}),
    });
  }

  /** Records not yet in the database, and contribution runs not finished. */
  get pendingWrites(): number {
    return this.writes.pending + this.applies.size + this.applyQueue.length;
  }

  /**
   * Resolves true once every queued record has landed and the contributions among them are
   * applied, false if `timeoutMs` passes first.
   */
  async drainWrites(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (!(await this.writes.drain(timeoutMs))) return false;
    while (this.applies.size > 0 || this.applyQueue.length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timeout: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => (timeout = setTimeout(() => resolve('expired'), left)));
      const done = await Promise.race([Promise.allSettled([...this.applies]), expired]);
      clearTimeout(timeout);
      if (done === 'expired') return false;
    }
    return true;
  }

  /**
   * What the last stop left: spilled records go back in the write queue, and contributions stored
   * but not applied (this or another scorer stopped first) are applied. Returns the counts.
   */
  async recover(): Promise<{ records: number; contributions: number; agents: number }> {
    const records = this.writes.recover();
    const sweep = (): Promise<{ contributions: number; agents: number }> =>
      this.sweepContributions().catch((err: Error) => {
        this.options.log.warn({ err: err.message }, 'cannot look for stored profile contributions now: looked for again at the next sweep');
        return { contributions: 0, agents: 0 };
      });
    const pending = await sweep();
    const sweepMs = this.options.contributionSweepMs ?? 0;
    if (sweepMs > 0) {
      this.sweepTimer = setInterval(() => void sweep(), sweepMs);
      this.sweepTimer.unref();
    }
    return { records, ...pending };
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
    this.sessions.set(id.sessionId, { identity: id, scoring, span, detachTimer: undefined, attached: true, parts: 0, lastPartAtMs: this.now().getTime(), resumedFromElsewhere: resume });
    this.writes.enqueue({ kind: 'session-started', session: { ...id, startedAt: this.now() } });
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
    const gathered = scoring.gatheredWindows;
    if (gathered >= CONTRIBUTION_PART_WINDOWS || (gathered > 0 && this.now().getTime() - live.lastPartAtMs >= CONTRIBUTION_PART_MS)) this.writeContributionPart(live);
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
    this.writes.enqueue({
      kind: 'session-ended',
      session: { sessionId, endedAt: this.now(), reason: endReason, minTrust: scored ? scoring.trust.minTrust : null, finalTrust: scored ? scoring.trust.trust : null },
    });
    this.telemetry.sessionClosed(live.span, {
      outcome: scoring.terminated ? 'terminated' : reason === STREAM_LOST ? 'lost' : 'closed',
      reason: endReason,
      minTrust: scored ? scoring.trust.minTrust : null,
      finalTrust: scored ? scoring.trust.trust : null,
      windowsScored: scoring.trust.windows,
      timing: live.scoring.timing,
    });
    this.writeContributionPart(live);
    // Closed where the session ends for good; one handed over goes on elsewhere, which closes it.
    const withdraw = scoring.remoteControlFinding !== undefined;
    if (!this.handingOver && (live.parts > 0 || live.resumedFromElsewhere || withdraw)) {
      this.writes.enqueue({ kind: 'contributions-closed', sessionId, agentId: identity.agentId, withdraw });
    }
    this.options.log.info({ sessionId, agentId: identity.agentId, reason, minTrust: scoring.trust.minTrust, contributionParts: live.parts, withdrawn: withdraw }, 'session closed');
  }

  /** Writes what the session gathered for the profile since its last part, open until it ends. */
  private writeContributionPart(live: LiveSession): void {
    const added = live.scoring.takeContribution();
    live.lastPartAtMs = this.now().getTime();
    if (added.size === 0) return;
    const contribution: ProfileContribution = {
      id: randomUUID(),
      agentId: live.identity.agentId,
      sessionId: live.identity.sessionId,
      reason: live.scoring.profileState === 'mature' ? 'adaptation' : 'enrolment',
      added: Object.fromEntries(added),
      open: true,
    };
    this.writes.enqueue({ kind: 'contribution', contribution });
    live.parts++;
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
    this.profileCache.refresh(agentId, record);
    return this.status(record);
  }

  async deleteProfile(agentId: string): Promise<number> {
    const n = await this.profiles.delete(agentId);
    this.profileCache.delete(agentId);
    this.fits.population.delete(agentId);
    return n;
  }

  /** Starts the template fit workers before the first fit (see FitPool.start). */
  startFitWorkers(): void {
    this.fits.start();
  }

  /** Fills the population sample from the stored profiles (at start). Returns the agents read. */
  async loadPopulation(): Promise<number> {
    const list = await this.profiles.list();
    for (const s of list) {
      const record = await this.profiles.get(s.agentId);
      if (record) this.fits.population.set(s.agentId, record.body);
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
   * Ends every session and waits up to `timeoutMs` for their records to land and their
   * contributions to be applied. Records not written by then are spilled (see recover);
   * contributions not applied are stored already, and the next start applies them.
   */
  async shutdown(timeoutMs: number): Promise<{ unwritten: number; spilledTo?: string }> {
    clearInterval(this.sweepTimer);
    // The sessions go on elsewhere: their contributions are written, and applied with the rest
    // of the session when it ends there (or by the next sweep), not fitted in this grace period.
    this.handingOver = true;
    for (const id of [...this.sessions.keys()]) this.closeSession(id, 'scorer shutting down');
    await this.drainWrites(timeoutMs);
    this.stopping = true;
    const result = this.writes.close();
    await this.fits.close();
    return result;
  }

  /** Records have landed (committed): contributions they made applicable are applied. */
  private written(records: readonly ScorerRecord[]): void {
    for (const r of records) {
      // Parts of a live session wait for its close; a whole one (from an older spill) is ready.
      if (r.kind === 'contributions-closed') this.applyContributions(r.agentId);
      else if (r.kind === 'contribution' && r.contribution.open !== true) this.applyContributions(r.contribution.agentId);
    }
  }

  /**
   * Schedules applying the agent's stored contributions, unless a run that will read them waits
   * already, or a session of the agent is live here: its end applies them with its own, as one
   * version. So a scorer restart, whose sessions each leave a contribution up to the hand-over and
   * go on elsewhere, costs one fit per session when it ends rather than a storm of fits at once.
   */
  private applyContributions(agentId: string): void {
    if (this.stopping || this.handingOver || this.applyWaiting.has(agentId) || this.holdsSessionOf(agentId)) return;
    this.applyWaiting.add(agentId);
    this.applyQueue.push(agentId);
    this.startApplies();
  }

  /**
   * Starts waiting contribution runs while fewer than APPLY_CONCURRENCY run: a start that finds
   * hundreds of agents waiting must not take every database connection and leave none for the
   * records of live sessions.
   */
  private startApplies(): void {
    while (!this.stopping && this.applies.size < APPLY_CONCURRENCY && this.applyQueue.length > 0) {
      const agentId = this.applyQueue.shift() as string;
      const run: Promise<void> = this.serialized(agentId, () => {
        this.applyWaiting.delete(agentId);
        return this.applyPending(agentId);
      })
        .then(() => undefined)
        .catch((err: Error) => {
          // Stored, so nothing is lost: the next sweep or start applies them.
          if (!this.stopping) this.options.log.warn({ agentId, err: err.message }, 'profile contributions not applied yet: retried at the next sweep');
        })
        .finally(() => {
          this.applies.delete(run);
          this.startApplies();
        });
      this.applies.add(run);
    }
  }

  /** Applies every contribution of the agent stored and not applied yet, as one version. */
  private async applyPending(agentId: string): Promise<void> {
    for (let attempt = 1; attempt <= 20 && !this.stopping; attempt++) {
      const pending = await this.profiles.pendingContributions(agentId);
      if (pending.length === 0) return;
      const added = mergeContributions(pending, this.options.policy.maturity.maxWindows);
      const record = await this.profiles.applyContributions(agentId, pending, this.change(agentId, added));
      if (record) {
        this.profileChanged(record, reasonOf(pending));
        return;
      }
    }
  }

  /** Schedules every agent with stored contributions not applied yet, and forgets old applied ones. */
  private async sweepContributions(): Promise<{ contributions: number; agents: number }> {
    await this.profiles.pruneContributions(new Date(this.now().getTime() - APPLIED_CONTRIBUTIONS_KEPT_MS));
    const orphaned = await this.profiles.closeOrphanedContributions(new Date(this.now().getTime() - ORPHANED_PARTS_MS));
    if (orphaned > 0) this.options.log.info({ parts: orphaned }, 'closed the profile contribution parts of sessions lost without an end');
    const waiting = await this.profiles.agentsWithPendingContributions();
    let contributions = 0;
    for (const [agentId, n] of waiting) {
      contributions += n;
      this.applyContributions(agentId);
    }
    if (waiting.size > 0) this.options.log.info({ contributions, agents: waiting.size }, 'applying stored profile contributions');
    return { contributions, agents: waiting.size };
  }

  private holdsSessionOf(agentId: string): boolean {
    for (const live of this.sessions.values()) if (live.identity.agentId === agentId) return true;
    return false;
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

  /** The profile a new session scores with (no windows: see ProfileStore.forScoring). */
  private async loadProfile(agentId: string): Promise<ProfileRecord | null> {
    try {
      const record = await this.profiles.forScoring(agentId);
      this.profileCache.put(agentId, record);
      return record;
    } catch (err) {
      const kept = this.profileCache.get(agentId);
      if (kept !== undefined) {
        this.options.log.warn({ agentId, err: (err as Error).message }, 'database unavailable: using the profile held in memory');
        return kept;
      }
      throw new VdiguardError(
        'unavailable',
        `cannot load the profile of agent ${agentId}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Runs `update` after the agent's update in progress on this scorer, if any: a concurrent one
   * would lose the store's version check and fit again. Other scorers' updates of the same agent
   * are caught by that check.
   */
  private serialized<T>(agentId: string, update: () => Promise<T>): Promise<T> {
    const previous = this.profileUpdates.get(agentId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(update);
    this.profileUpdates.set(agentId, next);
    const forget = (): void => {
      if (this.profileUpdates.get(agentId) === next) this.profileUpdates.delete(agentId);
    };
    next.then(forget, forget);
    return next;
  }

  private addToProfile(agentId: string, added: Map<Modality, Contribution>, reason: string): Promise<ProfileRecord> {
    return this.serialized(agentId, async () => {
      const record = await this.profiles.update(agentId, reason, this.change(agentId, added));
      this.profileChanged(record, reason);
      return record;
    });
  }

  /** The change that adds `added` to a profile (refits every modality with windows when it is empty). */
  private change(agentId: string, added: Map<Modality, Contribution>): ProfileChange {
    const maturity: MaturityPolicy = this.options.policy.maturity;
    return async (current) => {
      let body = current ?? emptyProfile();
      for (const m of MODALITIES) {
        const c = added.get(m);
        if (c || (added.size === 0 && body[m].windows.length > 0)) {
          body = await addWindows(body, m, c ?? { windows: [], units: 0 }, (windows) => this.fits.fit({ modality: m, windows, agentId }), maturity);
        }
      }
      return { body, state: profileState(body, maturity) };
    };
  }

  private profileChanged(record: ProfileRecord, reason: string): void {
    this.profileCache.refresh(record.agentId, record);
    this.fits.population.set(record.agentId, record.body);
    this.options.log.info({ agentId: record.agentId, version: record.version, state: record.state, reason }, 'profile updated');
  }

  /** `timing`: the session's event times as judged when the decision was taken. */
  private recordDecision(live: LiveSession, source: 'scorer' | 'gateway', trust: number, state: string, action: string, reason: string, timing: TimingReport): void {
    const { sessionId, agentId } = live.identity;
    const decision = { sessionId, agentId, decidedAt: this.now(), source, trust, state, action, reason, trail: [...live.scoring.trail], timing };
    this.writes.enqueue({ kind: 'decision', decision: { ...decision, recordId: randomUUID() } });
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


/**
 * One agent's contributions as one addition per modality, oldest first; a profile keeps its last
 * `maxWindows` windows of a modality, so older ones are not carried.
 */
export function mergeContributions(contributions: readonly ProfileContribution[], maxWindows: number): Map<Modality, Contribution> {
  const merged = new Map<Modality, Contribution>();
  for (const c of contributions) {
    for (const m of MODALITIES) {
      const add = c.added[m];
      if (!add) continue;
      const had = merged.get(m);
      merged.set(m, had ? { windows: [...had.windows, ...add.windows].slice(-maxWindows), units: had.units + add.units } : add);
    }
  }
  return merged;
}
