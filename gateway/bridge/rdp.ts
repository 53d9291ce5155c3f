/**
 * The RDP side of one bridge connection, on node-rdpjs-2 (GPL/AGPL: imported here and nowhere else
 * outside gateway/bridge/, and the bridge runs as its own process).
 *
 * The library needs three runtime fixes against xrdp 0.9 (see ../../../shared/ARCHITECTURE.md):
 * INFO_MAXIMIZESHELL in the client info flags; the server's bitmap capability may carry
 * multipleRectangleSupport = 0 where the library insists on 1; the server's font capability may be
 * empty. It also verifies no certificate, so the TLS upgrade is replaced per client with one that
 * does; and its errors are routed to this wrapper instead of being thrown from an event handler.
 */
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import tls from 'node:tls';
import type net from 'node:net';
import type { BitmapUpdate } from './framebuffer.js';
import { guacdCertFingerprints, normalizeFingerprint } from '../guac/fingerprints.js';

const require = createRequire(import.meta.url);
const LIB = 'node-rdpjs-2/lib/';
/* eslint-disable @typescript-eslint/no-explicit-any */
const rdpjs: any = require('node-rdpjs-2');
const caps: any = require(LIB + 'protocol/pdu/caps.js');
const type: any = require(LIB + 'core/type.js');
const core: any = require(LIB + 'core');
const rdpLog: any = require(LIB + 'core/log.js');

const INFO_MAXIMIZESHELL = 0x20;
const RNS_UD_CS_WANT_32BPP_SESSION = 0x0002;

let patched = false;
/** Makes the server capability parser accept what xrdp sends. Idempotent; affects this process only. */
function patchCapabilities(): void {
  if (patched) return;
  patched = true;
  const original = caps.capability;
  caps.capability = function capability(cap: unknown, opt: unknown) {
    const component = original(cap, opt);
    if (cap) return component;
    const self = component.obj;
    const factory = self.capability;
    self.capability = new type.Factory((s: unknown) => {
      const length = self.lengthCapability.value - 4;
      const readLength = { readLength: new type.CallableValue(() => length) };
      if (self.capabilitySetType.value === caps.CapsType.CAPSTYPE_BITMAP) {
        const c = caps.bitmapCapability(readLength);
        c.obj.multipleRectangleSupport.opt.constant = false;
        self.capability = c.read(s);
      } else if (self.capabilitySetType.value === caps.CapsType.CAPSTYPE_FONT && length < 4) {
        const c = caps.fontCapability(readLength);
        for (const field of Object.values<any>(c.obj)) if (field?.opt) field.opt.optional = true;
        self.capability = c.read(s);
      } else {
        factory.read(s);
      }
    });
    return component;
  };
  // The library logs through bunyan to stdout by default: keep it quiet (ours goes through pino).
  rdpLog.level = rdpLog.Levels.ERROR + 100;
}

/** How the desktop's TLS certificate is checked. */
export interface CertificatePolicy {
  /** Accept any certificate (the connection's `ignore-cert`). */
  readonly ignore: boolean;
  /** Accepted SHA-256 fingerprints, lower-case hex without separators; when set, nothing else counts. */
  readonly fingerprints: readonly string[];
  /** PEM CA certificates to verify the chain against; undefined means Node's default roots. */
  readonly ca?: string | Buffer;
}

export interface RdpOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly domain: string;
  /** Desktop size in pixels. */
  readonly width: number;
  readonly height: number;
  /** 15, 16, 24 or 32. */
  readonly colorDepth: number;
  /** Windows keyboard layout id announced to the desktop (0x409 US English). */
  readonly keyboardLayout: number;
  readonly certificate: CertificatePolicy;
}

/** Where in the connection a failure happened, so the bridge can give the right status. */
export type RdpFailureKind =
  /** The TCP connection failed: refused, unreachable, name not found. */
  | 'connect'
  /** The peer is not an RDP server or broke the protocol. */
  | 'protocol'
  /** The desktop's certificate was not trusted. */
  | 'certificate'
  /** The desktop needs something this client lacks (NLA, standard RDP security). */
  | 'unsupported';

export class RdpFailure extends Error {
  constructor(
    readonly kind: RdpFailureKind,
    message: string,
    /** The Node error code, when there was one (ECONNREFUSED ...). */
    readonly errno?: string,
  ) {
    super(message);
    this.name = 'RdpFailure';
  }
}

