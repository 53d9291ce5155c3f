/**
 * Agents and desktops administration: the one code path behind the admin API, the admin page and
 * the CLI. Each change checks the actor may manage, validates what it was given (an error names
 * the field and what to fix), changes the store and records who did it (AdminActions). Secrets
 * (passwords, TOTP secrets, desktop credentials) never reach the audit trail.
 *
 * Live sessions: an agent disabled or removed, or unassigned from a desktop, and a desktop removed,
 * end their sessions on this gateway through `endSessions`. A desktop whose settings change keeps
 * its running sessions as they are; new sessions use the new settings.
 */
import { VdiguardError } from '../../lib/errors.js';
import { hashPassword } from '../auth/password.js';
import { newTotpSecret, otpauthUri } from '../auth/totp.js';
import { guacdCertFingerprints, normalizeFingerprint, parseCertFingerprints } from '../guac/fingerprints.js';
import { checkDesktop, type DesktopCheck } from '../desktops/check.js';
import { checkId, RDP_SECURITY, type Agent, type AgentLock, type AgentStatus, type Desktop, type GatewayStore, type RdpSecurity } from '../store/gateway-store.js';
import { svgQr } from '../commands/qr.js';
import type { AdminActions } from './actions.js';
import { requireManage, type Actor } from './actor.js';

/** What an authenticator app needs, shown once: it cannot be retrieved again. */
export interface Provisioning {
  readonly uri: string;
  readonly secret: string;
  readonly qrSvg: string;
}

export interface AgentView extends Agent {
  /** Locked or on probation after a security decision. */
  readonly lock?: AgentLock;
  /** Desktops the agent may use. */
  readonly desktops: readonly string[];
}

export interface UnlockResult {
  readonly unlocked: string;
  /** What was lifted: `locked` or `probation` (a security decision's), `login-throttle`. */
  readonly lifted: readonly string[];
}

/** A desktop check; for a stored desktop also whether its certificate is pinned, and trusted without a CA (pinned, or ignoreCert). */
export interface CheckResult extends DesktopCheck {
  readonly pinned?: boolean;
  readonly trusted?: boolean;
}

/** Which live sessions to end: an agent's, a desktop's, or one agent's on one desktop. */
export interface SessionMatch {
  readonly agentId?: string;
  readonly desktopId?: string;
}

/** Fields of a request body as they arrive (JSON, or the CLI's options mapped to the same names). */
export type Fields = Readonly<Record<string, unknown>>;

/** Administration as the API, the page and the CLI see it; the CLI may reach it over HTTP. */
export interface AgentsAndDesktops {
  listAgents(): Promise<AgentView[]>;
  addAgent(f: Fields): Promise<{ agent: AgentView; totp: Provisioning }>;
  updateAgent(agentId: string, f: Fields): Promise<{ agent: AgentView }>;
  resetMfa(agentId: string): Promise<{ totp: Provisioning }>;
  unlockAgent(agentId: string): Promise<UnlockResult>;
  removeAgent(agentId: string): Promise<{ removed: string }>;
  listDesktops(): Promise<Desktop[]>;
  addDesktop(f: Fields): Promise<{ desktop: Desktop }>;
  updateDesktop(desktopId: string, f: Fields): Promise<{ desktop: Desktop }>;
  removeDesktop(desktopId: string): Promise<{ removed: string }>;
  assign(desktopId: string, agentId: string): Promise<{ desktop: Desktop }>;
  unassign(desktopId: string, agentId: string): Promise<{ desktop: Desktop }>;
  /** Connects to a stored desktop and reads its certificate. */
  checkDesktop(desktopId: string): Promise<CheckResult>;
  /** Connects to a desktop not added yet ({host, port}). */
  checkTarget(f: Fields): Promise<CheckResult>;
}

export interface ManagementDeps {
  readonly store: GatewayStore;
  readonly actions: AdminActions;
  /** The TOTP issuer shown in authenticator apps (VDIGUARD_TOTP_ISSUER). */
  readonly issuer: string;
  /** Lifts a lock or probation after a security decision and records the decision (lockout.ts); undefined when there was none. */
  readonly liftLock: (agentId: string) => Promise<AgentLock | undefined>;
  /** Ends the matching live sessions with the reason (the gateway's; nothing for the CLI on a store no gateway holds). */
  readonly endSessions: (match: SessionMatch, reason: string) => void;
  /** The gateway's wall clock, ms (the login throttle counts on it). */
  readonly now?: () => number;
  readonly hash?: (password: string) => Promise<string>;
  /** gateway/desktops/check.ts by default. */
  readonly check?: (o: { host: string; port: number }) => Promise<DesktopCheck>;
}

