/**
 * `vdiguard agent ...` and `vdiguard desktop ...`: where a command's changes go. With PostgreSQL,
 * straight into the store (any number of processes share it). With the embedded store, through the
 * admin API of the gateway that owns it when one runs, so the change is the gateway's at once, and
 * straight into the store (claimed for the command's duration) only when no process holds it:
 * two processes on one PGlite directory lose each other's writes (lib/db/owner.ts).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../lib/db/db.js';
import { claimStore, heldBy, storeOwner } from '../../lib/db/owner.js';
import { ensurePrivateDir } from '../../lib/private-dir.js';
import { VdiguardError } from '../../lib/errors.js';
import { loadScorerSettings } from '../../scorer/config.js';
import { resolveAdminToken } from '../../scorer/service/credentials.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { loadGatewaySettings } from '../config.js';
import { SecretBox, resolveSecretKey } from '../auth/secret-box.js';
import { unlockAgent } from '../session/lockout.js';
import { GatewayStore } from '../store/gateway-store.js';
import { AdminActions } from '../admin/actions.js';
import type { Actor } from '../admin/actor.js';
import { Management, type AgentsAndDesktops, type AgentView, type Provisioning } from '../admin/management.js';
import { RemoteManagement } from '../admin/management-client.js';
import { terminalQr } from './qr.js';

/** The person at the terminal, as the audit trail records a CLI change made in the store itself. */
export function cliActor(): Actor {
  return { kind: 'cli', name: `cli:${userInfo().username}`, role: 'admin' };
}

/** Runs `fn` on agents and desktops wherever this command's changes belong (see the file's comment). */
export async function withManagement<T>(command: string, fn: (m: AgentsAndDesktops) => Promise<T>): Promise<T> {
  const gs = loadGatewaySettings();
  const ss = loadScorerSettings();
  if (!ss.databaseUrl) {
    const owner = storeOwner(ss.dataDir);
    if (owner && !owner.adminUrl) {
      throw new VdiguardError('failed-precondition', `${heldBy(owner, ss.dataDir).message}. A gateway that is still starting takes it over in a moment: try again then`);
    }
    if (owner?.adminUrl) {
      let adminToken: string;
      try {
        adminToken = resolveAdminToken(ss, false);
      } catch (err) {
        throw new VdiguardError(
          'unauthenticated',
          `the gateway at ${owner.adminUrl} (pid ${owner.pid}) owns the embedded store in ${ss.dataDir}, so this command goes through its admin API, which needs the admin token: ${(err as Error).message}`,
        );
      }
      const remote = new RemoteManagement({
        url: owner.adminUrl,
        adminToken,
        tlsCert: gs.tlsCert ? readFileSync(gs.tlsCert, 'utf8') : undefined,
        unreachableHint: `it owns the embedded store in ${ss.dataDir} (pid ${owner.pid}), so this command cannot open the store itself: check that the gateway is healthy (curl ${owner.adminUrl}/healthz), or stop it and run the command again`,
      });
      return fn(remote);
    }
    ensurePrivateDir(ss.dataDir);
  }
  return withLocalStore(command, (db, box) => {
    const store = new GatewayStore(db, box);
    const audit = new AuditLog(db);
    const management = new Management(
      {
        store,
        actions: new AdminActions(db),
        issuer: gs.totpIssuer,
        liftLock: (agentId) => unlockAgent((id) => store.unlockAgent(id), (d) => audit.decision(d), agentId, new Date()),
        // No session runs in this process. With PostgreSQL a gateway sees the change at its next
        // login or ticket; its live sessions it ends only when told through its admin API.
        endSessions: () => undefined,
      },
      cliActor(),
    );
    return fn(management);
  });
}

/**
 * Runs `fn` on the store itself: PostgreSQL at any time, the embedded store only when no process
 * holds it (claimed for the command's duration). Refuses, saying what to do, when a gateway or
 * scorer owns the embedded store.
 */
export async function withLocalStore<T>(command: string, fn: (db: Db, box: SecretBox) => Promise<T>, viaGateway?: (adminUrl: string) => string): Promise<T> {
  const gs = loadGatewaySettings();
  const ss = loadScorerSettings();
  if (!ss.databaseUrl) {
    const owner = storeOwner(ss.dataDir);
    if (owner) {
      const held = heldBy(owner, ss.dataDir);
      throw owner.adminUrl && viaGateway ? new VdiguardError('failed-precondition', `${held.message}; or ${viaGateway(owner.adminUrl)}`) : held;
    }
    ensurePrivateDir(ss.dataDir);
  }
  const claim = ss.databaseUrl ? undefined : claimStore(ss.dataDir, command);
  try {
    const db = await openDb({ databaseUrl: ss.databaseUrl, dataDir: join(ss.dataDir, 'store') });
    try {
      return await fn(db, new SecretBox(resolveSecretKey({ ...gs, dataDir: ss.dataDir })));
    } finally {
      await db.close();
    }
  } finally {
    claim?.release();
  }
}

/** `agent list`: one line per agent, with a lock or probation after a security decision. */
export function agentListing(agents: readonly AgentView[]): string {
  const lines = agents.map((a) => {
    const l = a.lock;
    return `${a.agentId}\t${a.status}${l ? `, ${l.kind} since ${new Date(l.lockedAt).toISOString()} (${l.action})` : ''}\t${a.displayName}\tdesktops: ${a.desktops.join(', ') || '-'}`;
  });
  return lines.length ? `${lines.join('\n')}\n` : 'no agents\n';
}

export function provisioning(p: Provisioning): string {
  return `${p.uri}\n\n${terminalQr(p.uri)}\nScan the code with an authenticator app (or enter the secret in the URI by hand).\n`;
}