/** Turns whatever the library or the socket threw into an RdpFailure with a readable message. */
export function classifyRdpError(err: unknown): RdpFailure {
  if (err instanceof RdpFailure) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const text = typeof e?.message === 'string' && e.message ? e.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return new RdpFailure('connect', 'the desktop refused the connection (nothing listens on that port)', code);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new RdpFailure('connect', 'the desktop host name could not be resolved', code);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new RdpFailure('connect', 'the desktop host is unreachable', code);
    case 'ETIMEDOUT':
      return new RdpFailure('connect', 'the desktop did not answer in time', code);
    case 'ECONNRESET':
    case 'EPIPE':
      return new RdpFailure('protocol', 'the desktop closed the connection during the RDP exchange', code);
  }
  if (text.includes('NLA_NOT_SUPPORTED')) {
    return new RdpFailure('unsupported', 'the desktop requires NLA, which the built-in bridge does not support (use guacd)');
  }
  if (text.includes('X224_NEG_FAILURE')) {
    return new RdpFailure('unsupported', `the desktop rejected the TLS security layer (${text})`);
  }
  if (code?.startsWith('ERR_SSL') || text.includes('SSL')) {
    return new RdpFailure('protocol', `TLS failure talking to the desktop: ${text.split('\n')[0]}`, code);
  }
  if (text.startsWith('NODE_RDP_') || code?.startsWith('NODE_RDP_')) {
    return new RdpFailure('protocol', `the desktop broke the RDP protocol (${code ?? text})`, code);
  }
  return new RdpFailure('protocol', `RDP failure: ${text.split('\n')[0]}`, code);
}

/** Whether a peer certificate passes the policy: undefined when it does, else the reason. */
export function checkCertificate(
  policy: CertificatePolicy,
  host: string,
  socket: Pick<tls.TLSSocket, 'getPeerCertificate' | 'authorized' | 'authorizationError'>,
): string | undefined {
  if (policy.ignore) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.raw) return 'the desktop sent no certificate';
  const fingerprint = normalizeFingerprint(cert.fingerprint256 ?? '');
  // In the form cert-fingerprints takes, so the admin who checked it can pin it as it stands.
  const shown = guacdCertFingerprints([fingerprint]);
  if (policy.fingerprints.length > 0) {
    return policy.fingerprints.includes(fingerprint)
      ? undefined
      : `the desktop's certificate (SHA-256 fingerprint ${shown}) matches none of the ${policy.fingerprints.length} pinned fingerprints: the desktop's certificate changed, or another machine answers at its address`;
  }
  if (!socket.authorized) {
    return `the desktop's certificate is not trusted (${String(socket.authorizationError)}; SHA-256 fingerprint ${shown}): pin it with cert-fingerprints, add its CA, or set ignore-cert`;
  }
  const identity = tls.checkServerIdentity(host, cert);
  if (identity) return `the desktop's certificate does not name ${host}: ${identity.message}`;
  return undefined;
}

export interface RdpSessionEvents {
  /** The RDP connection sequence finished; input may flow. */
  connect: [];
  bitmap: [BitmapUpdate];
  /** The connection failed or broke; 'close' follows. */
  error: [RdpFailure];
  /** The connection is gone, for whatever reason. Emitted once. */
  close: [];
}

/** One RDP client. Every library error arrives as one 'error' event; every path ends in 'close'. */
export class RdpSession extends EventEmitter<RdpSessionEvents> {
  private client: any;
  private closed = false;
  private connected = false;
  /** SHA-256 fingerprint of the desktop's certificate, once TLS is up. */
  certificateFingerprint: string | undefined;

  constructor(readonly options: RdpOptions) {
    super();
    patchCapabilities();
  }

  start(): void {
    const o = this.options;
    const client = rdpjs.createClient({
      domain: o.domain,
      userName: o.username,
      password: o.password,
      enablePerf: true,
      autoLogin: true,
      decompress: false,
      screen: { width: o.width, height: o.height },
      locale: 'en',
      logLevel: 'ERROR',
    });
    this.client = client;
    client.sec.infos.obj.flag.value |= INFO_MAXIMIZESHELL;
    const coreData = client.mcs.clientCoreData.obj;
    coreData.highColorDepth.value = o.colorDepth;
    coreData.kbdLayout.value = o.keyboardLayout;
    if (o.colorDepth === 32) coreData.earlyCapabilityFlags.value |= RNS_UD_CS_WANT_32BPP_SESSION;

    // Library errors: the client's own handler rethrows fatal ones from inside an event; replace it.
    client.global.removeAllListeners('error');
    client.global.on('error', (err: unknown) => this.fail(classifyRdpError(err)));
    client.on('connect', () => {
      this.connected = true;
      this.emit('connect');
    });
    client.on('close', () => this.finish());
    // Replace the bitmap relay: the library's one hides whether the data was compressed.
    client.global.removeAllListeners('bitmap');
    client.global.on('bitmap', (rects: any[]) => {
      for (const r of rects) {
        try {
          this.emit('bitmap', toUpdate(r.obj));
        } catch (err) {
          this.fail(new RdpFailure('protocol', `undrawable bitmap update: ${(err as Error).message}`));
          return;
        }
      }
    });
    this.replaceTls(client.bufferLayer);
    const socket: net.Socket = client.bufferLayer.socket;
    socket.on('error', (err) => this.fail(classifyRdpError(err)));
    socket.on('close', () => this.finish());
    try {
      client.connect(o.host, o.port);
    } catch (err) {
      this.fail(classifyRdpError(err));
    }
  }

