/**
 * Starts a real scorer on a loopback port for tests, on a given store, and gives gRPC clients
 * and small helpers to drive a session stream.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { InputEvent, SessionRequest, SessionResponse } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { Db } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { loadScorerSettings, type SCORER_SETTINGS } from '../config.js';
import { startScorer, type RunningScorer } from '../service/server.js';
import { bearerMetadata, scorerClient, type ScorerClientOptions } from '../client.js';

/** The gateway token of every test scorer, so that a stream can move from one to another. */
export const TEST_GATEWAY_TOKEN = 'test-gateway-token-0123456789abcdef';

export interface TestScorer extends RunningScorer {
  /** A file holding the admin token, for the CLI's admin functions. */
  readonly adminTokenFile: string;
}

export async function startTestScorer(db: Db, env: Partial<Record<keyof typeof SCORER_SETTINGS, string>> = {}): Promise<TestScorer> {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-scorer-'));
  const adminTokenFile = join(dir, 'admin-token');
  writeFileSync(adminTokenFile, 'test-admin-token-0123456789abcdef\n', { mode: 0o600 });
  const settings = loadScorerSettings({}, { listen: '127.0.0.1:0', dataDir: dir, adminTokenFile, gatewayToken: TEST_GATEWAY_TOKEN, ...env });
  const scorer = await startScorer(settings, { log: silentLogger(), db });
  return Object.assign(scorer, { adminTokenFile });
}

/** A session stream with its responses collected, and a promise for how it ended. */
export interface TestStream {
  readonly call: ClientDuplexStream<SessionRequest, SessionResponse>;
  readonly responses: SessionResponse[];
  /** Resolves with null when the server ended the stream normally, or with its error. */
  readonly ended: Promise<ServiceError | null>;
  /** Resolves once `n` responses have arrived. */
  received(n: number): Promise<SessionResponse[]>;
  close(): void;
}

/** A Session stream presenting `token` (the test scorers' gateway token by default; null: none). */
export function openStream(target: string | ScorerClientOptions, metadata = new Metadata(), token: string | null = TEST_GATEWAY_TOKEN): TestStream {
  const client = scorerClient(typeof target === 'string' ? { address: target } : target);
  const call = client.session(token === null ? metadata : bearerMetadata(token, metadata));
  const responses: SessionResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  call.on('data', (r: SessionResponse) => {
    responses.push(r);
    for (const w of waiters.filter((w) => responses.length >= w.n)) w.resolve();
  });
  const ended = new Promise<ServiceError | null>((resolve) => {
    call.on('error', (err: ServiceError) => resolve(err));
    call.on('end', () => resolve(null));
  });
  void ended.then(() => client.close());
  return {
    call,
    responses,
    ended,
    received: (n) =>
      responses.length >= n ? Promise.resolve(responses) : new Promise((resolve) => waiters.push({ n, resolve: () => resolve(responses) })),
    close: () => client.close(),
  };
}

export function openRequest(sessionId: string, agentId: string, resume = false): SessionRequest {
  return { kind: { $case: 'open', value: { sessionId, agentId, desktopId: 'desk-1', resume, client: { address: '127.0.0.1', userAgent: 'test', screenWidth: 1024, screenHeight: 768 } } } };
}

export function eventsRequest(seq: number, events: InputEvent[]): SessionRequest {
  return { kind: { $case: 'events', value: { seq, events } } };
}
