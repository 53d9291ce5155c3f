import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { InputEvent, SessionRequest, Verdict } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { silentLogger } from '../../lib/log.js';
import { startTcpProxy } from '../../lib/testing/tcp-proxy.js';
import { scorerClient } from '../../scorer/client.js';
import { startFakeScorer } from '../testing/fake-scorer.js';
import { until } from '../testing/harness.js';
import { Mirror, type SessionStream } from './mirror.js';

const key = (t: number, keysym = 97, pressed = true): InputEvent => ({ timeMs: t, kind: { $case: 'key', value: { keysym, pressed } } });

function mirrorTo(address: string, o: { batchMs?: number; batchEvents?: number; bufferEvents?: number } = {}) {
  const client = scorerClient({ address });
  const verdicts: Verdict[] = [];
  const latencies: (number | undefined)[] = [];
  const scored: boolean[] = [];
  const refused: string[] = [];
  const sessionId = randomUUID();
  const m = new Mirror({
    connect: () => client.session(),
    open: { sessionId, agentId: 'alice', desktopId: 'd1', client: { address: 'test', userAgent: 'test', screenWidth: 0, screenHeight: 0 } },
    batchMs: o.batchMs ?? 10,
    batchEvents: o.batchEvents ?? 100,
    bufferEvents: o.bufferEvents ?? 10_000,
    onVerdict: (v, latencyMs) => {
      verdicts.push(v);
      latencies.push(latencyMs);
    },
    onScored: (s) => scored.push(s),
    onRefused: (why) => refused.push(why),
    log: silentLogger(),
    backoff: { initialMs: 20, maxMs: 100 },
  });
  return { m, client, verdicts, latencies, scored, refused, sessionId };
}

test('batches by count and by time, in order, with increasing seq; close reaches the scorer', async () => {
  const scorer = await startFakeScorer();
  const { m, client, sessionId } = mirrorTo(scorer.address, { batchEvents: 5, batchMs: 30 });
  for (let i = 0; i < 12; i++) m.push(key(i));
  await until(() => scorer.events(sessionId).length === 12, 2000, 'all events');
  const s = scorer.streams[0]!;
  assert.deepEqual(s.batches.map((b) => b.events.length), [5, 5, 2]);
  assert.deepEqual(s.batches.map((b) => b.seq), [1, 2, 3]);
  assert.deepEqual(scorer.events(sessionId).map((e) => e.timeMs), [...Array(12).keys()]);
  assert.equal(s.open?.resume, false);
  m.close('agent logged out');
  await until(() => s.closeReason === 'agent logged out', 2000, 'close');
  client.close();
  await scorer.close();
});

test('verdict latency is timed from writing the batch the verdict names, however long ago its window\'s events were', async () => {
  const scorer = await startFakeScorer();
  const { m, client, latencies, sessionId } = mirrorTo(scorer.address, { batchEvents: 5, batchMs: 10 });
  for (let i = 0; i < 10; i++) m.push(key(i));
  await until(() => scorer.events(sessionId).length === 10, 2000, 'two batches');
  await new Promise((r) => setTimeout(r, 300));
  m.push(key(10));
  await until(() => scorer.events(sessionId).length === 11, 2000, 'the third batch');
  const s = scorer.streams[0]!;
  // The window ended with the first batch's events, but the third one completed it.
  s.verdict({ atTimeMs: 4, batchSeq: 3 });
  s.verdict({ atTimeMs: 4, batchSeq: 0 });
  await until(() => latencies.length === 2, 2000, 'the verdicts');
  assert.ok(latencies[0]! < 250, `timed from the third batch: ${latencies[0]} ms`);
  assert.equal(latencies[1], undefined, 'a verdict outside a batch is not timed');
  m.close('end');
  client.close();
  await scorer.close();
});

test('push never blocks or throws while the scorer is unreachable, and the buffer stays bounded', async () => {
  const { m, client, scored } = mirrorTo('127.0.0.1:1', { bufferEvents: 100 });
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) m.push(key(i));
  assert.ok(performance.now() - started < 500);
  assert.ok(m.dropped >= 9_900 - 100, `dropped ${m.dropped}`);
  await until(() => scored.includes(false), 2000, 'reported unscored');
  m.close('end');
  client.close();
});

