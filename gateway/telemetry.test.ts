import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeInstruction } from './guac/index.js';
import { scorerLink } from './mirror/scorer-link.js';
import { ADMIN_TOKEN, PASSWORD, api, startHarness, TunnelClient, type Harness } from './testing/harness.js';
import { attribute, startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from '../lib/testing/otlp-receiver.js';
import { startTelemetry, type Telemetry } from '../lib/telemetry/telemetry.js';
import { ATTR, DECISION_EVENT, TIMING_ATTR } from '../lib/telemetry/attributes.js';
import { TEST_STORES } from '../lib/testing/databases.js';
import type { Db } from '../lib/db/db.js';
import { startTestScorer, type TestScorer } from '../scorer/testing/scorer-harness.js';

/** Typed through the whole stack: a card number and a password. */
const SECRETS = ['4111111111111111', 'hunter2'];

let receiver: OtlpReceiver;
let telemetry: Telemetry;
let db: Db;
let drop: () => Promise<void>;
let scorer: TestScorer;
let h: Harness;

before(async () => {
  receiver = await startOtlpReceiver();
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BLRP_SCHEDULE_DELAY: '100' });
  // The SDK first: the services' instruments bind to the provider that exists when they are made.
  telemetry = startTelemetry('vdiguard-test');
  ({ db, drop } = await TEST_STORES[0]!.create());
  scorer = await startTestScorer(db);
  h = await startHarness({ db, link: scorerLink({ address: scorer.address }, { gatewayToken: scorer.gatewayToken }) });
});

after(async () => {
  await h.close();
  await scorer.close();
  await drop();
  await receiver.close();
});

function child(spans: OtlpSpan[], name: string, parent: OtlpSpan): OtlpSpan {
  const found = spans.find((s) => s.name === name && s.parentSpanId === parent.spanId && s.traceId === parent.traceId);
  assert.ok(found, `${name} is a child of ${parent.name} in the same trace; spans: ${spans.map((s) => s.name).join(', ')}`);
  return found;
}

test('one trace per desktop session across gateway and scorer, decisions as correlated log records, nothing typed exported', async () => {
  const { ticket } = await h.login();
  const client = await TunnelClient.open(h.gateway.url, ticket);
  const started = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  const sessionId = started.args[1] as string;
  await client.waitFor((i) => i.opcode === '' || i.opcode === 'size');

  // Type the secrets, a key at a time as a browser sends them, quickly enough to fill a window.
  const text = SECRETS.join(' ').repeat(4);
  for (const ch of text) {
    const keysym = String(ch.codePointAt(0));
    client.send(encodeInstruction('key', keysym, '1') + encodeInstruction('key', keysym, '0'));
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 300));
  const killed = await api(h.gateway.url, `/api/admin/sessions/${encodeURIComponent(sessionId)}/kill`, {}, ADMIN_TOKEN);
  assert.equal(killed.status, 200);
  await client.closed;
  await new Promise((r) => setTimeout(r, 300));
  await scorer.engine.drainWrites(5000);
  await telemetry.shutdown();

  const spans = receiver.spans();
  const login = spans.find((s) => s.name === 'gateway.login');
  assert.ok(login, 'the login is traced');
  assert.equal(login.parentSpanId ?? '', '', 'the login starts the trace');
  const tunnel = child(spans, 'gateway.tunnel', login);
  const session = child(spans, 'gateway.session', tunnel);
  const scoring = child(spans, 'scorer.session', session);
  assert.equal(attribute(session.attributes, ATTR.sessionId), sessionId);
  assert.equal(attribute(scoring.attributes, ATTR.sessionId), sessionId);
  assert.equal(attribute(session.attributes, ATTR.agentId), 'alice');
  assert.equal(attribute(session.attributes, ATTR.desktopId), 'desk-1');
  assert.ok(attribute(session.attributes, ATTR.clientAddress));
  assert.equal(attribute(session.attributes, ATTR.outcome), 'admin-kill');
  assert.equal(attribute(session.attributes, ATTR.trustMin), 1);
  assert.ok(Number(attribute(scoring.attributes, ATTR.windowsScored) ?? -1) >= 0);
  // This client sends no event times: the scorer's report, as both ends last heard it, counts them missing.
  for (const span of [session, scoring]) {
    assert.ok(Number(attribute(span.attributes, TIMING_ATTR.missing)) > 0, `${span.name}: events without a client time counted`);
    assert.equal(attribute(span.attributes, TIMING_ATTR.client), 0, `${span.name}: none measured on a client time`);
  }

  const kill = receiver.logRecords().find((r) => r.eventName === DECISION_EVENT && attribute(r.attributes, ATTR.action) === 'admin-kill');
  assert.ok(kill, "the admin's decision was exported as a log record");
  assert.equal(kill.traceId, session.traceId);
  assert.equal(kill.spanId, session.spanId, 'correlated with the session span');
  assert.equal(attribute(kill.attributes, ATTR.source), 'admin');
  assert.equal(attribute(kill.attributes, TIMING_ATTR.missing), attribute(session.attributes, TIMING_ATTR.missing), "the kill carries the session's latest report");

  assert.ok(receiver.metricNames().includes('vdiguard.gateway.sessions.active'));
  assert.ok((receiver.histogramPoints('vdiguard.gateway.verdict.latency').at(-1)?.count ?? 0) > 0, 'the verdicts were timed');
  assert.ok(receiver.counterTotal('vdiguard.scorer.events') >= text.length * 2, 'the keys reached the scorer');

  const exported = receiver.raw.join('\n');
  for (const secret of [...SECRETS, PASSWORD, 'rdp-secret-π', 'alice-rdp', ticket]) {
    assert.equal(exported.includes(secret), false, `"${secret}" must not be exported`);
  }
  assert.equal(/keysym/i.test(exported), false, 'no key identities exported');
});
