/** Small HTTP helpers: JSON bodies with a size limit, JSON answers, errors mapped to statuses. */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { clientAddress as addressBehindProxies, type TrustedProxies } from './proxies.js';
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

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof VdiguardError) {
    const retryAfter: Record<string, string> = err.retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(err.retryAfterMs / 1000)) };
    sendJson(res, HTTP_STATUS[err.code], { error: err.message, code: err.code, ...(err.field ? { field: err.field } : {}) }, retryAfter);
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

/** The value of cookie `name`, if the request carries it. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The client's address: see proxies.ts for when X-Forwarded-For is believed. */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  return addressBehindProxies(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], trusted);
}

/** Sent with every response when the gateway itself serves TLS: browsers then never try plain HTTP. */
export const HSTS_HEADER = ['strict-transport-security', 'max-age=31536000'] as const;

/** Answers a WebSocket upgrade that will not happen with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: 403 | 404, reason: string): void {
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
