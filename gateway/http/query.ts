/**
 * Query parameters of the admin API, checked in one place: anything a caller can type in a URL is
 * either a valid value or a 400 that says what was wrong, never a database error.
 */
import { requireId } from '../../lib/ids.js';
import { VdiguardError } from '../../lib/errors.js';

export const MAX_DECISIONS = 1000;
const DEFAULT_DECISIONS = 100;

export const MAX_SESSIONS = 1000;
const DEFAULT_SESSIONS = 100;

export interface DecisionsQuery {
  readonly agentId?: string;
  readonly sessionId?: string;
  /** One action, as recorded: `terminate`, `challenge`, `admin-kill`, ... */
  readonly action?: string;
  /** Decisions at or after this time. */
  readonly since?: Date;
  /** Decisions before this time. */
  readonly until?: Date;
  readonly limit: number;
}

/** `GET /api/admin/decisions?agent=&session=&action=&since=&until=&limit=`. Throws invalid-argument. */
export function decisionsQuery(params: URLSearchParams): DecisionsQuery {
  const since = optionalTime(params, 'since');
  const until = optionalTime(params, 'until');
  if (since && until && since >= until) throw new VdiguardError('invalid-argument', `since (${since.toISOString()}) must be before until (${until.toISOString()})`);
  return {
    agentId: optionalId(params, 'agent'),
    sessionId: optionalId(params, 'session'),
    action: optionalId(params, 'action'),
    since,
    until,
    limit: limitOf(params, DEFAULT_DECISIONS, MAX_DECISIONS),
  };
}

export type SessionState = 'live' | 'ended' | 'all';
const SESSION_STATES: readonly SessionState[] = ['live', 'ended', 'all'];

export interface SessionsQuery {
  readonly state: SessionState;
  readonly agentId?: string;
  readonly limit: number;
}

/** `GET /api/admin/sessions?state=live|ended|all&agent=&limit=` (state defaults to live). Throws invalid-argument. */
export function sessionsQuery(params: URLSearchParams): SessionsQuery {
  const state = params.get('state') || 'live';
  if (!(SESSION_STATES as readonly string[]).includes(state)) {
    throw new VdiguardError('invalid-argument', `state must be one of ${SESSION_STATES.join(', ')} (got ${JSON.stringify(state.slice(0, 40))})`);
  }
  return { state: state as SessionState, agentId: optionalId(params, 'agent'), limit: limitOf(params, DEFAULT_SESSIONS, MAX_SESSIONS) };
}

function limitOf(params: URLSearchParams, fallback: number, max: number): number {
  const limitText = params.get('limit');
  const limit = limitText === null || limitText === '' ? fallback : Number(limitText);
  if (!/^\d*$/.test(limitText ?? '') || !Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    throw new VdiguardError('invalid-argument', `limit must be a whole number from 1 to ${max} (got ${JSON.stringify((limitText ?? '').slice(0, 40))})`);
  }
  return limit;
}

/** An ISO-8601 date-time with a zone (`2025-03-01T08:00:00Z`, `...+01:00`), as the page sends it. */
function optionalTime(params: URLSearchParams, name: string): Date | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? new Date(value) : undefined;
  if (!t || Number.isNaN(t.getTime())) {
    throw new VdiguardError('invalid-argument', `${name} must be an ISO-8601 time with a zone, such as 2025-03-01T08:00:00Z (got ${JSON.stringify(value.slice(0, 40))})`);
  }
  return t;
}

function optionalId(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  requireId(name, value);
  return value;
}
