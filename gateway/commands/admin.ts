/**
 * `vdiguard agent ...` and `vdiguard desktop ...`: administer agents and desktops directly in the
 * store (PostgreSQL, or the embedded store while the gateway is stopped: PGlite allows one process).
 */
import { join } from 'node:path';
import { openDb, type Db } from '../../lib/db/db.js';
import { ensurePrivateDir } from '../../lib/private-dir.js';
import { VdiguardError } from '../../lib/errors.js';
import { loadScorerSettings } from '../../scorer/config.js';
import { loadGatewaySettings } from '../config.js';
import { hashPassword } from '../auth/password.js';
import { SecretBox, resolveSecretKey } from '../auth/secret-box.js';
import { newTotpSecret, otpauthUri } from '../auth/totp.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { unlockAgent } from '../session/lockout.js';
import { GatewayStore, RDP_SECURITY, type AgentLock, type RdpSecurity } from '../store/gateway-store.js';
import { terminalQr } from './qr.js';

export async function withStore<T>(fn: (store: GatewayStore, issuer: string, box: SecretBox) => Promise<T>): Promise<T> {
  const gs = loadGatewaySettings();
  const ss = loadScorerSettings();
  if (!ss.databaseUrl) ensurePrivateDir(ss.dataDir);
  let db: Db;
  try {
    db = await openDb({ databaseUrl: ss.databaseUrl, dataDir: join(ss.dataDir, 'store') });
  } catch (err) {
    throw new VdiguardError('unavailable', `${(err as Error).message} (with the embedded store, stop the gateway first, or use DATABASE_URL)`);
  }
  try {
    const box = new SecretBox(resolveSecretKey({ ...gs, dataDir: ss.dataDir }));
    return await fn(new GatewayStore(db, box), gs.totpIssuer, box);
  } finally {
    await db.close();
  }
}

/** Adds an agent; returns what to show: the provisioning URI and its QR code. */
export async function addAgent(store: GatewayStore, issuer: string, a: { agentId: string; displayName: string; password: string }): Promise<{ uri: string; secret: string }> {
  const secret = newTotpSecret();
  let passwordHash: string;
  try {
    passwordHash = await hashPassword(a.password);
  } catch (err) {
    throw new VdiguardError('invalid-argument', (err as Error).message);
  }
  await store.addAgent({ agentId: a.agentId, displayName: a.displayName, passwordHash, totpSecret: secret });
  return { uri: otpauthUri(issuer, a.agentId, secret), secret };
}

export async function resetMfa(store: GatewayStore, issuer: string, agentId: string): Promise<{ uri: string; secret: string }> {
  const secret = newTotpSecret();
  await store.setTotpSecret(agentId, secret);
  return { uri: otpauthUri(issuer, agentId, secret), secret };
}

/** `agent list`: one line per agent, with a lock or probation after a security decision. */
export async function agentListing(store: GatewayStore): Promise<string> {
  const [agents, locks] = await Promise.all([store.listAgents(), store.listLocks()]);
  const lockOf = new Map(locks.map((l) => [l.agentId, l]));
  const lines = agents.map((a) => {
    const l = lockOf.get(a.agentId);
    return `${a.agentId}\t${a.status}${l ? `, ${l.kind} since ${l.lockedAt.toISOString()} (${l.action})` : ''}\t${a.displayName}`;
  });
  return lines.length ? `${lines.join('\n')}\n` : 'no agents\n';
}

/** `agent unlock`: lifts the lock (or probation) in the store and records it, with source admin. */
export function unlock(store: GatewayStore, agentId: string): Promise<AgentLock> {
  const audit = new AuditLog(store.db);
  return unlockAgent((id) => store.unlockAgent(id), (d) => audit.decision(d), agentId, new Date());
}

export function parseSecurity(raw: string): RdpSecurity {
  if (!(RDP_SECURITY as readonly string[]).includes(raw)) throw new VdiguardError('invalid-argument', `--security must be one of ${RDP_SECURITY.join(', ')}`);
  return raw as RdpSecurity;
}

export function provisioning(uri: string): string {
  return `${uri}\n\n${terminalQr(uri)}\nScan the code with an authenticator app (or enter the secret in the URI by hand).\n`;
}
