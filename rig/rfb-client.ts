/**
 * The colluder's remote-control client: a small RFB 3.8 client (RFC 6143) that drives the agent's
 * PC through x11vnc, as VNC viewers, and in the same shape AnyDesk or TeamViewer, do. It asks for
 * screen updates all the time (the colluder watches the screen, and encoding them is part of the
 * tool's load) and sends KeyEvent and PointerEvent messages when a player calls it.
 *
 * Only what the rig needs: security type None, Raw encoding, updates read and thrown away.
 */
import net from 'node:net';
import type { Injector } from './injector.js';

const VERSION = 'RFB 003.008\n';
const SECURITY_NONE = 1;
const ENCODING_RAW = 0;

/**
 * Reads exact byte counts from a socket, in order. Chunks are kept as they came and joined once a
 * read has all it wants: a Raw screen update is megabytes in 64 KB chunks, and joining on every
 * chunk copied it over and over, which held the viewer's event loop for tens of ms at a time.
 */
class Reader {
  private chunks: Buffer[] = [];
  private length = 0;
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failed: Error | undefined;

  constructor(socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.length += d.length;
      this.serve();
    });
    const fail = (e: Error): void => {
      this.failed = e;
      this.want?.reject(e);
      this.want = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the VNC server closed the connection')));
  }

  read(n: number): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.serve();
    });
  }

  private serve(): void {
    if (!this.want || this.length < this.want.n) return;
    const { n, resolve } = this.want;
    this.want = undefined;
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    resolve(all.subarray(0, n));
  }
}

export interface RfbClient extends Injector {
  /** Screen updates received since the connection opened. */
  readonly updates: number;
  /** Why the viewer stopped reading the screen before it was closed; undefined while it reads. */
  readonly failure: Error | undefined;
}

/** Connects to the VNC server at 127.0.0.1:`port` (directly, or through a link in front of it). */
export async function rfbClient(port: number): Promise<RfbClient> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const r = new Reader(socket);
  const version = (await r.read(12)).toString('latin1');
  if (!version.startsWith('RFB 003.')) throw new Error(`not a VNC server: it greeted with ${JSON.stringify(version)}`);
  socket.write(VERSION);
  const types = await r.read((await r.read(1))[0] as number);
  if (!types.includes(SECURITY_NONE)) throw new Error(`the VNC server offers security types ${[...types].join(', ')}, not None (start x11vnc with -nopw)`);
  socket.write(Buffer.from([SECURITY_NONE]));
  if ((await r.read(4)).readUInt32BE(0) !== 0) throw new Error('the VNC server refused the connection');
  socket.write(Buffer.from([1])); // ClientInit: shared, the agent's own session stays
  const init = await r.read(24);
  const width = init.readUInt16BE(0);
  const height = init.readUInt16BE(2);
  const bytesPerPixel = (init[4] as number) / 8;
  await r.read(init.readUInt32BE(20)); // the desktop's name

  const encodings = Buffer.alloc(8);
  encodings.writeUInt8(2, 0);
  encodings.writeUInt16BE(1, 2);
  encodings.writeInt32BE(ENCODING_RAW, 4);
  socket.write(encodings);
  const requestUpdate = (incremental: boolean): void => {
    const b = Buffer.alloc(10);
    b.writeUInt8(3, 0);
    b.writeUInt8(incremental ? 1 : 0, 1);
    b.writeUInt16BE(width, 6);
    b.writeUInt16BE(height, 8);
    socket.write(b);
  };

  let updates = 0;
  let open = true;
  // Screen updates, read and dropped: a viewer asks for the next as soon as one is drawn.
  const readUpdates = async (): Promise<void> => {
    requestUpdate(false);
    while (open) {
      const type = (await r.read(1))[0];
      if (type === 0) {
        const rects = (await r.read(3)).readUInt16BE(1);
        for (let i = 0; i < rects; i++) {
          const h = await r.read(12);
          if (h.readInt32BE(8) !== ENCODING_RAW) throw new Error(`the VNC server sent encoding ${h.readInt32BE(8)}, not Raw`);
          await r.read(h.readUInt16BE(4) * h.readUInt16BE(6) * bytesPerPixel);
        }
        updates++;
        requestUpdate(true);
      } else if (type === 1) {
        const colours = (await r.read(5)).readUInt16BE(3);
        await r.read(colours * 6);
      } else if (type === 3) {
        await r.read((await r.read(7)).readUInt32BE(3));
      } else if (type !== 2) {
        throw new Error(`the VNC server sent message type ${type}, which this client does not know`);
      }
    }
  };
  let failure: Error | undefined;
  // A viewer closed by the rig ends its reads with the socket; anything else is a failure to report.
  readUpdates().catch((err: Error) => {
    if (open) failure = err;
  });

  return {
    get updates() {
      return updates;
    },
    get failure() {
      return failure;
    },
    key(keysym, down) {
      const b = Buffer.alloc(8);
      b.writeUInt8(4, 0);
      b.writeUInt8(down ? 1 : 0, 1);
      b.writeUInt32BE(keysym, 4);
      socket.write(b);
    },
    pointer(x, y, mask) {
      const b = Buffer.alloc(6);
      b.writeUInt8(5, 0);
      b.writeUInt8(mask, 1);
      b.writeUInt16BE(Math.max(0, Math.min(width - 1, x)), 2);
      b.writeUInt16BE(Math.max(0, Math.min(height - 1, y)), 4);
      socket.write(b);
    },
    async close() {
      open = false;
      socket.destroy();
    },
  };
}
