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
  return (webSocket: EventEmitter, settings: Record<string, string>, display: DisplayRequest): GuacLiteConnection => {
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
    // guacamole-lite puts a word ("SERVICE_UNAVAILABLE") where the protocol has a numeric status,
    // which guacamole-common-js reads as NaN: send the matching Guacamole status instead.
    (conn as unknown as { sendErrorToClient: (message: string, code?: string) => void }).sendErrorToClient = (message, code = '') =>
      (conn as unknown as { send(text: string): void }).send(encodeInstruction('error', message, LITE_STATUS[code] ?? GuacStatus.UPSTREAM_ERROR));
    return conn;
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
