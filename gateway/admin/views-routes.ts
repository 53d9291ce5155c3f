/**
 * The admin API's live views, all reads:
 * - `GET /api/admin/sessions?state=live|ended|all&agent=&limit=`: live sessions from this gateway's
 *   registry (a session whose connection dropped shows as `disconnected` with when it ends, never as
 *   active), ended ones from the scorer's `sessions` table;
 * - `GET /api/admin/sessions/<id>`: one session with its trust curve and decisions, live or ended,
 *   and which times its events were measured on (an ended session's as of its last decision);
 * - `GET /api/admin/profiles`: every agent's profile maturity, agents with nothing enrolled yet
 *   included, since a profile row appears only when a session with enough behaviour has ended.
 */
import type { ServerResponse } from 'node:http';
import { VdiguardError } from '../../lib/errors.js';
import { profileStateToJSON, type ProfileStatus } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { AuditLog, Decision, SessionRecord } from '../../scorer/store/audit.js';
import { sendJson } from '../http/http-util.js';
import { sessionsQuery } from '../http/query.js';
import type { ScorerLink } from '../mirror/scorer-link.js';
import type { SessionRegistry } from '../session/registry.js';
import type { DesktopSession, TrustLinePoint } from '../session/session.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { TimingReport } from '../../scorer/timing/client-times.js';

export type { TrustLinePoint } from '../session/session.js';

/** What the page draws a session's state as: `disconnected` waits for its agent to reconnect. */
export type SessionPhase = 'active' | 'challenged' | 'disconnected' | 'ended';

export interface SessionSummary {
  readonly sessionId: string;
  readonly agentId: string;
  readonly desktopId: string;
  readonly address: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly phase: SessionPhase;
  /** While disconnected: when the session ends unless its agent reconnects. */
  readonly reconnectEndsAt: string | null;
  /** Latest trust; null when an ended session was never scored. */
  readonly trust: number | null;
  readonly minTrust: number | null;
  /** The scorer's view of the agent: enrolling, trusted, suspect, mismatch (live sessions). */
  readonly trustState: string | null;
  readonly scored: boolean;
  readonly endReason: string | null;
  /** Live sessions: trust after each scored window (the last 600). Ended: empty (see the session's page). */
  readonly trustLine: readonly TrustLinePoint[];
  /**
   * Which times the scorer measured the session's events on (counts): live sessions as of the
   * latest verdict, an ended one's page as of its last decision that recorded them; null when
   * nothing is known (before the first verdict, in the list of ended sessions, old records).
   */
  readonly timing: TimingReport | null;
}

export interface ViewRoutesDeps {
  readonly sessions: SessionRegistry;
  readonly audit: AuditLog;
  readonly store: Pick<GatewayStore, 'listAgents'>;
  readonly scorer: Pick<ScorerLink, 'profiles'>;
  /** Trust at or below which the scorer challenges (VDIGUARD_TRUST_CHALLENGE_BELOW); terminate is at 0. */
  readonly challengeBelow: number;
}

/** Answers the request when it is one of these routes; false otherwise. */
export async function viewRoutes(method: string, url: URL, res: ServerResponse, d: ViewRoutesDeps): Promise<boolean> {
  if (method !== 'GET') return false;
  if (url.pathname === '/api/admin/sessions') {
    sendJson(res, 200, { sessions: await listSessions(url.searchParams, d) });
    return true;
  }
  const one = /^\/api\/admin\/sessions\/([^/]+)$/.exec(url.pathname);
  if (one) {
    sendJson(res, 200, await sessionDetail(decodeURIComponent(one[1] as string), d));
    return true;
  }
  if (url.pathname === '/api/admin/profiles') {
    sendJson(res, 200, { profiles: await profileMaturity(d) });
    return true;
  }
  return false;
}

async function listSessions(params: URLSearchParams, d: ViewRoutesDeps): Promise<SessionSummary[]> {
  const q = sessionsQuery(params);
  const live = q.state === 'ended' ? [] : d.sessions.all().filter((s) => s.status !== 'ended' && (!q.agentId || s.id.agentId === q.agentId)).map(liveSummary);
  live.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const room = q.limit - live.length;
  const ended = q.state === 'live' || room <= 0 ? [] : (await d.audit.endedSessions({ agentId: q.agentId, limit: room })).map((r) => endedSummary(r, null));
  return [...live.slice(0, q.limit), ...ended];
}

