/**
 * The parts of guacamole-lite the tunnel uses, typed. guacamole-lite's own server decrypts an
 * AES-CBC token (no integrity) from the client's URL: the gateway never exposes that. It builds
 * one ClientConnection per tunnel itself, after its own ticket was redeemed, with a token sealed
 * by a per-process key that holds no secret, and puts the desktop's settings and credentials in
 * through the processConnectionSettings callback.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.js';
import { encodeInstruction, GuacStatus } from '../guac/index.js';

const require = createRequire(import.meta.url);

export interface GuacLiteConnection extends EventEmitter {
  connect(guacd: { host: string; port: number }): void;
  close(error?: Error): void;
}

type ClientConnectionCtor = new (
  clientOptions: object,
  connectionId: number,
  webSocket: EventEmitter,
  query: Record<string, string>,
  callbacks: { processConnectionSettings: (s: GuacLiteSettings, cb: (err: Error | undefined, s: GuacLiteSettings) => void) => void },
) => GuacLiteConnection;

interface CryptType {
  encrypt(data: unknown): string;
}

export interface GuacLiteSettings {
  connection: Record<string, unknown>;
}

/** guacamole-lite's guacd side, as far as the gateway reaches into it. */
interface GuacdClient {
  state: number;
  readonly STATE_CLOSED: number;
  guacdConnection: Socket;
  close(error?: Error): void;
  /** guacd's instructions arrive here (processInstruction, bound when the client was built), to be forwarded to the browser. */
  readonly parser: { oninstruction: (opcode: string, params: string[]) => void };
}

/**
 * Sees each `error` instruction from guacd (or the bridge) before the browser does: true when it
 * handled it (the instruction is then not forwarded).
 */
export type UpstreamErrorHook = (message: string, status: number) => boolean;

const ClientConnection = require('guacamole-lite/lib/ClientConnection.js') as ClientConnectionCtor;
const Crypt = require('guacamole-lite/lib/Crypt.js') as new (cypher: string, key: Buffer) => CryptType;
const { LOGLEVEL } = require('guacamole-lite/lib/Logger.js') as { LOGLEVEL: Record<string, number> };

/** Display size the browser may ask for (guacamole-lite's allowed unencrypted settings). */
export interface DisplayRequest {
  readonly width?: number;
  readonly height?: number;
  readonly dpi?: number;
}

export interface ConnectionFactoryOptions {
  readonly log: Logger;
  readonly idleMs: number;
}

let connections = 0;

export function guacLiteFactory(o: ConnectionFactoryOptions) {
  const key = randomBytes(32);
  const crypt = new Crypt('AES-256-CBC', key);
  // Never DEBUG: guacamole-lite logs the instructions themselves (what was typed) at that level.
  const clientOptions = {
    maxInactivityTime: o.idleMs,
    log: {
      level: LOGLEVEL.ERRORS,
      stdLog: (...a: unknown[]) => o.log.debug({ guacamoleLite: a.map(String).join(' ') }),
      errorLog: (...a: unknown[]) => o.log.info({ guacamoleLite: a.map(String).join(' ') }, 'tunnel'),
    },
    crypt: { cypher: 'AES-256-CBC', key },
    connectionDefaultSettings: {
      rdp: { port: '3389', width: 1024, height: 768, dpi: 96, audio: [], video: null, image: ['image/png', 'image/jpeg', 'image/webp'], timezone: null },
    },
    allowedUnencryptedConnectionSettings: { rdp: ['width', 'height', 'dpi'] },
  };

  /** A connection whose guacd settings are `settings` (credentials included), never seen by the browser. */
  return (webSocket: EventEmitter, settings: Record<string, string>, display: DisplayRequest, onUpstreamError?: UpstreamErrorHook): GuacLiteConnection => {
    const token = crypt.encrypt({ connection: { type: 'rdp', settings: {} } });
    const query: Record<string, string> = { token };
    if (display.width) query.width = String(display.width);
    if (display.height) query.height = String(display.height);
    if (display.dpi) query.dpi = String(display.dpi);
    const conn = new ClientConnection(clientOptions, ++connections, webSocket, query, {
      processConnectionSettings(s, cb) {
        s.connection = { ...s.connection, ...settings };
        cb(undefined, s);
      },
    });
    const connect = conn.connect.bind(conn);
    conn.connect = (guacd) => {
      connect(guacd);
      const client = (conn as unknown as { guacdClient: GuacdClient }).guacdClient;
      // guacamole-lite leaves Nagle on: small input writes would wait for the previous one's ACK.
      client.guacdConnection.setNoDelay(true);
      disconnectOnClose(client);
      if (onUpstreamError) interceptErrors(client, onUpstreamError);
    };
    // guacamole-lite puts a word ("SERVICE_UNAVAILABLE") where the protocol has a numeric status,
    // which guacamole-common-js reads as NaN: send the matching Guacamole status instead.
    (conn as unknown as { sendErrorToClient: (message: string, code?: string) => void }).sendErrorToClient = (message, code = '') =>
      (conn as unknown as { send(text: string): void }).send(encodeInstruction('error', message, LITE_STATUS[code] ?? GuacStatus.UPSTREAM_ERROR));
    return conn;
  };
}

/** guacd's instruction to end the connection (and with it the desktop's). */
const DISCONNECT = encodeInstruction('disconnect');
/** How long guacd may take to close its side after `disconnect` before the socket is cut. */
const DISCONNECT_GRACE_MS = 2000;

/**
 * guacamole-lite closes the guacd socket without a word; guacd takes that for a client that
 * stopped answering and keeps the desktop connected for about 15 s. So the close says `disconnect`
 * first, with end(): it goes out after what is already queued, and the socket stays open (still
 * reading) until guacd closes its side. guacamole-lite's own destroy() would drop what is queued,
 * and with guacd's data still unread, reset the connection before the instruction arrives; it gets
 * a socket that is already done with instead.
 */
function disconnectOnClose(client: GuacdClient): void {
  const close = client.close.bind(client);
  client.close = (error) => {
    const socket = client.guacdConnection;
    if (client.state === client.STATE_CLOSED || socket.destroyed) return close(error);
    socket.end(DISCONNECT);
    const cut = setTimeout(() => socket.destroy(), DISCONNECT_GRACE_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
    const done = { closed: true, destroyed: true, removeAllListeners: () => done };
    client.guacdConnection = done as unknown as Socket;
    try {
      close(error);
    } finally {
      client.guacdConnection = socket;
    }
  };
}

function interceptErrors(client: GuacdClient, hook: UpstreamErrorHook): void {
  const forward = client.parser.oninstruction;
  client.parser.oninstruction = (opcode, params) => {
    if (opcode === 'error' && hook(params[0] ?? '', Number(params[1]))) return;
    forward(opcode, params);
  };
}

/** guacamole-lite's error words and the Guacamole status each means. */
const LITE_STATUS: Record<string, number> = {
  SERVICE_UNAVAILABLE: GuacStatus.UPSTREAM_NOT_FOUND,
  SERVICE_NOT_FOUND: GuacStatus.UPSTREAM_NOT_FOUND,
  CONNECTION_TIMEOUT: GuacStatus.UPSTREAM_TIMEOUT,
  CONNECTION_RESET: GuacStatus.UPSTREAM_UNAVAILABLE,
  INACTIVITY_TIMEOUT: GuacStatus.CLIENT_TIMEOUT,
  HANDSHAKE_ERROR: GuacStatus.UPSTREAM_ERROR,
  CONNECTION_ERROR: GuacStatus.UPSTREAM_ERROR,
};
