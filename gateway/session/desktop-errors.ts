/**
 * The desktop could not be reached, or could not be trusted: recognised in the `error` an engine
 * sends (guacd 1.6 or the built-in bridge), so the agent gets a message to act on and the admin the
 * precise cause, instead of "connection lost" and a reconnect loop. Pure: the session acts on it.
 *
 * guacd 1.6 (src/protocols/rdp/error.c, guac_rdp_translate_last_error) turns FreeRDP's connection
 * errors into fixed messages, all but authentication with status UPSTREAM_NOT_FOUND; the bridge's
 * messages are its own (gateway/bridge/rdp.ts). Errors after the desktop was reached (logged off,
 * an admin's disconnect) are not desktop errors and pass through unchanged.
 */
import { GuacStatus } from '../guac/index.js';

/** What the page does with it (contract: retries a few times for `unreachable`, never for `certificate`). */
export type DesktopErrorKind = 'unreachable' | 'certificate' | 'refused' | 'other';

export interface DesktopFailure {
  readonly kind: DesktopErrorKind;
  /** What the agent can do; never internal detail (addresses, fingerprints). */
  readonly message: string;
  /** For the admin, added to the engine's own message: what to check. */
  readonly hint: string;
}

const AGENT_MESSAGES: Record<DesktopErrorKind, string> = {
  unreachable: 'Your desktop cannot be reached at the moment. If this goes on, please contact your IT support.',
  certificate: "Your desktop's security certificate could not be verified, so the connection was stopped to protect you. Please contact your IT support.",
  refused: 'Your desktop refused the connection. Please contact your IT support.',
  other: 'The connection to your desktop failed. Please try again later; if this goes on, contact your IT support.',
};

const HINTS: Record<DesktopErrorKind, string> = {
  unreachable: "check that the desktop runs, its host and port, and that the engine's host can reach it (`vdiguard desktop check host:port`)",
  certificate: 'pin the certificate the desktop presents (`vdiguard desktop check host:port` shows it: compare it with the desktop\'s own), trust its CA, or, for development only, set ignore-cert',
  refused: "check the desktop's security mode (tls / nla), the account and its rights on the desktop",
  other: "check the engine's log for this session and that the desktop speaks RDP on that port",
};

/** Statuses an engine gives a failure to connect; anything else is not this module's business. */
const CONNECT_STATUSES = new Set<number>([
  GuacStatus.UPSTREAM_NOT_FOUND, GuacStatus.UPSTREAM_TIMEOUT, GuacStatus.UPSTREAM_ERROR, GuacStatus.UPSTREAM_UNAVAILABLE,
  GuacStatus.CLIENT_UNAUTHORIZED, GuacStatus.CLIENT_FORBIDDEN, GuacStatus.SERVER_ERROR,
]);

/** The engines' messages, first match wins. guacd's are exact; the bridge's start as written in gateway/bridge/rdp.ts. */
const RULES: readonly (readonly [RegExp, DesktopErrorKind])[] = [
  [/^SSL\/TLS connection failed \(untrusted\/self-signed certificate\?\)$/, 'certificate'],
  [/^(DNS lookup failed|Connection failed \(server unreachable\?\)|Server refused connection \(wrong security type\?\))/, 'unreachable'],
  [/^(Security negotiation failed|Access denied by server|Authentication failure|Server refused connection\.$|Insufficient privileges|Credentials expired)/, 'refused'],
  [/^(the desktop's certificate|the desktop sent no certificate)/, 'certificate'],
  [/^(the desktop refused the connection|the desktop host name could not be resolved|the desktop host is unreachable|the desktop did not answer in time|the desktop did not complete the RDP connection)/, 'unreachable'],
  [/^(the desktop requires NLA|the desktop rejected the TLS security layer|the desktop rejected the login)/, 'refused'],
  [/^(the desktop closed the connection during the RDP|the desktop broke the RDP protocol|TLS failure talking to the desktop)/, 'other'],
];

/** The desktop failure an engine's `error` instruction reports, or undefined when it reports something else. */
export function desktopFailure(message: string, status: number): DesktopFailure | undefined {
  if (!CONNECT_STATUSES.has(status)) return undefined;
  const kind = RULES.find(([pattern]) => pattern.test(message))?.[1];
  return kind && { kind, message: AGENT_MESSAGES[kind], hint: HINTS[kind] };
}
