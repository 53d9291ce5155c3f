import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { attribute, startOtlpReceiver, type OtlpReceiver } from '../../lib/testing/otlp-receiver.js';
import { startTelemetry, telemetryConfigured, type Telemetry } from '../../lib/telemetry/telemetry.js';
import { injectContext } from '../../lib/telemetry/grpc.js';
import { ATTR, DECISION_EVENT, TIMING_ATTR } from '../../lib/telemetry/attributes.js';
import { TEST_STORES } from '../../lib/testing/databases.js';
import type { Db } from '../../lib/db/db.js';
import { ALICE, MALLORY, typing } from '../testing/typist.js';
import { eventsRequest, openRequest, openStream, startTestScorer, type TestScorer } from '../testing/scorer-harness.js';
import { enroll } from '../commands/admin.js';
import { writeRecording } from '../recording/writer.js';
import { sessionEndAttributes } from './telemetry.js';
import { decisionLogRecord } from '../../lib/telemetry/records.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A card number and a password, typed with an impostor's timing so the session is terminated. */
const SECRETS = ['4111111111111111', 'hunter2'];

function typed(text: string, startMs: number): InputEvent[] {
  const timings = typing(MALLORY, text.length, 42, startMs);
  let i = 0;
  return timings.map((e) => {
    if (e.kind?.$case !== 'key') return e;
    const index = e.kind.value.pressed ? i++ : i - 1;
    return { ...e, kind: { $case: 'key', value: { ...e.kind.value, keysym: text.codePointAt(Math.max(0, index)) as number } } };
  });
}

let receiver: OtlpReceiver;
let telemetry: Telemetry;
let db: Db;
let drop: () => Promise<void>;
let scorer: TestScorer;

before(async () => {
  receiver = await startOtlpReceiver();
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BLRP_SCHEDULE_DELAY: '100' };
  Object.assign(process.env, env);
  telemetry = startTelemetry('vdiguard-scorer-test');
  ({ db, drop } = await TEST_STORES[0]!.create());
  scorer = await startTestScorer(db, { matureKeystrokes: '300' });
});

after(async () => {
  await scorer.close();
  await drop();
  await receiver.close();
});

test('telemetry is off unless an OTLP endpoint is configured', () => {
  assert.equal(telemetryConfigured({}), false);
  assert.equal(telemetryConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
  assert.equal(telemetryConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }), false);
});

const TIMING = { client: 900, missing: 0, backwards: 2, future: 1, outsideEnvelope: 40, distrusted: 5, inconsistentStretches: 3, envelopeMs: 37.5 };
const TIMING_ATTRIBUTES = {
  'vdiguard.timing.client': 900,
  'vdiguard.timing.missing': 0,
  'vdiguard.timing.backwards': 2,
  'vdiguard.timing.future': 1,
  'vdiguard.timing.outside_envelope': 40,
  'vdiguard.timing.distrusted': 5,
  'vdiguard.timing.inconsistent_stretches': 3,
  'vdiguard.timing.envelope_ms': 37.5,
};

test('decision records and session attributes are built from identifiers, trust and event-time counts only', () => {
  const decision = { sessionId: 's', agentId: 'a', decidedAt: new Date(0), source: 'scorer' as const, trust: 0, state: 'mismatch', action: 'terminate', reason: 'does not match', trail: [{ atMs: 1, trust: 0, modality: 'keystroke', score: 3 }], timing: null };
  const record = decisionLogRecord(decision, 'desk');
  assert.equal(record.eventName, DECISION_EVENT);
  const identity = [ATTR.action, ATTR.agentId, ATTR.desktopId, ATTR.sessionId, ATTR.source, ATTR.trust, ATTR.trustState];
  assert.deepEqual(Object.keys(record.attributes ?? {}).sort(), [...identity].sort(), 'no timing attributes while no report is known');
  const timed = decisionLogRecord({ ...decision, timing: TIMING }, 'desk').attributes ?? {};
  assert.deepEqual(Object.keys(timed).sort(), [...identity, ...Object.keys(TIMING_ATTRIBUTES)].sort());
  for (const [k, v] of Object.entries(TIMING_ATTRIBUTES)) assert.equal(timed[k], v, k);
  assert.deepEqual(sessionEndAttributes({ outcome: 'closed', reason: 'r', minTrust: null, finalTrust: null, windowsScored: 0, timing: null }), {
    [ATTR.outcome]: 'closed',
    [ATTR.endReason]: 'r',
    [ATTR.windowsScored]: 0,
  });
  assert.deepEqual(sessionEndAttributes({ outcome: 'terminated', reason: 'r', minTrust: 0, finalTrust: 0, windowsScored: 9, timing: TIMING }), {
    [ATTR.outcome]: 'terminated',
    [ATTR.endReason]: 'r',
    [ATTR.windowsScored]: 9,
    [ATTR.trustMin]: 0,
    [ATTR.trustFinal]: 0,
    ...TIMING_ATTRIBUTES,
  });
});

