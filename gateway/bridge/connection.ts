/**
 * One client of the bridge: the Guacamole socket on one side, one RDP session on the other. The
 * only module that touches the client's socket. Every path ends in close(): both sockets closed,
 * every timer cleared; nothing here throws into the server.
 */
import type net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/log.js';
import { GuacParser, GUACD_LIMITS } from '../guac/parser.js';
import { encodeInstruction, type Instruction } from '../guac/encoder.js';
import { readInput } from '../guac/input.js';
import { GuacStatus, guacStatusName, type GuacStatusCode } from '../guac/status.js';
import {
  applyClientInfo, connectionRequest, emptyClientInfo, HandshakeError, parseConnect, PROTOCOL_VERSION, RDP_ARGS,
  type ClientInfo, type ConnectionRequest,
} from './handshake.js';
import { Framebuffer } from './framebuffer.js';
import { Display, type DisplayOptions } from './display.js';
import { cursorInstructions } from './cursor.js';
import { Keyboard, MouseState, type RdpInputEvent } from './input.js';
import { KEYMAPS } from './keymaps/layouts.js';
import { RdpSession, type RdpFailure } from './rdp.js';
import { showsXrdpLoginFailure } from './login.js';

export interface ConnectionOptions extends DisplayOptions {
  readonly handshakeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly loginCheckMs: number;
  /** PEM CAs for desktop certificates; undefined is Node's default roots. */
  readonly ca?: Buffer;
}

type State = 'select' | 'handshake' | 'connecting' | 'open' | 'closed';

/** Milestones, for the benchmark and logs (milliseconds, performance.now()). */
export interface ConnectionTimes {
  connect?: number;
  rdpConnected?: number;
  firstFrame?: number;
}

export class BridgeConnection {
  /** guacd's connection ids start with '$'. */
  readonly id = `$${randomUUID()}`;
  readonly times: ConnectionTimes = {};
  private state: State = 'select';
  private readonly parser = new GuacParser(GUACD_LIMITS);
  private readonly info: ClientInfo = emptyClientInfo();
  private timers: NodeJS.Timeout[] = [];
  private rdp: RdpSession | undefined;
  private display: Display | undefined;
  private fb: Framebuffer | undefined;
  private keyboard: Keyboard | undefined;
  private readOnly = false;
  private readonly mouse = new MouseState();
  private readonly log: Logger;
  private closeListeners: (() => void)[] = [];

