/**
 * A stand-in for a home network between a browser and the gateway: a TCP forwarder on loopback
 * that holds each chunk it reads for a seeded random delay before passing it on, so a test sees
 * the jitter of Wi-Fi and consumer links (issue 19) without netem, which this kernel lacks.
 *
 * - A chunk is what one read returns; with Nagle off on both sockets, one WebSocket message sent on
 *   its own (one key) is one TCP segment and so one chunk.
 * - Delays are N(meanMs, sdMs^2) clipped at 0, drawn per burst, per connection and direction from
 *   the seed and the connection's number in accept order: the same seed replays the same delays.
 *   A burst is a chunk and those read within BURST_GAP_MS after it: packets sent back to back
 *   cross a network's queues together, so the page's time and the key it belongs to (two WebSocket
 *   messages sent at once, docs/client-times.md) share one delay, as they would on a real link,
 *   and the key's arrival jitters by sdMs, not by the larger of two draws.
 * - Byte order is kept, as one TCP stream keeps it: a chunk is released at its own due time or
 *   with the chunk before it, whichever is later, never before it.
 */
import net from 'node:net';
import { gaussian, seededRandom } from '../random.js';

/** How long a chunk is held, in ms: normal with this mean and standard deviation, never negative. */
export interface ChunkDelay {
  readonly meanMs: number;
  readonly sdMs: number;
}

export interface JitterProxyOptions {
  readonly targetHost: string;
  readonly targetPort: number;
  /** Client -> target (the browser's input towards the gateway). */
  readonly upstream: ChunkDelay;
  /** Target -> client; passed on at once when absent. */
  readonly downstream?: ChunkDelay;
  readonly seed: number;
}

export type Direction = 'upstream' | 'downstream';

/** One chunk the proxy held, for a test to check what the link did (sizes and times, never content). */
export interface HeldChunk {
  /** The connection's number in accept order, from 0. */
  readonly connection: number;
  readonly direction: Direction;
  readonly bytes: number;
  /** The delay drawn for its burst (ms). */
  readonly delayMs: number;
  /** performance.now() when it was read, and when it was due to be passed on: read + delay, or the chunk before's due time if later. */
  readonly readAt: number;
  readonly dueAt: number;
}

export interface JitterProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Every chunk held so far, in the order read (directions without a delay pass chunks on unrecorded). */
  readonly chunks: readonly HeldChunk[];
  /** Destroys every connection, drops what is still held, stops listening. */
  close(): Promise<void>;
}

/** Chunks read less than this (ms) after the one before belong to its burst and share its delay. */
export const BURST_GAP_MS = 2;

/**
 * The delays (ms) of successive bursts of one connection (numbered from 0 in accept order) in one
 * direction: what the proxy draws, so a test can know them.
 */
export function chunkDelays(seed: number, connection: number, direction: Direction, delay: ChunkDelay): () => number {
  // Distinct streams per connection and direction, spread over the seed space (golden-ratio step).
  const stream = connection * 2 + (direction === 'upstream' ? 0 : 1);
  const random = seededRandom((seed + Math.imul(stream + 1, 0x9e3779b9)) >>> 0);
  return () => Math.max(0, delay.meanMs + delay.sdMs * gaussian(random));
}

/** One direction of one connection: chunks held until due, released in the order they were read. */
class DelayLine {
  private readonly held: { chunk: Buffer; due: number }[] = [];
  private lastDue = 0;
  private lastRead = Number.NEGATIVE_INFINITY;
  private delayMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private sourceEnded = false;

  constructor(
    private readonly source: net.Socket,
    private readonly sink: net.Socket,
    nextDelay: () => number,
    record: (bytes: number, delayMs: number, readAt: number, dueAt: number) => void,
  ) {
    source.on('data', (chunk: Buffer) => {
      const readAt = performance.now();
      if (readAt - this.lastRead >= BURST_GAP_MS) this.delayMs = nextDelay();
      this.lastRead = readAt;
      this.lastDue = Math.max(this.lastDue, readAt + this.delayMs);
      this.held.push({ chunk, due: this.lastDue });
      record(chunk.length, this.delayMs, readAt, this.lastDue);
      this.schedule();
    });
    source.on('end', () => {
      this.sourceEnded = true;
      this.release();
    });
    // The sink could not keep up: stop reading until it has, as a pipe would.
    sink.on('drain', () => source.resume());
  }

  stop(): void {
    clearTimeout(this.timer);
    this.held.length = 0;
  }

  private schedule(): void {
    if (this.timer || this.held.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, Math.max(0, (this.held[0] as { due: number }).due - performance.now()));
  }

  private release(): void {
    if (this.sink.destroyed) return this.stop();
    while (this.held.length > 0 && (this.held[0] as { due: number }).due <= performance.now()) {
      if (!this.sink.write((this.held.shift() as { chunk: Buffer }).chunk)) this.source.pause();
    }
    if (this.held.length > 0) return this.schedule();
    if (this.sourceEnded) this.sink.end();
  }
}

/** Listens on a free loopback port and forwards each connection to the target through delay lines. */
export async function startJitterProxy(o: JitterProxyOptions): Promise<JitterProxy> {
  const open = new Set<{ sockets: net.Socket[]; lines: DelayLine[] }>();
  const chunks: HeldChunk[] = [];
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const n = accepted++;
    const upstream = net.connect({ host: o.targetHost, port: o.targetPort, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const line = (direction: Direction, delay: ChunkDelay, source: net.Socket, sink: net.Socket): DelayLine =>
      new DelayLine(source, sink, chunkDelays(o.seed, n, direction, delay), (bytes, delayMs, readAt, dueAt) =>
        chunks.push({ connection: n, direction, bytes, delayMs, readAt, dueAt }),
      );
    const lines = [line('upstream', o.upstream, client, upstream)];
    if (o.downstream) lines.push(line('downstream', o.downstream, upstream, client));
    else upstream.pipe(client);
    const conn = { sockets: [client, upstream], lines };
    open.add(conn);
    const destroy = (): void => {
      for (const line of lines) line.stop();
      client.destroy();
      upstream.destroy();
      open.delete(conn);
    };
    for (const s of conn.sockets) {
      s.on('error', destroy);
      // Each side closes when both its directions have ended; with both closed the connection is done.
      s.on('close', () => (client.destroyed && upstream.destroyed ? destroy() : undefined));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return accepted;
    },
    chunks,
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of open) {
        for (const line of conn.lines) line.stop();
        for (const s of conn.sockets) s.destroy();
      }
      open.clear();
      return closed;
    },
  };
}