test("a session's span joins the gateway's trace, its decisions are correlated log records, and nothing typed is exported", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-otel-'));
  const file = join(dir, 'enrol.jsonl');
  await writeRecording(file, { format: 'vdiguard.recording.v1', agent: 'alice', source: 'test' }, typing(ALICE, 800, 1));
  await enroll({ address: scorer.address, adminTokenFile: scorer.adminTokenFile, agent: 'alice', file });

  const gatewaySpan = trace.getTracer('test-gateway').startSpan('gateway.session');
  const metadata = injectContext(new Metadata(), trace.setSpan(context.active(), gatewaySpan));
  const s = openStream(scorer.address, metadata);
  s.call.write(openRequest('traced-1', 'alice'));
  let events: InputEvent[] = [];
  for (let round = 0, t = 0; round < 12; round++, t = events.at(-1)!.timeMs + 500) {
    events = events.concat(typed(SECRETS[round % 2]!, t));
  }
  // The page's own event times, on its clock (another origin), consistent with arrival.
  events = events.map((e) => ({ ...e, clientTimeMs: e.timeMs + 12_345.5 }));
  s.call.write(eventsRequest(1, events));
  s.call.write({ kind: { $case: 'close', value: { reason: 'done' } } });
  s.call.end();
  assert.equal(await s.ended, null);
  gatewaySpan.end();
  await scorer.engine.drainWrites(5000);
  await telemetry.shutdown();

  const gatewayId = gatewaySpan.spanContext();
  const session = receiver.spans().find((sp) => sp.name === 'scorer.session' && attribute(sp.attributes, ATTR.sessionId) === 'traced-1');
  assert.ok(session, 'the scorer exported its session span');
  assert.equal(session.traceId, gatewayId.traceId, "the scorer's span is in the gateway's trace");
  assert.equal(session.parentSpanId, gatewayId.spanId);
  assert.equal(attribute(session.attributes, ATTR.agentId), 'alice');
  assert.equal(attribute(session.attributes, ATTR.outcome), 'terminated');
  assert.equal(attribute(session.attributes, ATTR.trustFinal), 0);
  assert.ok(Number(attribute(session.attributes, TIMING_ATTR.client)) > 100, 'the events measured on their client times, counted on the span');
  assert.equal(attribute(session.attributes, TIMING_ATTR.missing), 0);
  assert.equal(attribute(session.attributes, TIMING_ATTR.inconsistentStretches), 0);

  const decision = receiver.logRecords().find((r) => attribute(r.attributes, ATTR.action) === 'terminate');
  assert.ok(decision, 'the terminate decision was exported as a log record');
  assert.equal(decision.eventName, DECISION_EVENT);
  assert.equal(decision.traceId, gatewayId.traceId);
  assert.equal(decision.spanId, session.spanId, 'the decision is correlated with the session span');
  assert.ok(Number(attribute(decision.attributes, TIMING_ATTR.client)) > 100, 'the decision carries the event-time counts');
  assert.equal(typeof attribute(decision.attributes, TIMING_ATTR.envelopeMs), 'number');
  const [recorded] = await scorer.engine.audit.decisions({ sessionId: 'traced-1', action: 'terminate' });
  assert.equal(recorded?.timing?.client, attribute(decision.attributes, TIMING_ATTR.client), 'the decision record keeps the same report');

  assert.ok(receiver.metricNames().includes('vdiguard.scorer.verdicts'));
  // The process's own health, for memory per session and a stalling loop (lib/telemetry/runtime.ts).
  const [rss, heap] = ['process.memory.usage', 'v8js.memory.heap.used'].map((n) => receiver.gaugeValues(n).at(-1)?.value ?? 0);
  assert.ok(heap! > 1e6 && rss! > heap!, `resident ${rss} B, heap ${heap} B`);
  // The enrolment's fit ran on a worker thread, whose heap is its own: reported beside the scorer's.
  const fitHeap = receiver.gaugeValues('vdiguard.scorer.fit.heap.committed').at(-1)?.value;
  assert.ok(fitHeap !== undefined && fitHeap > 2 ** 20, `the fit worker's heap: ${fitHeap} B`);
  assert.ok(receiver.gaugeValues('nodejs.eventloop.delay.p99').every((p) => p.value >= 0 && p.value < 60), 'event loop delay in seconds');
  assert.equal(receiver.counterTotal('vdiguard.scorer.events'), events.length, 'every event received is counted');

  const exported = receiver.raw.join('\n');
  assert.ok(exported.length > 1000, 'something substantial was exported');
  for (const secret of SECRETS) assert.equal(exported.includes(secret), false, `"${secret}" was typed and must not be exported`);
  assert.equal(/keysym/i.test(exported), false, 'no key identities in any span, log or metric');
});
