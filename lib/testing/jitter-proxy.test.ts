import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { BURST_GAP_MS, chunkDelays, startJitterProxy, type HeldChunk } from './jitter-proxy.js';
import { mean, quantileSorted, sampleSd } from '../stats.js';

interface Piece {
  readonly at: number;
  readonly bytes: Buffer;
}

/** A server that keeps what each connection received, with when; `echo` sends it back and ends when the client does. */
async function startTarget(o: { echo?: boolean } = {}) {
  const connections: { socket: net.Socket; pieces: Piece[]; endedAt?: number }[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const conn: (typeof connections)[number] = { socket, pieces: [] };
    connections.push(conn);
    socket.setNoDelay(true);
    socket.on('data', (bytes: Buffer) => {
      conn.pieces.push({ at: performance.now(), bytes });
      if (o.echo) socket.write(bytes);
    });
    socket.on('end', () => {
      conn.endedAt = performance.now();
      if (o.echo) socket.end();
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    text: (i: number): string => Buffer.concat(connections[i]?.pieces.map((p) => p.bytes) ?? []).toString(),
    close(): Promise<void> {
      for (const c of connections) c.socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.setNoDelay(true);
  await once(s, 'connect');
  return s;
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Each chunk's delay is the next seeded draw, or its burst's when read within BURST_GAP_MS of the chunk before; due at read + delay, or with the chunk before. */
function assertSeededDues(chunks: readonly HeldChunk[], draw: () => number): { bursts: number; joined: number; waited: number } {
  let due = 0;
  let prev: HeldChunk | undefined;
  const n = { bursts: 0, joined: 0, waited: 0 };
  for (const c of chunks) {
    const joins = prev !== undefined && c.readAt - prev.readAt < BURST_GAP_MS;
    assert.equal(c.delayMs, joins ? prev!.delayMs : draw(), joins ? 'a chunk read right after another shares its delay' : 'the seed decides each delay');
    due = Math.max(due, c.readAt + c.delayMs);
    assert.equal(c.dueAt, due, 'due at read + delay, or with the chunk before');
    n[joins ? 'joined' : 'bursts']++;
    if (c.dueAt > c.readAt + c.delayMs) n.waited++;
    prev = c;
  }
  return n;
}

/**
 * How late each received piece arrived after the due time of the latest chunk it holds bytes of
 * (negative: early). `chunks` are the proxy's records of that stream, in order.
 */
function lateness(pieces: readonly Piece[], chunks: readonly HeldChunk[]): number[] {
  const ends: number[] = [];
  for (const c of chunks) ends.push((ends.at(-1) ?? 0) + c.bytes);
  let offset = 0;
  return pieces.map((p) => {
    offset += p.bytes.length;
    // The chunk holding the piece's last byte: dues never decrease, so it is the latest due of the piece.
    const last = ends.findIndex((end) => end >= offset);
    return p.at - (chunks[last] as HeldChunk).dueAt;
  });
}

test('the delays are N(mean, sd^2) clipped at 0, and the seed, connection and direction decide them', () => {
  const draws = (seed: number, connection: number, direction: 'upstream' | 'downstream', delay = { meanMs: 30, sdMs: 10 }): number[] => {
    const next = chunkDelays(seed, connection, direction, delay);
    return Array.from({ length: 20_000 }, next);
  };
  const d = draws(1, 0, 'upstream');
  assert.ok(Math.abs(mean(d) - 30) < 0.3, `mean ${mean(d)}`);
  assert.ok(Math.abs(sampleSd(d) - 10) < 0.3, `sd ${sampleSd(d)}`);
  assert.deepEqual(draws(1, 0, 'upstream'), d, 'the same seed draws the same delays');
  for (const other of [draws(2, 0, 'upstream'), draws(1, 1, 'upstream'), draws(1, 0, 'downstream')]) {
    assert.notDeepEqual(other.slice(0, 10), d.slice(0, 10), 'another seed, connection or direction draws others');
  }
  const clipped = draws(3, 0, 'upstream', { meanMs: 0, sdMs: 20 });
  assert.ok(Math.min(...clipped) >= 0, 'never negative');
  const zero = clipped.filter((x) => x === 0).length / clipped.length;
  assert.ok(Math.abs(zero - 0.5) < 0.02, `half the draws clipped to 0, not ${zero}`);
});

test('each chunk is held for its seeded delay, never passed on before the chunk read before it, and the bytes keep their order', async () => {
  const target = await startTarget();
  const delay = { meanMs: 30, sdMs: 15 };
  const proxy = await startJitterProxy({ targetHost: '127.0.0.1', targetPort: target.port, upstream: delay, seed: 7 });
  try {
    const client = await connect(proxy.port);
    // 3 ms apart with 15 ms of spread: without the order kept, many chunks would overtake.
    let sent = '';
    for (let i = 0; i < 80; i++) {
      const message = `message ${i};`;
      client.write(message);
      sent += message;
      await sleep(3);
    }
    await waitFor(() => target.text(0).length >= sent.length, 5000, 'every byte at the target');
    assert.equal(target.text(0), sent, 'the target received the bytes in the order sent');

    const chunks = proxy.chunks.filter((c) => c.connection === 0);
    assert.ok(chunks.every((c) => c.direction === 'upstream'), 'nothing delayed downstream when no delay was asked');
    assert.ok(chunks.length > 40, `the messages were read as separate chunks (${chunks.length})`);
    assert.equal(chunks.reduce((a, c) => a + c.bytes, 0), sent.length);
    const { bursts, waited } = assertSeededDues(chunks, chunkDelays(7, 0, 'upstream', delay));
    assert.ok(bursts > 40, `messages 3 ms apart were delayed each on its own (${bursts} bursts)`);
    assert.ok(waited >= 10, `the order held back chunks that would have overtaken (${waited})`);

    const late = lateness(target.connections[0]!.pieces, chunks);
    // Node's timers run on a millisecond clock and may fire up to 1 ms before the exact due time.
    assert.ok(Math.min(...late) > -1.5, `no piece arrived before its due time (earliest ${Math.min(...late).toFixed(2)} ms)`);
    assert.ok(median(late) < 5, `pieces arrive when due (median ${median(late).toFixed(2)} ms late)`);
    client.destroy();
  } finally {
    await proxy.close();
    await target.close();
  }
});

test('messages sent back to back (a time and its key) share one delay and arrive together', async () => {
  const target = await startTarget();
  const delay = { meanMs: 30, sdMs: 15 };
  const proxy = await startJitterProxy({ targetHost: '127.0.0.1', targetPort: target.port, upstream: delay, seed: 5 });
  try {
    const client = await connect(proxy.port);
    let sent = '';
    for (let i = 0; i < 30; i++) {
      // Two writes, two segments (Nagle is off), as the page sends a time and then its key.
      client.write(`time ${i};`);
      await new Promise((r) => setImmediate(r));
      client.write(`key ${i};`);
      sent += `time ${i};key ${i};`;
      await sleep(15);
    }
    await waitFor(() => target.text(0).length >= sent.length, 5000, 'every byte at the target');
    assert.equal(target.text(0), sent);
    const chunks = proxy.chunks.filter((c) => c.connection === 0);
    const { bursts, joined } = assertSeededDues(chunks, chunkDelays(5, 0, 'upstream', delay));
    assert.ok(joined >= 10, `second messages read apart from their first joined its burst (${joined} of ${chunks.length} chunks, ${bursts} bursts)`);
    assert.ok(bursts >= 28, `pairs 15 ms apart are bursts of their own (${bursts})`);
    client.destroy();
  } finally {
    await proxy.close();
    await target.close();
  }
});

test('with a downstream delay both directions are held, and an end reaches each side after what was held', async () => {
  const target = await startTarget({ echo: true });
  const proxy = await startJitterProxy({ targetHost: '127.0.0.1', targetPort: target.port, upstream: { meanMs: 20, sdMs: 5 }, downstream: { meanMs: 40, sdMs: 5 }, seed: 11 });
  try {
    const client = await connect(proxy.port);
    const back: Piece[] = [];
    client.on('data', (bytes: Buffer) => back.push({ at: performance.now(), bytes }));
    let sent = '';
    for (let i = 0; i < 10; i++) {
      client.write(`echo ${i};`);
      sent += `echo ${i};`;
      await sleep(10);
    }
    // Ended right after the last write: the end must not overtake what is still held.
    client.end();
    await once(client, 'end');
    const endedAt = performance.now();
    assert.equal(Buffer.concat(back.map((p) => p.bytes)).toString(), sent, 'everything came back, in order, before the end');
    const up = proxy.chunks.filter((c) => c.direction === 'upstream');
    const down = proxy.chunks.filter((c) => c.direction === 'downstream');
    assert.ok(down.length >= 5, `the echo was held on its way back (${down.length} chunks)`);
    assert.ok(Math.min(...lateness(back, down)) > -1.5, 'nothing came back before its due time');
    assert.ok(target.connections[0]!.endedAt! > up.at(-1)!.dueAt - 1.5, 'the end reached the target after the last chunk up was due');
    assert.ok(endedAt > down.at(-1)!.dueAt - 1.5, 'the end came back after the last chunk down was due');
  } finally {
    await proxy.close();
    await target.close();
  }
});

test('close() destroys every connection and drops what it held; nothing more is passed on or accepted', async () => {
  const target = await startTarget();
  const proxy = await startJitterProxy({ targetHost: '127.0.0.1', targetPort: target.port, upstream: { meanMs: 300, sdMs: 0 }, seed: 1 });
  const client = await connect(proxy.port);
  // Both ends are half-open sockets: the proxy's side going away shows as their 'end'.
  const clientEnded = once(client, 'end');
  client.write('held until after the close');
  await waitFor(() => proxy.chunks.length === 1 && target.connections.length === 1, 2000, 'the chunk held and the target connected');
  const targetEnded = once(target.connections[0]!.socket, 'end');
  await proxy.close();
  await clientEnded;
  await targetEnded;
  await sleep(400);
  assert.equal(target.text(0), '', 'the held chunk was dropped, not passed on after the close');
  const refused = net.connect(proxy.port, '127.0.0.1');
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  client.destroy();
  await target.close();
});

function median(xs: readonly number[]): number {
  return quantileSorted([...xs].sort((a, b) => a - b), xs.length, 0.5);
}