const STATUSES: readonly AgentStatus[] = ['active', 'disabled'];
/** A host name or an IP address as guacd and the bridge take it (no brackets, no port, no spaces). */
const HOST = /^[A-Za-z0-9._:-]{1,253}$/;

export class Management implements AgentsAndDesktops {
  constructor(
    private readonly d: ManagementDeps,
    private readonly actor: Actor,
  ) {}

  async listAgents(): Promise<AgentView[]> {
    const [agents, locks, desktops] = await Promise.all([this.d.store.listAgents(), this.d.store.listLocks(), this.d.store.listDesktops()]);
    const lockOf = new Map(locks.map((l) => [l.agentId, l]));
    return agents.map((a) => this.viewOf(a, lockOf.get(a.agentId), desktops));
  }

  async addAgent(f: Fields): Promise<{ agent: AgentView; totp: Provisioning }> {
    requireManage(this.actor);
    const agentId = id(f, 'id', 'agent');
    const displayName = text(f, 'name', 200) ?? agentId;
    const passwordHash = await this.hashOf(required(f, 'password', 'the agent\'s initial password'));
    const secret = newTotpSecret();
    await this.d.store.addAgent({ agentId, displayName, passwordHash, totpSecret: secret });
    await this.record('agent.add', agentId, { name: displayName });
    return { agent: await this.agentView(agentId), totp: this.provisioning(agentId, secret) };
  }

  async updateAgent(agentId: string, f: Fields): Promise<{ agent: AgentView }> {
    requireManage(this.actor);
    const displayName = text(f, 'name', 200);
    const status = oneOf(f, 'status', STATUSES);
    const password = text(f, 'password', 1024);
    if (displayName === undefined && status === undefined && password === undefined) {
      throw invalid('name', 'nothing to change: give name, status (active or disabled) or password');
    }
    const passwordHash = password === undefined ? undefined : await this.hashOf(password);
    const agent = await this.d.store.updateAgent(agentId, { displayName, status, passwordHash });
    await this.record('agent.update', agentId, { ...(displayName === undefined ? {} : { name: displayName }), ...(status ? { status } : {}), ...(password === undefined ? {} : { password: 'changed' }) });
    if (status === 'disabled') this.d.endSessions({ agentId }, `the agent was disabled by ${this.actor.name}`);
    return { agent: await this.agentView(agent.agentId) };
  }

  async resetMfa(agentId: string): Promise<{ totp: Provisioning }> {
    requireManage(this.actor);
    const secret = newTotpSecret();
    await this.d.store.setTotpSecret(agentId, secret);
    await this.record('agent.reset-mfa', agentId);
    return { totp: this.provisioning(agentId, secret) };
  }

  /** Lifts the lock or probation after a security decision, and the login throttle's lockout. */
  async unlockAgent(agentId: string): Promise<UnlockResult> {
    requireManage(this.actor);
    if (!(await this.d.store.agent(agentId))) throw unknownAgent(agentId);
    const lock = await this.d.liftLock(agentId);
    const throttled = await this.d.store.liftThrottle(agentId, new Date(this.d.now?.() ?? Date.now()));
    const lifted = [...(lock ? [lock.kind] : []), ...(throttled ? ['login-throttle'] : [])];
    if (lifted.length === 0) throw new VdiguardError('not-found', `agent ${JSON.stringify(agentId)} is neither locked, on probation nor held by the login throttle: nothing to unlock`);
    await this.record('agent.unlock', agentId, { lifted, ...(lock ? { after: lock.action, session: lock.sessionId } : {}) });
    return { unlocked: agentId, lifted };
  }

  async removeAgent(agentId: string): Promise<{ removed: string }> {
    requireManage(this.actor);
    await this.d.store.removeAgent(agentId);
    await this.record('agent.remove', agentId);
    this.d.endSessions({ agentId }, `the agent was removed by ${this.actor.name}`);
    return { removed: agentId };
  }

  listDesktops(): Promise<Desktop[]> {
    return this.d.store.listDesktops();
  }

