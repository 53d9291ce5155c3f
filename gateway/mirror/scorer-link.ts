/**
 * The gateway's connection to the scorer: Session streams for the mirrors, identity confirmations,
 * and profile maturity for the admin page (through ProfileAdminService with the admin token).
 */
import { Metadata } from '@grpc/grpc-js';
import type { ScorerServiceClient, ProfileAdminServiceClient, ProfileStatus } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { adminClient, adminMetadata, scorerClient, type ScorerClientOptions } from '../../scorer/client.js';
import { VdiguardError } from '../../lib/errors.js';
import type { SessionStream } from './mirror.js';

export interface ScorerLink {
  /** A Session stream; `metadata` carries the trace context of the gateway's session. */
  session(metadata?: Metadata): SessionStream;
  confirmIdentity(sessionId: string): Promise<boolean>;
  profiles(): Promise<ProfileStatus[]>;
  close(): void;
}

export function scorerLink(o: ScorerClientOptions, adminToken: string | undefined): ScorerLink {
  const client: ScorerServiceClient = scorerClient(o);
  let admin: ProfileAdminServiceClient | undefined;
  const deadline = (ms: number): Date => new Date(Date.now() + ms);
  return {
    session: (metadata) => client.session(metadata ?? new Metadata()),
    confirmIdentity: (sessionId) =>
      new Promise((resolve, reject) =>
        client.confirmIdentity({ sessionId }, new Metadata(), { deadline: deadline(5000) }, (err, res) => (err ? reject(err) : resolve(res.accepted))),
      ),
    profiles: () => {
      if (!adminToken) return Promise.reject(new Error('no admin token for the scorer'));
      admin ??= adminClient(o);
      const a = admin;
      return new Promise((resolve, reject) =>
        a.listProfiles({}, adminMetadata(adminToken), { deadline: deadline(5000) }, (err, res) =>
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
