/**
 * Clients of the scorer's gRPC services, for the gateway and the CLI. TLS when a CA is given, with a
 * client certificate for mTLS when one is given; plaintext otherwise (the server refuses plaintext
 * beyond loopback unless told to).
 */
import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { ProfileAdminServiceClient, ScorerServiceClient } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../lib/errors.js';

export interface ScorerClientOptions {
  /** host:port of the scorer. */
  readonly address: string;
  /** PEM file of the CA that signed the scorer's certificate; enables TLS. */
  readonly tlsCa?: string;
  /** PEM files of this client's certificate and key, for mTLS. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export function channelCredentials(o: ScorerClientOptions): ChannelCredentials {
  if (!o.tlsCa) {
    if (o.tlsCert || o.tlsKey) throw new VdiguardError('invalid-argument', 'a client certificate needs the scorer CA too (--tls-ca)');
    return credentials.createInsecure();
  }
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new VdiguardError('invalid-argument', 'a client certificate needs both its certificate and key files');
  }
  return credentials.createSsl(read(o.tlsCa), o.tlsKey ? read(o.tlsKey) : null, o.tlsCert ? read(o.tlsCert) : null);
}

export function scorerClient(o: ScorerClientOptions): ScorerServiceClient {
  return new ScorerServiceClient(o.address, channelCredentials(o));
}

export function adminClient(o: ScorerClientOptions): ProfileAdminServiceClient {
  return new ProfileAdminServiceClient(o.address, channelCredentials(o));
}

/** `metadata` (new by default) carrying a token as the scorer expects it: `authorization: Bearer <token>`. */
export function bearerMetadata(token: string, metadata = new Metadata()): Metadata {
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new VdiguardError('invalid-argument', `cannot read ${file}: ${(err as Error).message}`);
  }
}
