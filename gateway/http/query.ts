/**
 * Query parameters of the admin API, checked in one place: anything a caller can type in a URL is
 * either a valid value or a 400 that says what was wrong, never a database error.
 */
import { requireId } from '../../lib/ids.js';
import { VdiguardError } from '../../lib/errors.js';

export const MAX_DECISIONS = 1000;
const DEFAULT_DECISIONS = 100;

export interface DecisionsQuery {
  readonly agentId?: string;
  readonly sessionId?: string;
  readonly limit: number;
}

/** `GET /api/admin/decisions?agent=&session=&limit=`. Throws invalid-argument. */
export function decisionsQuery(params: URLSearchParams): DecisionsQuery {
  const limitText = params.get('limit');
  const limit = limitText === null || limitText === '' ? DEFAULT_DECISIONS : Number(limitText);
  if (!/^\d*$/.test(limitText ?? '') || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_DECISIONS) {
    throw new VdiguardError('invalid-argument', `limit must be a whole number from 1 to ${MAX_DECISIONS} (got ${JSON.stringify((limitText ?? '').slice(0, 40))})`);
  }
  return { agentId: optionalId(params, 'agent'), sessionId: optionalId(params, 'session'), limit };
}

function optionalId(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  requireId(name, value);
  return value;
}
