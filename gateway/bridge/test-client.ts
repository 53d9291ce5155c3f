/**
 * A real Guacamole client over TCP, for the bridge's tests and benchmark: performs the handshake as
 * guacamole-lite does, answers `sync`, and paints `img` streams into an RGBA screen of its own
 * (decoded with sharp), so tests can compare what a browser would show with the desktop.
 */
import net from 'node:net';
import sharp from 'sharp';
import { GuacParser } from '../guac/parser.js';
import { encodeInstruction, type Instruction } from '../guac/encoder.js';

export interface ClientOptions {
  /** Values for `connect`, by guacd parameter name. */
  readonly params: Record<string, string>;
  readonly width: number;
  readonly height: number;
  readonly image?: string[];
  /** Protocol version to answer with; undefined answers like a client older than 1.1 (no version). */
  readonly version?: string;
  /** Answer `sync` instructions (false simulates a client that stopped rendering). */
  acknowledge?: boolean;
  /** Decode and paint images (false: only count them, for the benchmark). */
  paint?: boolean;
}

export class TestClient {
  readonly socket: net.Socket;
  readonly instructions: Instruction[] = [];
  /** The client's picture of layer 0, RGBA. */
  screen: Buffer;
  width: number;
  height: number;
  frames = 0;
  bytes = 0;
  imageBytes = 0;
  closed: Promise<void>;
  error: { message: string; status: number } | undefined;
  private readonly parser = new GuacParser({ maxElementLength: 1 << 24, maxInstructionLength: 1 << 24 });
  private readonly streams = new Map<string, { layer: number; mimetype: string; x: number; y: number; chunks: string[] }>();
  private painting: Promise<void> = Promise.resolve();
  private waiters: { test: (i: Instruction) => boolean; resolve: (i: Instruction) => void }[] = [];

  constructor(port: number, readonly options: ClientOptions, host = '127.0.0.1') {
    this.width = options.width;
    this.height = options.height;
    this.screen = Buffer.alloc(this.width * this.height * 4);
    this.socket = net.connect(port, host);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk) => {
      this.bytes += chunk.length;
      for (const r of this.parser.push(chunk)) {
        if (r.error) throw r.error;
        this.onInstruction(r.instruction);
      }
    });
  }

  send(opcode: string, ...args: (string | number)[]): void {
    this.socket.write(encodeInstruction(opcode, ...args));
  }

  /** Resolves with the first instruction (already received or future) that passes `test`. */
  waitFor(test: (i: Instruction) => boolean, timeoutMs = 15000): Promise<Instruction> {
    const seen = this.instructions.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting; last instructions: ${this.instructions.slice(-3).map((i) => i.opcode).join(', ')}`)), timeoutMs);
      this.waiters.push({ test, resolve: (i) => { clearTimeout(timer); resolve(i); } });
    });
  }

  /** Runs the handshake like guacamole-lite: select, answer args by name, size/audio/video/image/timezone, connect. */
  async handshake(): Promise<{ args: string[]; ready: Instruction }> {
    this.send('select', 'rdp');
    const args = await this.waitFor((i) => i.opcode === 'args');
    const values = args.args.map((name) => (name.startsWith('VERSION_') ? (this.options.version ?? '') : (this.options.params[name] ?? '')));
    this.send('size', this.options.width, this.options.height, 96);
    this.send('audio');
    this.send('video');
    this.send('image', ...(this.options.image ?? ['image/png', 'image/jpeg']));
    if (this.options.version) this.send('timezone', 'UTC');
    this.send('connect', ...(this.options.version ? values : values.slice(1)));
    const ready = await this.waitFor((i) => i.opcode === 'ready' || i.opcode === 'error');
    return { args: [...args.args], ready };
  }

  private onInstruction(i: Instruction): void {
    this.instructions.push(i);
    if (this.instructions.length > 2000) this.instructions.splice(0, 1000);
    const a = i.args;
    switch (i.opcode) {
      case 'error':
        this.error = { message: a[0] ?? '', status: Number(a[1]) };
        break;
      case 'size':
        if (a[0] === '0') {
          this.width = Number(a[1]);
          this.height = Number(a[2]);
          this.screen = Buffer.alloc(this.width * this.height * 4);
        }
        break;
      case 'img':
        this.streams.set(a[0] as string, { layer: Number(a[2]), mimetype: a[3] as string, x: Number(a[4]), y: Number(a[5]), chunks: [] });
        break;
      case 'blob':
        this.streams.get(a[0] as string)?.chunks.push(a[1] as string);
        break;
      case 'end': {
        const s = this.streams.get(a[0] as string);
        this.streams.delete(a[0] as string);
        if (s && s.layer === 0 && this.options.paint !== false) {
          const data = Buffer.from(s.chunks.join(''), 'base64');
          this.imageBytes += data.length;
          this.painting = this.painting.then(() => this.paint(data, s.x, s.y));
        }
        break;
      }
      case 'sync': {
        this.frames++;
        const stamp = a[0] as string;
        this.painting = this.painting.then(() => {
          if (this.options.acknowledge !== false && !this.socket.destroyed) this.send('sync', stamp);
        });
        break;
      }
    }
    for (const w of [...this.waiters]) {
      if (w.test(i)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(i);
      }
    }
  }

  private async paint(data: Buffer, x: number, y: number): Promise<void> {
    const { data: rgba, info } = await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    for (let row = 0; row < info.height && y + row < this.height; row++) {
      const w = Math.min(info.width, this.width - x);
      rgba.copy(this.screen, ((y + row) * this.width + x) * 4, row * info.width * 4, (row * info.width + w) * 4);
    }
  }

  /** Waits until every image received so far is painted. */
  settled(): Promise<void> {
    return this.painting;
  }

  close(): void {
    this.socket.destroy();
  }
}
