/**
 * Every setting of the gateway, declared once. `vdiguard gateway` flags override the environment.
 * Settings the gateway shares with the scorer (DATABASE_URL, VDIGUARD_DATA_DIR, VDIGUARD_ADMIN_TOKEN, VDIGUARD_GATEWAY_TOKEN,
 * VDIGUARD_LOG_LEVEL) are declared in scorer/config.ts and read from there.
 */
import { formatHostPort, loadSettings, parse, parseHostPort, type Setting, type Settings } from '../lib/config.js';
import { parseAllowedOrigins } from './http/origin.js';
import { parseTrustedProxies } from './http/proxies.js';
import { formatRate, parseRate, type Rate, type ThrottlePolicy } from './auth/throttle.js';
import { CLIPBOARD_POLICIES, type ClipboardPolicy } from './tap/paste.js';

const optional = <T>(s: Setting<T>): Setting<T> => s;

export const MIRROR_POLICIES = ['fail-closed', 'fail-open'] as const;
export type MirrorPolicy = (typeof MIRROR_POLICIES)[number];
export const ENFORCEMENT_MODES = ['enforce', 'monitor'] as const;
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];
export const AFTER_MISMATCH = ['lock', 'probation'] as const;
export type AfterMismatch = (typeof AFTER_MISMATCH)[number];

