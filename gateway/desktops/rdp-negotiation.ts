/**
 * The first exchange of an RDP connection ([MS-RDPBCGR] 2.2.1.1 and 2.2.1.2), as a pure codec: the
 * X.224 Connection Request that asks for TLS, and the reading of the Connection Confirm that says
 * which security protocol the desktop chose. No sockets here; gateway/desktops/check.ts owns them.
 */

/** requestedProtocols / selectedProtocol bits ([MS-RDPBCGR] 2.2.1.1.1). */
export const PROTOCOL_RDP = 0x0;
export const PROTOCOL_SSL = 0x1;
export const PROTOCOL_HYBRID = 0x2;
export const PROTOCOL_HYBRID_EX = 0x8;

const TPKT_VERSION = 3;
const X224_CONNECTION_REQUEST = 0xe0;
const X224_CONNECTION_CONFIRM = 0xd0;
const TYPE_RDP_NEG_RSP = 0x02;
const TYPE_RDP_NEG_FAILURE = 0x03;
/** A Connection Confirm is small: TPKT (4) + X.224 (7) + negotiation (8). Anything far larger is not one. */
export const MAX_CONFIRM_LENGTH = 64;

/** What a failure code of RDP_NEG_FAILURE ([MS-RDPBCGR] 2.2.1.2.2) means for the admin. */
const FAILURES: Record<number, string> = {
  0x1: 'the desktop requires standard RDP security, without TLS (SSL_REQUIRED_BY_SERVER)',
  0x2: 'the desktop does not allow TLS (SSL_NOT_ALLOWED_BY_SERVER)',
  0x3: 'the desktop has no certificate for TLS (SSL_CERT_NOT_ON_SERVER)',
  0x4: 'the desktop rejected the request as inconsistent (INCONSISTENT_FLAGS)',
  0x5: 'the desktop requires NLA (HYBRID_REQUIRED_BY_SERVER)',
  0x6: 'the desktop requires TLS with user authentication (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER)',
};

/** The X.224 Connection Request with an RDP_NEG_REQ for `protocols` (TLS and NLA by default: both start with a TLS handshake). */
export function connectionRequest(protocols = PROTOCOL_SSL | PROTOCOL_HYBRID): Buffer {
  const b = Buffer.alloc(19);
  b.writeUInt8(TPKT_VERSION, 0);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt8(b.length - 5, 4); // X.224 length indicator: the bytes after itself
  b.writeUInt8(X224_CONNECTION_REQUEST, 5);
  // DST-REF, SRC-REF and class 0 stay zero.
  b.writeUInt8(0x01, 11); // TYPE_RDP_NEG_REQ
  b.writeUInt16LE(8, 13);
  b.writeUInt32LE(protocols, 15);
  return b;
}

export type ConfirmResult =
  /** More bytes are needed. */
  | { readonly kind: 'incomplete' }
  /** The desktop chose `protocol`; TLS follows unless it is PROTOCOL_RDP. */
  | { readonly kind: 'selected'; readonly protocol: number }
  /** The desktop refused the request, or the bytes are not an RDP answer: `reason` says which. */
  | { readonly kind: 'failed'; readonly reason: string; readonly notRdp: boolean };

/** Reads the Connection Confirm from the bytes received so far. */
export function parseConnectionConfirm(data: Buffer): ConfirmResult {
  const notRdp = (why: string): ConfirmResult => ({ kind: 'failed', notRdp: true, reason: `the service does not speak RDP (${why})` });
  if (data.length >= 1 && data[0] !== TPKT_VERSION) return notRdp(`its first byte is 0x${data[0]!.toString(16).padStart(2, '0')}, not a TPKT header`);
  if (data.length < 4) return { kind: 'incomplete' };
  const length = data.readUInt16BE(2);
  if (length < 11 || length > MAX_CONFIRM_LENGTH) return notRdp(`a TPKT length of ${length} is not a Connection Confirm`);
  if (data.length < length) return { kind: 'incomplete' };
  if (data[5] !== X224_CONNECTION_CONFIRM) return notRdp(`X.224 code 0x${data[5]!.toString(16)} where a Connection Confirm (0xd0) belongs`);
  if (length < 19) return { kind: 'selected', protocol: PROTOCOL_RDP }; // no negotiation response: standard RDP security
  const type = data[11];
  const value = data.readUInt32LE(15);
  if (type === TYPE_RDP_NEG_RSP) return { kind: 'selected', protocol: value };
  if (type === TYPE_RDP_NEG_FAILURE) return { kind: 'failed', notRdp: false, reason: FAILURES[value] ?? `the desktop refused the security negotiation (failure code ${value})` };
  return notRdp(`negotiation type 0x${type!.toString(16)} is neither a response nor a failure`);
}