async function sessionDetail(sessionId: string, d: ViewRoutesDeps): Promise<{ session: SessionSummary; trustLine: TrustLinePoint[]; decisions: Decision[]; thresholds: { challenge: number; terminate: number } }> {
  const thresholds = { challenge: d.challengeBelow, terminate: 0 };
  const live = d.sessions.get(sessionId);
  const decisions = await d.audit.decisions({ sessionId, limit: 1000 });
  if (live && live.status !== 'ended') {
    const session = liveSummary(live);
    return { session, trustLine: [...session.trustLine], decisions, thresholds };
  }
  const record = await d.audit.session(sessionId);
  if (!record) throw new VdiguardError('not-found', `no session ${sessionId}: neither live on this gateway nor recorded by the scorer`);
  // What is kept of an ended session's trust: the trust at each decision, and where it ended.
  const stretches = (timing: TimingReport | null): number | null => timing?.inconsistentStretches ?? null;
  const trustLine = decisions.map((x) => ({ t: x.decidedAt.getTime(), trust: x.trust, inconsistentStretches: stretches(x.timing) })).reverse();
  const timing = decisions.find((x) => x.timing !== null)?.timing ?? null;
  if (record.endedAt && record.finalTrust !== null) trustLine.push({ t: record.endedAt.getTime(), trust: record.finalTrust, inconsistentStretches: stretches(timing) });
  return { session: endedSummary(record, timing), trustLine, decisions, thresholds };
}

function liveSummary(s: DesktopSession): SessionSummary {
  const v = s.view();
  return {
    sessionId: v.sessionId,
    agentId: v.agentId,
    desktopId: v.desktopId,
    address: v.address,
    startedAt: v.startedAt,
    endedAt: null,
    phase: v.connected ? (v.status === 'challenged' ? 'challenged' : 'active') : 'disconnected',
    reconnectEndsAt: v.reconnectEndsAt ?? null,
    trust: v.trust,
    minTrust: s.minTrust,
    trustState: v.state,
    scored: v.scored,
    endReason: null,
    trustLine: v.trustLine,
    timing: v.timing,
  };
}

function endedSummary(r: SessionRecord, timing: TimingReport | null): SessionSummary {
  return {
    sessionId: r.sessionId,
    agentId: r.agentId,
    desktopId: r.desktopId,
    address: r.clientAddress,
    startedAt: r.startedAt.toISOString(),
    endedAt: r.endedAt?.toISOString() ?? null,
    phase: r.endedAt ? 'ended' : 'disconnected',
    reconnectEndsAt: null,
    trust: r.finalTrust,
    minTrust: r.minTrust,
    trustState: null,
    scored: r.finalTrust !== null,
    endReason: r.endReason,
    trustLine: [],
    timing,
  };
}

export interface ProfileMaturity {
  readonly agentId: string;
  /** The gateway's display name; empty for a profile whose agent the gateway does not know. */
  readonly displayName: string;
  /** `none`: nothing enrolled yet (no session with enough behaviour has ended). */
  readonly state: 'none' | 'enrolling' | 'mature';
  readonly keystrokesEnrolled: number;
  readonly mouseActionsEnrolled: number;
  /** Still needed before the profile matures (either modality suffices); null while unknown (no profile yet). */
  readonly keystrokesRequired: number | null;
  readonly mouseActionsRequired: number | null;
  readonly updatedAt: string | null;
  /** The agent has a live session here: its behaviour is added to the profile when it ends. */
  readonly liveSession: boolean;
}

async function profileMaturity(d: ViewRoutesDeps): Promise<ProfileMaturity[]> {
  const [profiles, agents] = await Promise.all([d.scorer.profiles(), d.store.listAgents()]);
  const byAgent = new Map<string, ProfileStatus>(profiles.map((p) => [p.agentId, p]));
  const names = new Map(agents.map((a) => [a.agentId, a.displayName]));
  const ids = [...new Set([...names.keys(), ...byAgent.keys()])].sort();
  const live = new Set(d.sessions.all().filter((s) => s.status !== 'ended').map((s) => s.id.agentId));
  return ids.map((agentId) => {
    const p = byAgent.get(agentId);
    return {
      agentId,
      displayName: names.get(agentId) ?? '',
      state: p ? (profileStateToJSON(p.state).replace('PROFILE_STATE_', '').toLowerCase() as 'enrolling' | 'mature') : 'none',
      keystrokesEnrolled: p?.keystrokesEnrolled ?? 0,
      mouseActionsEnrolled: p?.mouseActionsEnrolled ?? 0,
      keystrokesRequired: p ? p.keystrokesRequired : null,
      mouseActionsRequired: p ? p.mouseActionsRequired : null,
      updatedAt: p ? new Date(p.updatedAtUnixMs).toISOString() : null,
      liveSession: live.has(agentId),
    };
  });
}
