/**
 * The gateway's connection to the scorer: Session streams for the mirrors and identity
 * confirmations (with the gateway token, unless a client certificate identifies the gateway), and
 * profile maturity for the admin page (through ProfileAdminService with the admin token).
 */
import { Metadata } from '@grpc/grpc-js';
import type { ScorerServiceClient, ProfileAdminServiceClient, ProfileStatus } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { adminClient, bearerMetadata, scorerClient, type ScorerClientOptions } from '../../scorer/client.js';
import { VdiguardError } from '../../lib/errors.js';
import type { SessionStream } from './mirror.js';

export interface ScorerLink {
  /** A Session stream; `metadata` carries the trace context of the gateway's session. */
  session(metadata?: Metadata): SessionStream;
  confirmIdentity(sessionId: string): Promise<boolean>;
  profiles(): Promise<ProfileStatus[]>;
  close(): void;
}

export interface ScorerCredentials {
  /** What the scorer takes Session and ConfirmIdentity from; absent when mTLS identifies the gateway. */
  readonly gatewayToken?: string;
  /** For the admin page's profile list. */
  readonly adminToken?: string;
}

export function scorerLink(o: ScorerClientOptions, tokens: ScorerCredentials): ScorerLink {
  const client: ScorerServiceClient = scorerClient(o);
  let admin: ProfileAdminServiceClient | undefined;
  const { gatewayToken, adminToken } = tokens;
  const deadline = (ms: number): Date => new Date(Date.now() + ms);
  const asGateway = (metadata = new Metadata()): Metadata => (gatewayToken ? bearerMetadata(gatewayToken, metadata) : metadata);
  return {
    session: (metadata) => client.session(asGateway(metadata)),
    confirmIdentity: (sessionId) =>
      new Promise((resolve, reject) =>
        client.confirmIdentity({ sessionId }, asGateway(), { deadline: deadline(5000) }, (err, res) => (err ? reject(err) : resolve(res.accepted))),
      ),
    profiles: () => {
      if (!adminToken) return Promise.reject(new Error('no admin token for the scorer'));
      admin ??= adminClient(o);
      const a = admin;
      return new Promise((resolve, reject) =>
        a.listProfiles({}, bearerMetadata(adminToken), { deadline: deadline(5000) }, (err, res) =>
          err ? reject(new VdiguardError('unavailable', `the scorer did not list profiles: ${err.details || err.message}`)) : resolve(res.profiles),
        ),
      );
    },
    close: () => {
      client.close();
      admin?.close();
    },
  };
}
