/**
 * Guacamole protocol status codes, as sent in `error` and `ack` instructions (guacamole-common-js
 * `Guacamole.Status.Code`, guacd's `guac_protocol_status`). A client shows a message chosen by the
 * code, so pick the most precise one.
 */
export const GuacStatus = {
  /** The operation succeeded. */
  SUCCESS: 0x0000,
  /** The requested operation is unsupported. */
  UNSUPPORTED: 0x0100,
  /** An internal error occurred; the operation could not be performed. */
  SERVER_ERROR: 0x0200,
  /** The server is busy (for example too many connections). */
  SERVER_BUSY: 0x0201,
  /** The upstream server (the remote desktop) is not responding. */
  UPSTREAM_TIMEOUT: 0x0202,
  /** The upstream server returned an error or broke the protocol. */
  UPSTREAM_ERROR: 0x0203,
  /** The requested resource does not exist. */
  RESOURCE_NOT_FOUND: 0x0204,
  /** The requested resource is already in use. */
  RESOURCE_CONFLICT: 0x0205,
  /** The requested resource is closed. */
  RESOURCE_CLOSED: 0x0206,
  /** The upstream server does not appear to exist (unreachable host, refused port). */
  UPSTREAM_NOT_FOUND: 0x0207,
  /** The upstream server refuses service. */
  UPSTREAM_UNAVAILABLE: 0x0208,
  /** The session conflicted with another session. */
  SESSION_CONFLICT: 0x0209,
  /** The session appeared to be inactive. */
  SESSION_TIMEOUT: 0x020a,
  /** The session was forcibly terminated. */
  SESSION_CLOSED: 0x020b,
  /** The client's request was malformed or otherwise invalid. */
  CLIENT_BAD_REQUEST: 0x0300,
  /** Permission was denied: the credentials are missing or wrong. */
  CLIENT_UNAUTHORIZED: 0x0301,
  /** Permission was denied and logging in will not help. */
  CLIENT_FORBIDDEN: 0x0303,
  /** The client took too long to respond. */
  CLIENT_TIMEOUT: 0x0308,
  /** The client sent more data than the protocol allows. */
  CLIENT_OVERRUN: 0x030d,
  /** The client sent data of an unsupported or unexpected type. */
  CLIENT_BAD_TYPE: 0x030f,
  /** The client is already using too many resources. */
  CLIENT_TOO_MANY: 0x031d,
} as const;

export type GuacStatusCode = (typeof GuacStatus)[keyof typeof GuacStatus];

/** The constant's name for a code, for logs and test messages ("CLIENT_OVERRUN"). */
export function guacStatusName(code: number): string {
  for (const [name, value] of Object.entries(GuacStatus)) if (value === code) return name;
  return `0x${code.toString(16).padStart(4, '0')}`;
}
