/**
 * Attack (issue 17): the scoring stream had no authentication. Anyone who reached the scorer (in
 * the embedded setup, plaintext on 127.0.0.1:50051) could stream `Session` for any agent, enrolling
 * someone else's typing into that agent's profile until it matured, and call `ConfirmIdentity`,
 * which recorded "identity confirmed, the agent passed a fresh MFA challenge" and let the session's
 * behaviour adapt the profile.
 *
 * Control: the scorer takes Session and ConfirmIdentity only from a gateway: the gateway token as
 * `authorization: Bearer` metadata (the admin token too, for `vdiguard replay`), or with mTLS a
 * client certificate the client CA signed (optionally restricted to VDIGUARD_SCORER_TLS_GATEWAY_NAMES).
 * Everything else is refused with UNAUTHENTICATED or PERMISSION_DENIED before the session opens.
 *
 * Real scorer on a free port, fresh PGlite store, real gRPC sockets; the store is read after the
 * scorer has shut down, so every write it queued has landed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { openDb, type Db } from '../../lib/db/db.js';
import { makeTestCerts, type TestCerts } from '../../lib/testing/certs.js';
import { bearerMetadata, scorerClient, type ScorerClientOptions } from '../../scorer/client.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { ProfileStore } from '../../scorer/store/profiles.js';
import { ALICE, typing } from '../../scorer/testing/typist.js';
import { eventsRequest, openRequest, openStream, startTestScorer, TEST_GATEWAY_TOKEN, type TestScorer } from '../../scorer/testing/scorer-harness.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
const WRONG_TOKEN = 'a-guessed-token-0123456789abcdef';

/**
 * Streams a whole session of typing for `agent` (open, events, close) with the given credential;
 * resolves with the responses and how the stream ended (null: normally).
 */
async function typeSession(target: ScorerClientOptions, agent: string, token: string | null): Promise<{ sessionId: string; accepted: boolean; error: ServiceError | null }> {
  const sessionId = randomUUID();
  const s = openStream(target, new Metadata(), token);
  s.call.write(openRequest(sessionId, agent));
  const events = typing(ALICE, 300, 7);
  for (let i = 0; i < events.length; i += 100) s.call.write(eventsRequest(i / 100 + 1, events.slice(i, i + 100)));
  s.call.write({ kind: { $case: 'close', value: { reason: 'done' } } });
  s.call.end();
  const error = await s.ended;
  return { sessionId, accepted: s.responses.some((r) => r.kind?.$case === 'accepted'), error };
}

/** A Session stream left open (the gateway's), for ConfirmIdentity to name. */
async function openSession(target: ScorerClientOptions, agent: string): Promise<{ sessionId: string; close(): Promise<void> }> {
  const sessionId = randomUUID();
  const s = openStream(target);
  s.call.write(openRequest(sessionId, agent));
  await s.received(1);
  assert.equal(s.responses[0]?.kind?.$case, 'accepted', 'the gateway token opens a session');
  return {
    sessionId,
    async close() {
      s.call.write({ kind: { $case: 'close', value: { reason: 'done' } } });
      s.call.end();
      assert.equal(await s.ended, null);
    },
  };
}

function confirmIdentity(target: ScorerClientOptions, sessionId: string, token: string | null): Promise<{ accepted: boolean } | ServiceError> {
  const client = scorerClient(target);
  const metadata = token === null ? new Metadata() : bearerMetadata(token);
  return new Promise<{ accepted: boolean } | ServiceError>((resolve) =>
    client.confirmIdentity({ sessionId }, metadata, (err, res) => resolve(err ?? res)),
  ).finally(() => client.close());
}

function refusal(r: { accepted: boolean } | ServiceError): ServiceError {
  assert.ok(!('accepted' in r), `the call was answered (accepted: ${'accepted' in r ? r.accepted : ''}) instead of refused`);
  return r;
}

async function profileOf(db: Db, agent: string): Promise<unknown> {
  return new ProfileStore(db).summary(agent);
}

async function identityConfirmations(db: Db, sessionId: string): Promise<number> {
  return (await new AuditLog(db).decisions({ sessionId })).filter((d) => d.action === 'identity-confirmed').length;
}