  /** The library's TLS upgrade with certificate checking; a failed check ends the connection before any credential is sent. */
  private replaceTls(layer: any): void {
    const policy = this.options.certificate;
    const host = this.options.host;
    layer.startTLS = (callback: () => void) => {
      const secure = tls.connect({
        socket: layer.socket,
        servername: isIp(host) ? undefined : host,
        ca: policy.ca,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      });
      layer.secureSocket = secure;
      secure.once('secureConnect', () => {
        const cert = secure.getPeerCertificate();
        this.certificateFingerprint = cert?.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : undefined;
        const problem = checkCertificate(policy, host, secure);
        if (problem) {
          this.fail(new RdpFailure('certificate', problem));
          return;
        }
        callback();
      });
      secure.on('data', (data: Buffer) => {
        try {
          layer.recv(data);
        } catch (err) {
          this.fail(classifyRdpError(err));
        }
      });
      secure.on('error', (err: Error) => this.fail(classifyRdpError(err)));
    };
  }

  get isConnected(): boolean {
    return this.connected && !this.closed;
  }

  /** Runs an input call; a failure there ends the session instead of escaping. */
  private input(f: (c: any) => void): void {
    if (!this.isConnected) return;
    try {
      f(this.client);
    } catch (err) {
      this.fail(classifyRdpError(err));
    }
  }

  /** A key by scancode (set 1, as RDP uses). */
  sendScancode(code: number, pressed: boolean, extended: boolean): void {
    this.input((c) => c.sendKeyEventScancode(code, pressed, extended));
  }

  /** A key by UTF-16 code unit, for characters no scancode gives. */
  sendUnicode(unit: number, pressed: boolean): void {
    this.input((c) => c.sendKeyEventUnicode(unit, pressed));
  }

  /** Pointer move (button 0) or button 1 left / 2 right / 3 middle press or release at x, y. */
  sendPointer(x: number, y: number, button: 0 | 1 | 2 | 3, pressed: boolean): void {
    this.input((c) => c.sendPointerEvent(x, y, button, pressed));
  }

  /** One wheel notch: 120 units, negative for down. */
  sendWheel(x: number, y: number, down: boolean): void {
    this.input((c) => c.sendWheelEvent(x, y, down ? 0x88 : 0x78, down, false));
  }

  private fail(err: RdpFailure): void {
    if (this.closed) return;
    this.emit('error', err);
    this.close();
  }

  /** Closes both sockets; 'close' follows once. Safe to call any number of times. */
  close(): void {
    if (!this.client) return this.finish();
    const layer = this.client.bufferLayer;
    layer.secureSocket?.destroy();
    layer.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    if (this.client) {
      const layer = this.client.bufferLayer;
      layer.secureSocket?.destroy();
      layer.socket.destroy();
    }
    this.emit('close');
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** Converts one TS_BITMAP_DATA of the library, decompressing it here so the format is known. */
function toUpdate(b: any): BitmapUpdate {
  const compressed = (b.flags.value & 0x0001) !== 0; // BITMAP_COMPRESSION
  const base = {
    destLeft: b.destLeft.value as number,
    destTop: b.destTop.value as number,
    destRight: b.destRight.value as number,
    destBottom: b.destBottom.value as number,
    width: b.width.value as number,
    height: b.height.value as number,
    bitsPerPixel: b.bitsPerPixel.value as number,
  };
  if (!compressed) return { ...base, format: 'raw', data: Buffer.from(b.bitmapDataStream.value as Buffer) };
  return { ...base, format: 'decoded', data: decompress(base.width, base.height, base.bitsPerPixel, b.bitmapDataStream.value as Buffer) };
}

/** RLE-decodes one bitmap with the library's emscripten module; returns a copy (the heap is reused). */
function decompress(width: number, height: number, bpp: number, input: Buffer): Buffer {
  const rle = core.rle;
  const fn = { 15: 'bitmap_decompress_15', 16: 'bitmap_decompress_16', 24: 'bitmap_decompress_24', 32: 'bitmap_decompress_32' }[bpp];
  if (!fn) throw new Error(`unsupported colour depth ${bpp} bpp`);
  const size = width * height * 4;
  const inPtr = rle._malloc(input.length);
  const outPtr = rle._malloc(size);
  try {
    rle.HEAPU8.set(input, inPtr);
    const ok = rle.ccall(fn, 'number', ['number', 'number', 'number', 'number', 'number', 'number', 'number'],
      [outPtr, width, height, width, height, inPtr, input.length]);
    if (!ok) throw new Error('RLE bitmap data could not be decoded');
    return Buffer.from(rle.HEAPU8.subarray(outPtr, outPtr + size));
  } finally {
    rle._free(inPtr);
    rle._free(outPtr);
  }
}

