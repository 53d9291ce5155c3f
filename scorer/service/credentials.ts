/**
 * The scorer's credentials and who may call what. Profile administration takes the admin token.
 * Scoring streams and identity confirmations are taken only from a gateway: a caller is one when it
 * presents the gateway token (or the admin token, for `vdiguard replay`), or, with mTLS, a client
 * certificate the client CA signed whose name is on VDIGUARD_SCORER_TLS_GATEWAY_NAMES (any name
 * when that list is unset). Without this, anyone reaching the scorer could enrol someone else's
 * behaviour into a profile or confirm an identity no MFA challenge confirmed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { dirname, join } from 'node:path';
import type { Metadata } from '@grpc/grpc-js';
import { VdiguardError } from '../../lib/errors.js';
import { ensurePrivateDir } from '../../lib/private-dir.js';
import { sameSecret } from '../../lib/secrets.js';
import type { ScorerSettings } from '../config.js';

/** Where one kind of token is configured: its setting, its file setting, and its default file name. */
interface TokenSource {
  readonly what: string;
  readonly env: string;
  readonly value: string | undefined;
  readonly file: string;
}

/**
 * A token: from the environment, else from its file, else (with `create`, for the scorer) a new
 * random one written to the file (mode 0600) so that local commands and the gateway can find it.
 */
function resolveToken(t: TokenSource, create: boolean): string {
  if (t.value) return t.value;
  try {
    const token = readFileSync(t.file, 'utf8').trim();
    if (token.length < 24) throw new VdiguardError('invalid-argument', `the ${t.what} in ${t.file} is shorter than 24 characters; replace it or delete it to have a new one generated`);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (!create) {
      throw new VdiguardError('unauthenticated', `no ${t.what}: set ${t.env}, or ${t.env}_FILE (looked in ${t.file}, which the scorer creates on first start)`);
    }
  }
  const token = randomBytes(32).toString('base64url');
  ensurePrivateDir(dirname(t.file));
  writeFileSync(t.file, token + '\n', { mode: 0o600, flag: 'wx' });
  return token;
}

export function resolveAdminToken(s: Pick<ScorerSettings, 'adminToken' | 'adminTokenFile' | 'dataDir'>, create = true): string {
  return resolveToken({ what: 'admin token', env: 'VDIGUARD_ADMIN_TOKEN', value: s.adminToken, file: s.adminTokenFile ?? join(s.dataDir, 'admin-token') }, create);
}

export function resolveGatewayToken(s: Pick<ScorerSettings, 'gatewayToken' | 'gatewayTokenFile' | 'dataDir'>, create = true): string {
  return resolveToken({ what: 'gateway token', env: 'VDIGUARD_GATEWAY_TOKEN', value: s.gatewayToken, file: s.gatewayTokenFile ?? join(s.dataDir, 'gateway-token') }, create);
}

/** The bearer credential of a call's `authorization` metadata, if any. */
export function presentedBearer(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return typeof value === 'string' ? value : undefined;
}

export interface GatewayPolicy {
  readonly gatewayToken: string;
  readonly adminToken: string;
  /** Set when the scorer requires client certificates (mTLS). */
  readonly mtls?: {
    /** Names that identify a gateway's certificate; undefined: any certificate the client CA signed. */
    readonly names?: readonly string[];
  };
}

/** The names a certificate is known by: its subject CN and DNS / URI subject alternative names. */
export function certificateNames(cert: PeerCertificate): string[] {
  const cn = cert.subject?.CN;
  const names = Array.isArray(cn) ? [...cn] : cn ? [cn] : [];
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    const match = /^(DNS|URI):(.+)$/.exec(entry);
    if (match) names.push(match[2] as string);
  }
  return names;
}

const NEEDED =
  'scoring streams and identity confirmations are taken only from a gateway: present the gateway token as "authorization: Bearer <token>" metadata (VDIGUARD_GATEWAY_TOKEN, or the file VDIGUARD_GATEWAY_TOKEN_FILE, default <data dir>/gateway-token, which the scorer creates on first start), or the admin token for vdiguard replay';

/**
 * Throws unless the caller is a gateway (or holds the admin token): UNAUTHENTICATED without a
 * valid credential, PERMISSION_DENIED for a client certificate that is not a gateway's.
 * `peer` is the client certificate the TLS handshake verified against the client CA, if any.
 */
export function authorizeGateway(presented: string | undefined, peer: PeerCertificate | undefined, policy: GatewayPolicy): void {
  // Both comparisons always run, so timing does not tell which token a guess was closer to.
  const gateway = sameSecret(presented, `Bearer ${policy.gatewayToken}`);
  const admin = sameSecret(presented, `Bearer ${policy.adminToken}`);
  if (gateway || admin) return;
  const mtls = peer ? policy.mtls : undefined;
  const names = mtls && peer ? certificateNames(peer) : [];
  if (mtls && (!mtls.names || names.some((n) => mtls.names?.includes(n)))) return;
  if (presented !== undefined) throw new VdiguardError('unauthenticated', `the credential presented is neither the gateway token nor the admin token; ${NEEDED}`);
  if (mtls) {
    throw new VdiguardError(
      'permission-denied',
      `the client certificate (${names.join(', ') || 'no name'}) is not a gateway's: VDIGUARD_SCORER_TLS_GATEWAY_NAMES lists ${mtls.names?.join(', ')}; ${NEEDED}`,
    );
  }
  throw new VdiguardError('unauthenticated', NEEDED);
}