  constructor(
    private readonly socket: net.Socket,
    private readonly options: ConnectionOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ connection: this.id, client: `${socket.remoteAddress}:${socket.remotePort}` });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', (err) => {
      this.log.debug({ err: err.message }, 'client socket error');
      this.close();
    });
    socket.on('close', () => this.close());
    this.after(options.handshakeTimeoutMs, () => {
      if (this.state === 'select' || this.state === 'handshake') {
        this.abort(GuacStatus.CLIENT_TIMEOUT, `the handshake was not completed within ${options.handshakeTimeoutMs} ms`);
      }
    });
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Frames and bytes sent so far. */
  get stats() {
    return this.display?.stats;
  }

  private after(ms: number, f: () => void): void {
    this.timers.push(setTimeout(f, ms));
  }

  private send(text: string): boolean {
    if (this.state === 'closed' || this.socket.destroyed) return false;
    return this.socket.write(text);
  }

  private receive(chunk: Buffer): void {
    for (const r of this.parser.push(chunk)) {
      if (this.state === 'closed') return;
      if (r.error) {
        this.abort(r.error.guacStatus, r.error.message);
        return;
      }
      try {
        this.handle(r.instruction);
      } catch (err) {
        if (err instanceof HandshakeError) this.abort(err.status, err.message);
        else {
          this.log.error({ err }, 'instruction handler failed');
          this.abort(GuacStatus.SERVER_ERROR, 'internal error in the bridge');
        }
        return;
      }
    }
  }

  private handle(ins: Instruction): void {
    switch (this.state) {
      case 'select':
        return this.select(ins);
      case 'handshake':
        if (ins.opcode === 'connect') return this.connect(ins);
        if (!applyClientInfo(this.info, ins)) {
          throw new HandshakeError(GuacStatus.CLIENT_BAD_REQUEST, `unexpected "${ins.opcode.slice(0, 32)}" during the handshake (expected size, audio, video, image, timezone, name or connect)`);
        }
        return;
      case 'connecting':
      case 'open':
        return this.interactive(ins);
      case 'closed':
        return;
    }
  }

  private select(ins: Instruction): void {
    if (ins.opcode !== 'select') {
      throw new HandshakeError(GuacStatus.CLIENT_BAD_REQUEST, `expected "select" to open the handshake, got "${ins.opcode.slice(0, 32)}"`);
    }
    const what = ins.args[0] ?? '';
    if (what.startsWith('$')) {
      throw new HandshakeError(GuacStatus.RESOURCE_NOT_FOUND, 'joining an existing connection is not supported by the built-in bridge');
    }
    if (what !== 'rdp') {
      throw new HandshakeError(GuacStatus.UNSUPPORTED, `protocol ${JSON.stringify(what.slice(0, 32))} is not supported by the built-in bridge (rdp only)`);
    }
    this.state = 'handshake';
    this.send(encodeInstruction('args', PROTOCOL_VERSION, ...RDP_ARGS));
  }

  private connect(ins: Instruction): void {
    const { version, values } = parseConnect(ins.args);
    const request = connectionRequest(values, this.info);
    this.state = 'connecting';
    this.times.connect = performance.now();
    this.log.info(
      { version, host: request.host, port: request.port, username: request.username, width: request.width, height: request.height,
        colorDepth: request.colorDepth, ignoreCert: request.ignoreCert, pinned: request.fingerprints.length },
      'connecting to desktop',
    );
    this.send(encodeInstruction('ready', this.id));
    this.start(request);
  }

  private start(request: ConnectionRequest): void {
    const keymap = KEYMAPS[request.keymap];
    this.keyboard = keymap && new Keyboard(keymap);
    this.readOnly = request.readOnly;
    const fb = new Framebuffer(request.width, request.height);
    this.fb = fb;
    this.send(encodeInstruction('size', 0, request.width, request.height));
    // node-rdpjs-2 opens no virtual channels, so no cliprdr: the agent's page (which reads the
    // gateway's `vdiguard` instructions, gateway/session/session.ts PAGE_OPCODE) hides its clipboard.
    this.send(encodeInstruction('vdiguard', 'clipboard', 'off'));
    cursorInstructions(0).then((text) => this.send(text), (err) => this.log.warn({ err }, 'cursor not sent'));

    const rdp = new RdpSession({
      host: request.host,
      port: request.port,
      username: request.username,
      password: request.password,
      domain: request.domain,
      width: request.width,
      height: request.height,
      colorDepth: request.colorDepth,
      keyboardLayout: keymap?.rdpLayout ?? 0x409,
      certificate: { ignore: request.ignoreCert, fingerprints: request.fingerprints, ca: this.options.ca },
    });
    this.rdp = rdp;
    rdp.on('bitmap', (b) => fb.apply(b));
    rdp.on('error', (err) => this.rdpFailed(err));
    rdp.on('close', () => {
      if (this.state === 'connecting') {
        this.abort(GuacStatus.UPSTREAM_ERROR, 'the desktop closed the connection during the RDP connection sequence (is it an RDP server with the TLS security layer?)');
      } else if (this.state !== 'closed') {
        this.abort(GuacStatus.UPSTREAM_UNAVAILABLE, 'the desktop closed the connection');
      }
    });
    rdp.on('connect', () => {
      this.times.rdpConnected = performance.now();
      this.state = 'open';
      this.log.info('desktop connected');
      const display = new Display(fb, {
        send: (text) => this.send(text),
        timeout: (message) => this.abort(GuacStatus.CLIENT_TIMEOUT, message),
        fail: (err) => {
          this.log.error({ err }, 'frame encoding failed');
          this.abort(GuacStatus.SERVER_ERROR, 'the bridge could not encode the display');
        },
        frameSent: () => {
          this.times.firstFrame ??= performance.now();
        },
      }, this.options, new Set(this.info.image));
      this.display = display;
      display.start();
      this.watchLogin(fb);
    });
    this.after(this.options.connectTimeoutMs, () => {
      if (this.state === 'connecting') {
        this.abort(GuacStatus.UPSTREAM_TIMEOUT, `the desktop did not complete the RDP connection within ${this.options.connectTimeoutMs} ms`);
      }
    });
    rdp.start();
  }

  /** For a while after connecting, checks whether xrdp painted its login failure window. */
  private watchLogin(fb: Framebuffer): void {
    const until = performance.now() + this.options.loginCheckMs;
    const timer = setInterval(() => {
      if (this.state !== 'open' || performance.now() > until) return clearInterval(timer);
      if (showsXrdpLoginFailure(fb)) {
        clearInterval(timer);
        this.abort(GuacStatus.CLIENT_UNAUTHORIZED, 'the desktop rejected the login: wrong user name or password');
      }
    }, 200);
    this.timers.push(timer);
  }

  private rdpFailed(err: RdpFailure): void {
    const status: GuacStatusCode = {
      connect: err.errno === 'ETIMEDOUT' ? GuacStatus.UPSTREAM_TIMEOUT : GuacStatus.UPSTREAM_NOT_FOUND,
      protocol: GuacStatus.UPSTREAM_ERROR,
      certificate: GuacStatus.UPSTREAM_ERROR,
      unsupported: GuacStatus.UPSTREAM_ERROR,
    }[err.kind];
    this.abort(status, err.message);
  }

  private interactive(ins: Instruction): void {
    const a = ins.args;
    switch (ins.opcode) {
      case 'sync':
        this.display?.ack(Number(a[0]));
        return;
      case 'key':
      case 'mouse': {
        // The gateway's tap reads input with the same function, so what is typed here is what was
        // scored; a client talking to the bridge directly is held to the same form.
        const read = readInput(ins);
        if (read?.error) return this.abort(read.error.guacStatus, read.error.message);
        const input = read?.input;
        if (this.readOnly || !input) return;
        if (input.kind === 'key') {
          if (this.keyboard) this.sendInput(this.keyboard.events(input.keysym, input.pressed));
        } else if (this.fb) {
          const x = clamp(input.x, this.fb.width - 1);
          const y = clamp(input.y, this.fb.height - 1);
          this.sendInput(this.mouse.events(x, y, input.buttonMask));
        }
        return;
      }
      case 'disconnect':
        this.log.info('client disconnected');
        this.close();
        return;
      case '':
        // Tunnel-internal instruction (guacamole-common-js ping): answered with itself, as the Java tunnel does.
        if (a[0] === 'ping') this.send(encodeInstruction('', ...a));
        return;
      default:
        // nop, size (no resize), clipboard, streams the bridge does not support: ignored, as guacd ignores what it lacks.
        return;
    }
  }

  private sendInput(events: RdpInputEvent[]): void {
    const rdp = this.rdp;
    if (!rdp) return;
    for (const e of events) {
      switch (e.type) {
        case 'scancode':
          rdp.sendScancode(e.scancode, e.pressed, e.extended);
          break;
        case 'unicode':
          rdp.sendUnicode(e.unit, e.pressed);
          break;
        case 'pointer':
          rdp.sendPointer(e.x, e.y, e.button, e.pressed);
          break;
        case 'wheel':
          rdp.sendWheel(e.x, e.y, e.down);
          break;
      }
    }
  }

  /** Tells the client why, then closes. */
  abort(status: GuacStatusCode, message: string): void {
    if (this.state === 'closed') return;
    this.log.info({ status: guacStatusName(status) }, `ending connection: ${message}`);
    this.send(encodeInstruction('error', message, status));
    this.close();
  }

  /** Closes everything; idempotent. The client socket is ended (flushing the error) and destroyed soon after. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.display?.stop();
    this.rdp?.close();
    if (!this.socket.destroyed) {
      this.socket.end(encodeInstruction('disconnect'));
      const kill = setTimeout(() => this.socket.destroy(), 2000);
      kill.unref();
      this.socket.once('close', () => clearTimeout(kill));
    }
    for (const l of this.closeListeners) l();
    this.closeListeners = [];
  }
}

function clamp(n: number, max: number): number {
  return Math.min(max, Math.max(0, n));
}