describe('the scoring stream without TLS: the gateway token', () => {
  let db: Db;
  let scorer: TestScorer;
  let target: ScorerClientOptions;
  before(async () => {
    db = await openDb({});
    scorer = await startTestScorer(db);
    target = { address: scorer.address };
  });
  after(async () => db.close());

  test('nothing without the gateway or admin token opens a session, enrols behaviour or confirms an identity', async () => {
    const anonymous = await typeSession(target, 'victim', null);
    assert.equal(anonymous.accepted, false);
    assert.equal(anonymous.error?.code, status.UNAUTHENTICATED);
    assert.match(anonymous.error?.details ?? '', /only from a gateway: present the gateway token as "authorization: Bearer <token>".*VDIGUARD_GATEWAY_TOKEN.*gateway-token/);

    const guessed = await typeSession(target, 'victim', WRONG_TOKEN);
    assert.equal(guessed.accepted, false);
    assert.equal(guessed.error?.code, status.UNAUTHENTICATED);
    assert.match(guessed.error?.details ?? '', /neither the gateway token nor the admin token/);

    const live = await openSession(target, 'agent-in-session');
    for (const token of [null, WRONG_TOKEN]) {
      const r = refusal(await confirmIdentity(target, live.sessionId, token));
      assert.equal(r.code, status.UNAUTHENTICATED);
      assert.match(r.details, /gateway token/);
    }

    // The gateway's own credential works, and so does the admin token (vdiguard replay).
    assert.deepEqual(await confirmIdentity(target, live.sessionId, TEST_GATEWAY_TOKEN), { accepted: true });
    await live.close();
    const gateway = await typeSession(target, 'by-gateway', TEST_GATEWAY_TOKEN);
    const admin = await typeSession(target, 'by-admin', ADMIN_TOKEN);
    assert.deepEqual([gateway.accepted, gateway.error, admin.accepted, admin.error], [true, null, true, null]);

    await scorer.close();
    assert.equal(await profileOf(db, 'victim'), null, 'the refused streams enrolled nothing');
    assert.notEqual(await profileOf(db, 'by-gateway'), null, 'the same typing from the gateway is enrolled');
    assert.notEqual(await profileOf(db, 'by-admin'), null);
    assert.equal(await identityConfirmations(db, live.sessionId), 1, 'only the gateway confirmed the identity');
    const victimSessions = await db.query('SELECT session_id FROM sessions WHERE agent_id = $1', ['victim']);
    assert.deepEqual(victimSessions, [], 'no session was opened for the victim');
  });
});

describe('the scoring stream with mTLS: the client certificate', () => {
  let certs: TestCerts;
  let db: Db;
  before(async () => {
    certs = makeTestCerts();
    db = await openDb({});
  });
  after(async () => db.close());

  const mtlsScorer = (names?: string): Promise<TestScorer> =>
    startTestScorer(db, { tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca, ...(names ? { tlsGatewayNames: names } : {}) });
  const over = (scorer: TestScorer, cert: 'client' | 'stranger'): ScorerClientOptions => ({
    address: scorer.address.replace('127.0.0.1', 'localhost'),
    tlsCa: certs.ca,
    tlsCert: cert === 'client' ? certs.clientCert : certs.strangerCert,
    tlsKey: cert === 'client' ? certs.clientKey : certs.strangerKey,
  });

  test('by default a certificate the client CA signed is a gateway; one from another CA is refused', async () => {
    const scorer = await mtlsScorer();
    const stranger = await typeSession(over(scorer, 'stranger'), 'victim-a', null);
    const gateway = await typeSession(over(scorer, 'client'), 'gateway-a', null);
    await scorer.close();
    assert.equal(stranger.accepted, false);
    assert.notEqual(stranger.error, null);
    assert.deepEqual([gateway.accepted, gateway.error], [true, null]);
    assert.equal(await profileOf(db, 'victim-a'), null);
    assert.notEqual(await profileOf(db, 'gateway-a'), null);
  });

  test('with VDIGUARD_SCORER_TLS_GATEWAY_NAMES, a certificate of the CA by another name needs the gateway token', async () => {
    const scorer = await mtlsScorer('gateway.vdiguard.internal');
    const live = await openSession({ ...over(scorer, 'client') }, 'agent-b');
    const r = refusal(await confirmIdentity(over(scorer, 'client'), live.sessionId, null));
    await live.close();
    const named = await typeSession(over(scorer, 'client'), 'victim-b', null);
    const withToken = await typeSession(over(scorer, 'client'), 'gateway-b', TEST_GATEWAY_TOKEN);
    await scorer.close();
    assert.equal(r.code, status.PERMISSION_DENIED);
    assert.match(r.details, /client certificate \(client\) is not a gateway's: VDIGUARD_SCORER_TLS_GATEWAY_NAMES lists gateway\.vdiguard\.internal/);
    assert.equal(named.accepted, false);
    assert.equal(named.error?.code, status.PERMISSION_DENIED);
    assert.deepEqual([withToken.accepted, withToken.error], [true, null]);
    assert.equal(await profileOf(db, 'victim-b'), null);
    assert.equal(await identityConfirmations(db, live.sessionId), 0);
    assert.notEqual(await profileOf(db, 'gateway-b'), null);
  });
});