test('timing-only samples fill at most half the buffer while the scorer is away: input still finds room, and a refused sample is no refused input', async () => {
  const { m, client, scored } = mirrorTo('127.0.0.1:1', { bufferEvents: 100 });
  const sample = (t: number): InputEvent => ({ timeMs: t, kind: { $case: 'mouse', value: { x: t, y: 0, buttonMask: 0 } }, clientTimeMs: t, timingOnly: true });
  let samples = 0;
  for (let i = 0; i < 1000; i++) if (m.push(sample(i))) samples++;
  assert.equal(samples, 50);
  assert.equal(m.dropped, 0, 'no input was refused');
  assert.equal(scored.includes(false), false, 'nor reported unscored');
  let keys = 0;
  for (let i = 0; i < 100; i++) if (m.push(key(1000 + i))) keys++;
  assert.equal(keys, 50, 'the other half is input\'s');
  assert.equal(m.dropped, 50);
  m.close('end');
  client.close();
});

test('reconnects through a network cut and resumes: batches after the acknowledged seq are resent', async () => {
  const scorer = await startFakeScorer();
  const proxy = await startTcpProxy('127.0.0.1', scorer.port);
  const { m, client, scored, sessionId } = mirrorTo(`127.0.0.1:${proxy.port}`, { batchEvents: 2 });
  for (let i = 0; i < 4; i++) m.push(key(i));
  await until(() => scorer.events(sessionId).length === 4, 2000, 'first events');
  proxy.cut();
  await until(() => scored.at(-1) === false, 3000, 'outage noticed');
  for (let i = 4; i < 8; i++) m.push(key(i));
  scorer.lastBatchSeq = 2; // the scorer says it applied batches 1 and 2
  proxy.restore();
  await until(() => scored.at(-1) === true, 5000, 'reconnected');
  await until(() => scorer.streams.length >= 2 && scorer.streams.at(-1)!.batches.length >= 2, 3000, 'resent');
  const resumed = scorer.streams.at(-1)!;
  assert.equal(resumed.open?.resume, true);
  assert.equal(resumed.open?.sessionId, sessionId);
  assert.deepEqual(resumed.batches.map((b) => b.seq), [3, 4]);
  assert.deepEqual(resumed.batches.flatMap((b) => b.events.map((e) => e.timeMs)), [4, 5, 6, 7]);
  m.close('end');
  client.close();
  await proxy.close();
  await scorer.close();
});

/** A Session stream whose buffer takes `capacity` writes before it asks the mirror to wait. */
class SlowStream extends EventEmitter {
  readonly written: SessionRequest[] = [];
  capacity = 3;
  write(req: SessionRequest): boolean {
    this.written.push(req);
    if (req.kind?.$case === 'open') setImmediate(() => this.emit('data', { kind: { $case: 'accepted', value: { profileState: 3, resumed: false, lastBatchSeq: 0 } } }));
    return this.written.filter((w) => w.kind?.$case === 'events').length < this.capacity;
  }
  end(): void {}
  cancel(): void {}
}

test('a slow scorer: the mirror waits for drain, keeps its buffer bounded, reports unscored, and recovers', async () => {
  const stream = new SlowStream();
  const scored: boolean[] = [];
  const m = new Mirror({
    connect: () => stream as unknown as SessionStream,
    open: { sessionId: 's', agentId: 'a', desktopId: 'd', client: undefined },
    batchMs: 1,
    batchEvents: 10,
    bufferEvents: 200,
    onVerdict: () => undefined,
    onScored: (s) => scored.push(s),
    onRefused: (why) => assert.fail(`a slow scorer is no refusal (${why})`),
    log: silentLogger(),
  });
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 1000; i++) m.push(key(i));
  const batches = () => stream.written.filter((w) => w.kind?.$case === 'events').length;
  assert.equal(batches(), 3, 'no writes past a full buffer');
  assert.ok(m.dropped > 0 && m.dropped <= 1000 - 200 + 30, `dropped ${m.dropped}`);
  assert.equal(scored.at(-1), false);
  stream.capacity = 1000;
  stream.emit('drain');
  assert.equal(scored.at(-1), true, 'caught up');
  const seqs = stream.written.flatMap((w) => (w.kind?.$case === 'events' ? [Number(w.kind.value.seq)] : []));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
  assert.equal(new Set(seqs).size, seqs.length, 'each batch once');
  m.close('end');
});