  async addDesktop(f: Fields): Promise<{ desktop: Desktop }> {
    requireManage(this.actor);
    const desktopId = id(f, 'id', 'desktop');
    const s = desktopSettings(f);
    const host = s.host ?? required(f, 'host', "the desktop's host name or address");
    await this.d.store.addDesktop({
      desktopId,
      displayName: s.displayName ?? desktopId,
      host,
      port: s.port ?? 3389,
      security: s.security ?? 'any',
      domain: s.domain ?? '',
      ignoreCert: s.ignoreCert ?? false,
      certFingerprints: s.certFingerprints ?? '',
      credentials: { username: s.username ?? '', password: s.password ?? '' },
    });
    const desktop = await this.desktopView(desktopId);
    await this.record('desktop.add', desktopId, auditOf(desktop));
    return { desktop };
  }

  async updateDesktop(desktopId: string, f: Fields): Promise<{ desktop: Desktop }> {
    requireManage(this.actor);
    const s = desktopSettings(f);
    const changed = Object.keys(s).filter((k) => s[k as keyof typeof s] !== undefined);
    if (changed.length === 0) throw invalid('host', 'nothing to change: give name, host, port, security, domain, username, password, ignoreCert or certFingerprints');
    const desktop = await this.d.store.updateDesktop(desktopId, s);
    // Which fields changed, with their new values except the credentials.
    const detail = Object.fromEntries(changed.map((k) => [k, k === 'password' || k === 'username' ? 'changed' : s[k as keyof typeof s]]));
    await this.record('desktop.update', desktopId, detail);
    return { desktop };
  }

  async removeDesktop(desktopId: string): Promise<{ removed: string }> {
    requireManage(this.actor);
    await this.d.store.removeDesktop(desktopId);
    await this.record('desktop.remove', desktopId);
    this.d.endSessions({ desktopId }, `the desktop was removed by ${this.actor.name}`);
    return { removed: desktopId };
  }

  async assign(desktopId: string, agentId: string): Promise<{ desktop: Desktop }> {
    requireManage(this.actor);
    await this.d.store.assign(desktopId, agentId);
    await this.record('desktop.assign', desktopId, { agentId });
    return { desktop: await this.desktopView(desktopId) };
  }

  async unassign(desktopId: string, agentId: string): Promise<{ desktop: Desktop }> {
    requireManage(this.actor);
    await this.d.store.unassign(desktopId, agentId);
    await this.record('desktop.unassign', desktopId, { agentId });
    this.d.endSessions({ agentId, desktopId }, `the agent was unassigned from the desktop by ${this.actor.name}`);
    return { desktop: await this.desktopView(desktopId) };
  }

  async checkDesktop(desktopId: string): Promise<CheckResult> {
    requireManage(this.actor);
    const d = await this.desktopView(desktopId);
    const c = await (this.d.check ?? checkDesktop)({ host: d.host, port: d.port });
    if (!c.fingerprint) return d.ignoreCert ? { ...c, trusted: true } : c;
    const pinned = parseCertFingerprints(d.certFingerprints).fingerprints.includes(normalizeFingerprint(c.fingerprint));
    return { ...c, pinned, trusted: pinned || d.ignoreCert };
  }

  /** Makes the gateway connect where the admin says: an admin's, like adding a desktop. */
  async checkTarget(f: Fields): Promise<CheckResult> {
    requireManage(this.actor);
    return (this.d.check ?? checkDesktop)(desktopTarget(f));
  }

  private viewOf(a: Agent, lock: AgentLock | undefined, desktops: readonly Desktop[]): AgentView {
    return { ...a, ...(lock ? { lock } : {}), desktops: desktops.filter((d) => d.agents.includes(a.agentId)).map((d) => d.desktopId) };
  }

  private async agentView(agentId: string): Promise<AgentView> {
    const view = (await this.listAgents()).find((a) => a.agentId === agentId);
    if (!view) throw unknownAgent(agentId);
    return view;
  }

  private async desktopView(desktopId: string): Promise<Desktop> {
    const desktop = await this.d.store.desktop(desktopId);
    if (!desktop) throw new VdiguardError('not-found', `no desktop ${JSON.stringify(desktopId)}`);
    return desktop;
  }

  private async hashOf(password: string): Promise<string> {
    try {
      return await (this.d.hash ?? hashPassword)(password);
    } catch (err) {
      throw invalid('password', (err as Error).message);
    }
  }

