/** Small HTTP helpers: JSON bodies with a size limit, JSON answers, errors mapped to statuses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VdiguardError, type ErrorCode } from '../../lib/errors.js';

const HTTP_STATUS: Record<ErrorCode, number> = {
  'invalid-argument': 400,
  'not-found': 404,
  'failed-precondition': 409,
  unauthenticated: 401,
  'permission-denied': 403,
  'resource-exhausted': 429,
  unavailable: 503,
  internal: 500,
};

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof VdiguardError) {
    const retryAfter: Record<string, string> = err.retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(err.retryAfterMs / 1000)) };
    sendJson(res, HTTP_STATUS[err.code], { error: err.message, code: err.code }, retryAfter);
  } else {
    sendJson(res, 500, { error: 'internal error', code: 'internal' });
  }
}

export async function readJson(req: IncomingMessage, limit = 16 * 1024): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
    throw new VdiguardError('invalid-argument', 'send a JSON body (content-type: application/json)');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new VdiguardError('invalid-argument', `the body is larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new VdiguardError('invalid-argument', 'the body is not a JSON object');
  }
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

/**
 * The client's address: the socket's peer, or with `trustProxy` proxies in front, the entry that
 * many hops from the right of X-Forwarded-For (the address the outermost trusted proxy saw).
 */
export function clientAddress(req: IncomingMessage, trustProxy: number): string {
  const peer = req.socket.remoteAddress ?? '';
  if (trustProxy <= 0) return peer;
  const raw = req.headers['x-forwarded-for'];
  const list = (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return list[list.length - trustProxy] ?? list[0] ?? peer;
}
