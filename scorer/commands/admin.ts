/**
 * `vdiguard enroll` and `vdiguard profile ...`: profile administration through the running
 * scorer's API (the embedded store belongs to the scorer process, so the CLI never opens it).
 */
import type { ClientWritableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import {
  profileStateToJSON,
  type DeleteProfileRequest,
  type DeleteProfileResponse,
  type GetProfileRequest,
  type GetProfileResponse,
  type ListProfilesRequest,
  type ListProfilesResponse,
  type ResetProfileRequest,
  type ResetProfileResponse,
  type EnrollRequest,
  type EnrollResponse,
  type ProfileStatus,
} from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { loadScorerSettings } from '../config.js';
import { resolveAdminToken } from '../service/credentials.js';
import { readRecording } from '../recording/reader.js';
import { adminClient, bearerMetadata, type ScorerClientOptions } from '../client.js';

export interface AdminOptions extends ScorerClientOptions {
  /** File holding the admin token; default from the environment or the data directory. */
  readonly adminTokenFile?: string;
}

/** The admin token for a command: VDIGUARD_ADMIN_TOKEN, or its file (never created by a client). */
export function adminToken(o: AdminOptions): string {
  const settings = loadScorerSettings(process.env, o.adminTokenFile ? { adminTokenFile: o.adminTokenFile } : {});
  return resolveAdminToken(settings, false);
}

function failure(o: AdminOptions, err: ServiceError): VdiguardError {
  return new VdiguardError('unavailable', `scorer at ${o.address}: ${err.details || err.message}`);
}

export async function enroll(o: AdminOptions & { agent: string; file: string }): Promise<EnrollResponse> {
  const metadata = bearerMetadata(adminToken(o));
  const recording = await readRecording(o.file);
  const client = adminClient(o);
  try {
    return await new Promise<EnrollResponse>((resolve, reject) => {
      const call: ClientWritableStream<EnrollRequest> = client.enroll(metadata, (err, res) => (err ? reject(failure(o, err)) : resolve(res)));
      call.on('error', () => undefined);
      void (async () => {
        call.write({ kind: { $case: 'start', value: { agentId: o.agent, source: o.file } } });
        let seq = 0;
        for await (const events of recording.batches) call.write({ kind: { $case: 'events', value: { seq: ++seq, events } } });
        call.end();
      })().catch((err) => {
        call.cancel();
        reject(err);
      });
    });
  } finally {
    client.close();
  }
}

/** The unary admin calls, by method name: [request, response]. */
interface AdminCalls {
  getProfile: [GetProfileRequest, GetProfileResponse];
  listProfiles: [ListProfilesRequest, ListProfilesResponse];
  resetProfile: [ResetProfileRequest, ResetProfileResponse];
  deleteProfile: [DeleteProfileRequest, DeleteProfileResponse];
}

export async function adminCall<K extends keyof AdminCalls>(o: AdminOptions, method: K, req: AdminCalls[K][0]): Promise<AdminCalls[K][1]> {
  const metadata = bearerMetadata(adminToken(o));
  const client = adminClient(o);
  const call = client[method] as unknown as (r: AdminCalls[K][0], m: Metadata, cb: (err: ServiceError | null, res: AdminCalls[K][1]) => void) => void;
  try {
    return await new Promise<AdminCalls[K][1]>((resolve, reject) =>
      call.call(client, req, metadata, (err, res) => (err ? reject(failure(o, err)) : resolve(res))),
    );
  } finally {
    client.close();
  }
}

export function formatStatus(p: ProfileStatus): string {
  const state = profileStateToJSON(p.state).replace('PROFILE_STATE_', '').toLowerCase();
  return `${p.agentId}: ${state}, version ${p.version}, ${p.keystrokesEnrolled} keystrokes and ${p.mouseActionsEnrolled} mouse actions enrolled` +
    (state === 'mature' ? '' : ` (needs ${p.keystrokesRequired} more keystrokes or ${p.mouseActionsRequired} more mouse actions)`);
}
