import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, status, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { Action, ProfileState } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { TEST_STORES, createTestDatabase } from '../../lib/testing/databases.js';
import { makeTestCerts, type TestCerts } from '../../lib/testing/certs.js';
import { startTcpProxy } from '../../lib/testing/tcp-proxy.js';
import { openDb, type Db } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { loadScorerSettings } from '../config.js';
import { startScorer } from './server.js';
import { adminCall, enroll } from '../commands/admin.js';
import { writeRecording } from '../recording/writer.js';
import { ALICE, MALLORY, typing } from '../testing/typist.js';
import { eventsRequest, openRequest, openStream, startTestScorer } from '../testing/scorer-harness.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('transport security', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let certs: TestCerts;
  before(async () => {
    ({ db, drop } = await TEST_STORES[0]!.create());
    certs = makeTestCerts();
  });
  after(() => drop());

  const settings = (overrides: Record<string, string>) =>
    loadScorerSettings({}, { dataDir: mkdtempSync(join(tmpdir(), 'vdiguard-tls-')), adminToken: 'an-admin-token-of-enough-length', ...overrides });

  test('refuses plaintext on an address other machines can reach', async () => {
    await assert.rejects(startScorer(settings({ listen: '0.0.0.0:0' }), { log: silentLogger(), db }), /refusing to serve plaintext on 0\.0\.0\.0.*VDIGUARD_SCORER_TLS_CERT/);
  });

  test('a client CA without a server certificate is a configuration error', async () => {
    await assert.rejects(startScorer(settings({ tlsClientCa: certs.ca }), { log: silentLogger(), db }), /needs a server certificate and key too/);
  });

  test('with mTLS only clients holding a certificate from the configured CA get in', async () => {
    const scorer = await startScorer(settings({ listen: '127.0.0.1:0', tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca }), { log: silentLogger(), db });
    try {
      const call = (o: { tlsCert?: string; tlsKey?: string; tlsCa?: string }) =>
        adminCall({ address: scorer.address.replace('127.0.0.1', 'localhost'), adminTokenFile: undefined, ...o }, 'listProfiles', {});
      process.env.VDIGUARD_ADMIN_TOKEN = 'an-admin-token-of-enough-length';
      try {
        assert.deepEqual(await call({ tlsCa: certs.ca, tlsCert: certs.clientCert, tlsKey: certs.clientKey }), { profiles: [] });
        await assert.rejects(call({ tlsCa: certs.ca }), /scorer at/);
        await assert.rejects(call({ tlsCa: certs.ca, tlsCert: certs.strangerCert, tlsKey: certs.strangerKey }), /scorer at/);
        await assert.rejects(call({}), /scorer at/, 'plaintext is not answered by a TLS server');
      } finally {
        delete process.env.VDIGUARD_ADMIN_TOKEN;
      }
    } finally {
      await scorer.close();
    }
  });

  test('the standard health service reports SERVING', async () => {
    const scorer = await startTestScorer(db);
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const client = new Health(scorer.address, credentials.createInsecure()) as unknown as {
      check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
      close(): void;
    };
    try {
      for (const name of ['', 'vdiguard.scorer.v1.ScorerService']) {
        const res = await new Promise<{ status: string }>((resolve, reject) => client.check({ service: name }, (e, r) => (e ? reject(e) : resolve(r))));
        assert.equal(res.status, 'SERVING');
      }
      const unknown = await new Promise<ServiceError>((resolve) => client.check({ service: 'nope' }, (e) => resolve(e as ServiceError)));
      assert.equal(unknown.code, status.NOT_FOUND);
    } finally {
      client.close();
      await scorer.close();
    }
  });
});

describe('a database outage', { skip: TEST_STORES[1]!.skip }, () => {
  test('does not stop scoring sessions whose profiles are loaded, and their records land afterwards', async () => {
    const { url, dropDatabase } = await createTestDatabase();
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(url).port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const db = await openDb({ databaseUrl: viaProxy.toString() });
    const scorer = await startTestScorer(db, { matureKeystrokes: '300' });
    const dir = mkdtempSync(join(tmpdir(), 'vdiguard-outage-'));
    try {
      // Both are enrolled through this scorer (it fits both); only Alice has a session here before the outage.
      for (const [agent, seed] of [['alice', 1], ['bob', 3]] as const) {
        const file = join(dir, `enrol-${agent}.jsonl`);
        await writeRecording(file, { format: 'vdiguard.recording.v1', agent, source: 'test' }, typing(ALICE, 800, seed));
        await enroll({ address: scorer.address, adminTokenFile: scorer.adminTokenFile, agent, file });
      }
      const before = openStream(scorer.address);
      before.call.write(openRequest('before-outage', 'alice'));
      before.call.write({ kind: { $case: 'close', value: { reason: 'done' } } });
      before.call.end();
      assert.equal(await before.ended, null);

      proxy.cut();
      // The profile her last session loaded still serves a session opened during the outage.
      const s = openStream(scorer.address);
      s.call.write(openRequest('during-outage', 'alice'));
      s.call.write(eventsRequest(1, typing(MALLORY, 400, 2)));
      s.call.write({ kind: { $case: 'close', value: { reason: 'done' } } });
      s.call.end();
      assert.equal(await s.ended, null);
      const responses = s.responses;
      assert.equal(responses[0]?.kind?.$case === 'accepted' && responses[0].kind.value.profileState, ProfileState.PROFILE_STATE_MATURE);
      assert.ok(
        responses.some((r) => r.kind?.$case === 'verdict' && r.kind.value.action === Action.ACTION_TERMINATE),
        'the impostor is terminated without the database',
      );
      // An agent with no session here cannot be scored, though this scorer fitted his profile (a
      // scorer keeps only its own sessions' profiles: scorer/service/profile-cache.ts): the
      // gateway's fail policy takes over.
      const unknown = openStream(scorer.address);
      unknown.call.write(openRequest('unknown-during-outage', 'bob'));
      unknown.call.write({ kind: { $case: 'close', value: { reason: 'done' } } });
      unknown.call.end();
      const err = await unknown.ended;
      assert.equal(err?.code, status.UNAVAILABLE);
      assert.match(err!.details, /cannot load the profile of agent bob: database .* is unavailable/);
      assert.ok(scorer.engine.pendingWrites > 0);

      proxy.restore();
      assert.equal(await scorer.engine.drainWrites(20_000), true, 'queued records land once the database is back');
      const decisions = await scorer.engine.audit.decisions({ sessionId: 'during-outage' });
      assert.ok(decisions.length > 0);
      const [ended] = await db.query<{ end_reason: string }>(`SELECT end_reason FROM sessions WHERE session_id = 'during-outage'`);
      assert.ok(ended?.end_reason);
    } finally {
      await scorer.close();
      await db.close();
      await proxy.close();
      await dropDatabase();
    }
  });
});
