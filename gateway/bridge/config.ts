/** The bridge's settings: each declared once, read from VDIGUARD_BRIDGE_* (and `--listen`). */
import { formatHostPort, parse, parseHostPort, type Setting } from '../../lib/config.js';
import { LOG_LEVELS, type LogLevel } from '../../lib/log.js';

export const BRIDGE_SETTINGS = {
  listen: {
    env: 'VDIGUARD_BRIDGE_LISTEN',
    description: 'Address the bridge accepts Guacamole connections on (guacd\'s port by default).',
    default: parseHostPort('127.0.0.1:4822'),
    parse: parse.hostPort,
    format: formatHostPort,
  },
  caFile: {
    env: 'VDIGUARD_BRIDGE_CA_FILE',
    description: 'PEM bundle of the CAs that sign the desktops\' certificates; unset means Node\'s default roots. A connection may instead pin fingerprints (cert-fingerprints) or set ignore-cert.',
    parse: parse.string,
  } as Setting<string>,
  maxConnections: {
    env: 'VDIGUARD_BRIDGE_MAX_CONNECTIONS',
    description: 'Connections served at once; more are refused with SERVER_BUSY.',
    default: 64,
    parse: parse.integer(1, 10000),
  },
  handshakeTimeoutMs: {
    env: 'VDIGUARD_BRIDGE_HANDSHAKE_TIMEOUT_MS',
    description: 'Milliseconds a client has to complete the handshake (select .. connect).',
    default: 15000,
    parse: parse.integer(100, 600000),
  },
  connectTimeoutMs: {
    env: 'VDIGUARD_BRIDGE_CONNECT_TIMEOUT_MS',
    description: 'Milliseconds the desktop has to complete the RDP connection sequence.',
    default: 15000,
    parse: parse.integer(100, 600000),
  },
  loginCheckMs: {
    env: 'VDIGUARD_BRIDGE_LOGIN_CHECK_MS',
    description: 'Milliseconds after connecting during which a login failure painted by xrdp is watched for.',
    default: 10000,
    parse: parse.integer(0, 600000),
  },
  frameIntervalMs: {
    env: 'VDIGUARD_BRIDGE_FRAME_INTERVAL_MS',
    description: 'Milliseconds between frames (40 is 25 frames a second at most).',
    default: 40,
    parse: parse.integer(5, 1000),
  },
  maxLagMs: {
    env: 'VDIGUARD_BRIDGE_MAX_LAG_MS',
    description: 'Frames are held back while the client\'s oldest unacknowledged frame is older than this (milliseconds).',
    default: 1000,
    parse: parse.integer(10, 600000),
  },
  ackTimeoutMs: {
    env: 'VDIGUARD_BRIDGE_ACK_TIMEOUT_MS',
    description: 'A client that acknowledges no frame for this long (milliseconds) is disconnected with CLIENT_TIMEOUT.',
    default: 15000,
    parse: parse.integer(100, 600000),
  },
  keepaliveMs: {
    env: 'VDIGUARD_BRIDGE_KEEPALIVE_MS',
    description: 'A sync is sent at least this often (milliseconds) even on a still screen.',
    default: 5000,
    parse: parse.integer(50, 60000),
  },
  quality: {
    env: 'VDIGUARD_BRIDGE_IMAGE_QUALITY',
    description: 'JPEG/WebP quality (1-100) for large photographic regions; text-like regions are PNG.',
    default: 80,
    parse: parse.integer(1, 100),
  },
  lossyMinArea: {
    env: 'VDIGUARD_BRIDGE_LOSSY_MIN_AREA',
    description: 'Regions smaller than this many pixels are always sent as PNG.',
    default: 16384,
    parse: parse.integer(0, 100000000),
  },
  shutdownGraceSeconds: {
    env: 'VDIGUARD_BRIDGE_SHUTDOWN_GRACE_SECONDS',
    description:
      "Seconds a stopping bridge lets its live connections run (it accepts no new ones, so the Service sends them to another replica); those still open then end with SERVER_BUSY and the agent's page reconnects. Keep it a few seconds below the pod's terminationGracePeriodSeconds (the chart does).",
    default: 25,
    parse: parse.integer(0, 3600),
  },
  logLevel: {
    env: 'VDIGUARD_BRIDGE_LOG_LEVEL',
    description: 'Log level on stderr.',
    default: 'info' as LogLevel,
    parse: parse.oneOf(...LOG_LEVELS),
  },
};

export type BridgeSettingsSpec = typeof BRIDGE_SETTINGS;