  private provisioning(agentId: string, secret: string): Provisioning {
    const uri = otpauthUri(this.d.issuer, agentId, secret);
    return { uri, secret, qrSvg: svgQr(uri) };
  }

  private record(action: string, target: string, detail: Record<string, unknown> = {}): Promise<void> {
    return this.d.actions.record(this.actor, action, target, detail);
  }
}

/** The host and port of a desktop to check before it is added, by a new desktop's rules. */
export function desktopTarget(f: Fields): { host: string; port: number } {
  const s = desktopSettings({ host: f.host, port: f.port });
  return { host: s.host ?? required(f, 'host', "the desktop's host name or address"), port: s.port ?? 3389 };
}

/** A desktop's settings as given (undefined: not given), validated. */
interface DesktopSettings {
  displayName?: string;
  host?: string;
  port?: number;
  security?: RdpSecurity;
  domain?: string;
  username?: string;
  password?: string;
  ignoreCert?: boolean;
  certFingerprints?: string;
}

function desktopSettings(f: Fields): DesktopSettings {
  const host = text(f, 'host', 253);
  if (host !== undefined && !HOST.test(host)) throw invalid('host', `host must be a host name or an IP address, without a port or spaces (got ${JSON.stringify(host.slice(0, 60))})`);
  return {
    displayName: text(f, 'name', 200),
    host,
    port: port(f),
    security: oneOf(f, 'security', RDP_SECURITY),
    domain: text(f, 'domain', 200, true),
    username: text(f, 'username', 200, true),
    password: text(f, 'password', 1024, true),
    ignoreCert: flag(f, 'ignoreCert'),
    certFingerprints: pins(f),
  };
}

/** What the audit trail says about a new desktop: its settings, not its credentials. */
function auditOf(d: Desktop): Record<string, unknown> {
  return { name: d.displayName, host: d.host, port: d.port, security: d.security, domain: d.domain, ignoreCert: d.ignoreCert, certFingerprints: d.certFingerprints };
}

function invalid(field: string, message: string): VdiguardError {
  return new VdiguardError('invalid-argument', message, { field });
}

function unknownAgent(agentId: string): VdiguardError {
  return new VdiguardError('not-found', `no agent ${JSON.stringify(agentId)}`);
}

function id(f: Fields, field: string, kind: string): string {
  const value = required(f, field, `the ${kind}'s id`);
  try {
    checkId(kind, value);
  } catch (err) {
    throw invalid(field, (err as Error).message);
  }
  return value;
}

function required(f: Fields, field: string, what: string): string {
  const value = text(f, field, 1024);
  if (value === undefined || value === '') throw invalid(field, `${field} is missing: give ${what}`);
  return value;
}

/** A string field, trimmed unless it may hold anything (a password); undefined when absent. */
function text(f: Fields, field: string, max: number, emptyOk = false): string | undefined {
  const v = f[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(field, `${field} must be text (got ${typeof v})`);
  const value = field === 'password' ? v : v.trim();
  if (value.length > max) throw invalid(field, `${field} must be at most ${max} characters (got ${value.length})`);
  if (!emptyOk && field !== 'password' && value === '') throw invalid(field, `${field} must not be empty`);
  if (field !== 'password' && /[\u0000-\u001f\u007f]/.test(value)) throw invalid(field, `${field} must not hold control characters`);
  return value;
}

function oneOf<T extends string>(f: Fields, field: string, allowed: readonly T[]): T | undefined {
  const v = f[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw invalid(field, `${field} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

function port(f: Fields): number | undefined {
  const v = f.port;
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw invalid('port', `port must be a whole number from 1 to 65535 (got ${JSON.stringify(v)})`);
  return n;
}

function flag(f: Fields, field: string): boolean | undefined {
  const v = f[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(field, `${field} must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

/** Pinned fingerprints, a comma-separated string or a list, stored in guacd's form (guac/fingerprints.ts). */
function pins(f: Fields): string | undefined {
  const v = f.certFingerprints;
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(',') : v;
  if (typeof list !== 'string') throw invalid('certFingerprints', 'certFingerprints must be a comma-separated string or a list of SHA-256 fingerprints');
  const parsed = parseCertFingerprints(list);
  if (parsed.problems.length > 0) throw invalid('certFingerprints', `certFingerprints: ${parsed.problems.join('; ')}`);
  return guacdCertFingerprints(parsed.fingerprints);
}