export const GATEWAY_SETTINGS = {
  listen: {
    env: 'VDIGUARD_GATEWAY_LISTEN',
    description: 'Address of the HTTP(S) server: agent page, login and admin APIs, WebSocket tunnel (host:port).',
    default: parseHostPort('127.0.0.1:8080'),
    parse: parse.hostPort,
    format: formatHostPort,
  },
  allowPlaintext: {
    env: 'VDIGUARD_GATEWAY_ALLOW_PLAINTEXT',
    description: 'Serve plain HTTP on an address other machines can reach. Only behind a TLS-terminating proxy.',
    default: false,
    parse: parse.boolean,
  },
  tlsCert: optional({
    env: 'VDIGUARD_GATEWAY_TLS_CERT',
    description: "File with the gateway's PEM certificate chain; with a key, the gateway serves HTTPS.",
    parse: parse.string,
  }),
  tlsKey: optional({
    env: 'VDIGUARD_GATEWAY_TLS_KEY',
    description: "File with the gateway's PEM private key.",
    parse: parse.string,
  }),
  trustedProxies: optional({
    env: 'VDIGUARD_GATEWAY_TRUSTED_PROXIES',
    description: "Proxies in front of the gateway, by address or CIDR (`10.0.0.0/8,192.0.2.7,fd00::/8`): X-Forwarded-For is believed only from them, read from the right past trusted hops, for the client's address (login rate limits, audit). Unset: the socket's peer is the client. Trusting a proxy does not allow plain HTTP.",
    parse: parseTrustedProxies,
    format: (p) => p.text,
  }),
  allowedOrigins: optional({
    env: 'VDIGUARD_GATEWAY_ALLOWED_ORIGINS',
    description: "Origins besides the gateway's own (the Host a request was sent to) whose pages may open the tunnel and send API requests (`https://vdi.example.com,...`); for a proxy that rewrites Host. Browser requests from any other origin are refused with 403.",
    parse: parseAllowedOrigins,
    format: (o) => o.join(','),
  }),
  guacd: {
    env: 'VDIGUARD_GUACD',
    description: 'Address of guacd or the built-in bridge (host:port).',
    default: parseHostPort('127.0.0.1:4822'),
    parse: parse.hostPort,
    format: formatHostPort,
  },
  bridge: {
    env: 'VDIGUARD_GATEWAY_BRIDGE',
    description: '`builtin` starts the built-in RDP bridge (`vdiguard bridge`, its own process) on the guacd address; `off` expects guacd or a bridge already running there.',
    default: 'builtin' as 'builtin' | 'off',
    parse: parse.oneOf('builtin', 'off'),
  },
  scorer: optional({
    env: 'VDIGUARD_GATEWAY_SCORER',
    description: 'Address of a running scorer (host:port); unset runs the scorer inside the gateway on the same store.',
    parse: parse.string,
  }),
  scorerTlsCa: optional({
    env: 'VDIGUARD_GATEWAY_SCORER_TLS_CA',
    description: "PEM CA of the scorer's certificate (enables TLS to the scorer).",
    parse: parse.string,
  }),
  scorerTlsCert: optional({
    env: 'VDIGUARD_GATEWAY_SCORER_TLS_CERT',
    description: "PEM client certificate for mTLS to the scorer.",
    parse: parse.string,
  }),
  scorerTlsKey: optional({
    env: 'VDIGUARD_GATEWAY_SCORER_TLS_KEY',
    description: 'PEM client key for mTLS to the scorer.',
    parse: parse.string,
  }),
  secretKey: optional({
    env: 'VDIGUARD_GATEWAY_SECRET_KEY',
    description: 'Base64 of 32 random bytes: seals tickets, TOTP secrets and desktop credentials. Unset: read from VDIGUARD_GATEWAY_SECRET_KEY_FILE, or generated there.',
    parse: parseKey,
    secret: true,
  }),
  secretKeyFile: optional({
    env: 'VDIGUARD_GATEWAY_SECRET_KEY_FILE',
    description: 'File holding the sealing key; default <data dir>/gateway-key, created (mode 0600) when first needed.',
    parse: parse.string,
  }),
  ticketSeconds: {
    env: 'VDIGUARD_TICKET_SECONDS',
    description: 'Seconds within which a connection ticket must be opened; each ticket opens one connection.',
    default: 60,
    parse: parse.integer(5, 60),
  },
  totpSkewSteps: {
    env: 'VDIGUARD_TOTP_SKEW_STEPS',
    description: 'TOTP time steps (30 s) accepted either side of the current one, for clock skew.',
    default: 1,
    parse: parse.integer(0, 2),
  },
  totpIssuer: {
    env: 'VDIGUARD_TOTP_ISSUER',
    description: 'Issuer shown in authenticator apps.',
    default: 'vdiguard',
    parse: parse.string,
  },
  firstAdmin: {
    env: 'VDIGUARD_FIRST_ADMIN',
    description: 'Name of the admin created when the gateway starts with no admin at all; its password, TOTP provisioning URI and QR code are printed once to stderr.',
    default: 'admin',
    parse: parse.string,
  },
  firstAdminPassword: optional({
    env: 'VDIGUARD_FIRST_ADMIN_PASSWORD',
    description: "The first admin's password (8 to 1024 characters), never printed. Unset: read from VDIGUARD_FIRST_ADMIN_PASSWORD_FILE, or generated and printed once.",
    parse: parse.string,
    secret: true,
  }),
  firstAdminPasswordFile: optional({
    env: 'VDIGUARD_FIRST_ADMIN_PASSWORD_FILE',
    description: "File holding the first admin's password (a mounted secret); read only when the first admin is created.",
    parse: parse.string,
  }),
  loginLimitPerAgentAddress: {
    env: 'VDIGUARD_LOGIN_LIMIT_PER_AGENT_ADDRESS',
    description: 'Login attempts and challenge codes one client address gets for one agent: `<at once>+<per hour>/h`. Counted before the password is checked; a success there gives them all back.',
    default: { burst: 5, perHour: 4 } as Rate,
    parse: parseRate,
    format: formatRate,
  },
  loginLimitPerAgent: {
    env: 'VDIGUARD_LOGIN_LIMIT_PER_AGENT',
    description: 'Failed attempts for one agent from all the addresses it has not logged in from in 30 days, together (`<at once>+<per hour>/h`); addresses it logged in from are not held by it.',
    default: { burst: 10, perHour: 12 } as Rate,
    parse: parseRate,
    format: formatRate,
  },
  loginLimitPerAddress: {
    env: 'VDIGUARD_LOGIN_LIMIT_PER_ADDRESS',
    description: 'Failed attempts from one client address (an IPv6 /64) for all agents (`<at once>+<per hour>/h`); whole offices share one NAT address, so keep it generous.',
    default: { burst: 100, perHour: 600 } as Rate,
    parse: parseRate,
    format: formatRate,
  },
  enforcement: {
    env: 'VDIGUARD_ENFORCEMENT',
    description: '`enforce` acts on verdicts (challenge, terminate); `monitor` records and alerts but never holds or drops a session.',
    default: 'enforce' as EnforcementMode,
    parse: parse.oneOf(...ENFORCEMENT_MODES),
  },
  mirrorPolicy: {
    env: 'VDIGUARD_MIRROR_POLICY',
    description: '`fail-closed` ends sessions the scorer cannot follow for the grace period; `fail-open` keeps them, alerts and records it.',
    default: 'fail-closed' as MirrorPolicy,
    parse: parse.oneOf(...MIRROR_POLICIES),
  },
  mirrorGraceSeconds: {
    env: 'VDIGUARD_MIRROR_GRACE_SECONDS',
    description: 'How long a session may go unscored (scorer down or its buffer full) before the mirror policy applies.',
    default: 15,
    parse: parse.number(0.1, 3600),
  },
  mirrorBatchMs: {
    env: 'VDIGUARD_MIRROR_BATCH_MS',
    description: 'Longest time an input event waits in the mirror before its batch is sent to the scorer, ms.',
    default: 100,
    parse: parse.integer(1, 10_000),
  },
  mirrorBatchEvents: {
    env: 'VDIGUARD_MIRROR_BATCH_EVENTS',
    description: 'Most events in one batch to the scorer.',
    default: 256,
    parse: parse.integer(1, 5000),
  },
  mirrorBufferEvents: {
    env: 'VDIGUARD_MIRROR_BUFFER_EVENTS',
    description: "Events a session's mirror holds while the scorer is slow or away; beyond it input is refused: kept from the desktop (fail-closed) or let through unscored (fail-open), recorded, and the time counts as unscored.",
    default: 20_000,
    parse: parse.integer(100, 1_000_000),
  },
  reconnectGraceSeconds: {
    env: 'VDIGUARD_RECONNECT_GRACE_SECONDS',
    description: "How long a desktop session whose connection dropped waits for its agent to reconnect to the same desktop; a reconnect in time (under any login of the agent) continues the session, its trust and a pending challenge. 0: a dropped connection ends the session.",
    default: 300,
    parse: parse.integer(0, 86_400),
  },
  trustCarryHours: {
    env: 'VDIGUARD_TRUST_CARRY_HOURS',
    description: "An agent's new session starts at the trust their last one ended on, if it ended within this many hours (however it ended: a closed tab, a protocol error, a sign-out), so ending a session is no way back to trust 1. An admin's unlock starts afresh. 0: every session starts at 1.",
    default: 12,
    parse: parse.integer(0, 720),
  },
  sessionsPerAgent: {
    env: 'VDIGUARD_SESSIONS_PER_AGENT',
    description: "Desktop sessions one agent may have at once. A new connection to a desktop the agent already has a session on continues that session (its trust, a pending challenge) and closes the older connection; a connection to another desktop beyond the limit is refused.",
    default: 1,
    parse: parse.integer(1, 20),
  },
  historyRetentionDays: {
    env: 'VDIGUARD_HISTORY_RETENTION_DAYS',
    description: "Days the gateway keeps ended sessions and decisions, removed agents' included; older ones are deleted by its clean-up, once a minute. 0: kept for ever.",
    default: 365,
    parse: parse.integer(0, 36_500),
  },
  afterMismatch: {
    env: 'VDIGUARD_AFTER_MISMATCH',
    description: "After a session is terminated for a mismatch or its MFA challenge fails: `lock` refuses the agent until an admin unlocks them (`vdiguard agent unlock`); `probation` lets them log in, but each session starts challenged, at the trust the last one ended on, until an admin lifts it.",
    default: 'lock' as AfterMismatch,
    parse: parse.oneOf(...AFTER_MISMATCH),
  },
  clipboard: {
    env: 'VDIGUARD_CLIPBOARD',
    description: "Which way the agent's clipboard may cross: `both`; `to-browser` (copy from the desktop only); `off`. A paste reaches the desktop as text, without keystrokes: it is not scored and never logged; each is text/plain and at most 256 KiB. The built-in bridge carries no clipboard (guacd does).",
    default: 'both' as ClipboardPolicy,
    parse: parse.oneOf(...CLIPBOARD_POLICIES),
  },
  challengeSeconds: {
    env: 'VDIGUARD_CHALLENGE_SECONDS',
    description: 'Time an agent has to answer an MFA challenge before the session ends.',
    default: 120,
    parse: parse.integer(10, 3600),
  },
  idleSeconds: {
    env: 'VDIGUARD_TUNNEL_IDLE_SECONDS',
    description: 'A tunnel whose browser sends nothing for this long is closed.',
    default: 30,
    parse: parse.integer(5, 3600),
  },
} as const;

export type GatewaySettings = Settings<typeof GATEWAY_SETTINGS>;

export function loadGatewaySettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof typeof GATEWAY_SETTINGS, string>> = {},
): GatewaySettings {
  return loadSettings(GATEWAY_SETTINGS, env, overrides);
}

function parseKey(raw: string): Buffer {
  const key = Buffer.from(raw.trim(), 'base64');
  if (key.length !== 32) throw new Error('expected base64 of exactly 32 bytes (openssl rand -base64 32)');
  return key;
}
export { parseKey as parseSecretKey };

/** The login throttle's rate per key, from the settings. */
export function loginThrottlePolicy(s: GatewaySettings): ThrottlePolicy {
  return { 'agent-address': s.loginLimitPerAgentAddress, agent: s.loginLimitPerAgent, address: s.loginLimitPerAddress };
}
