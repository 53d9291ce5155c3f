/**
 * A whole gateway for tests: a fresh store, the gateway on a free port in front of a fake guacd,
 * talking to a fake scorer (or the real one), with one agent and one desktop. Plus a small
 * Guacamole-over-WebSocket client.
 */
import { WebSocket } from 'ws';
import { openDb, type Db } from '../../lib/db/db.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { loadGatewaySettings, type GatewaySettings } from '../config.js';
import { startGateway, type RunningGateway } from '../gateway.js';
import { hashPassword } from '../auth/password.js';
import { totpCode, newTotpSecret } from '../auth/totp.js';
import { scorerLink, type ScorerLink } from '../mirror/scorer-link.js';
import { GuacParser, type Instruction } from '../guac/index.js';
import { startFakeGuacd, type FakeGuacd } from './fake-guacd.js';
import { startFakeScorer, type FakeScorer } from './fake-scorer.js';
import { ADMIN_COOKIE, LOGIN_COOKIE } from '../http/login-cookie.js';
import type { AdminRole } from '../admin/actor.js';
import type { NewDesktop } from '../store/gateway-store.js';
import { randomBytes } from 'node:crypto';

export const AGENT = 'alice';
/** A second agent on the same desktop, for what one agent must not affect in another's session. */
export const OTHER_AGENT = 'bob';
export const PASSWORD = 'correct horse battery';
export const DESKTOP = 'desk-1';
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
/** For tests that start a real scorer (VDIGUARD_GATEWAY_TOKEN) and stream to it as a gateway. */
export const GATEWAY_TOKEN = 'gateway-token-for-tests-0123456789';

export interface GatewayHarness {
  readonly gateway: RunningGateway;
  readonly scorer: FakeScorer | undefined;
  readonly db: Db;
  readonly totpSecret: string;
  /** A valid TOTP code for a time step not used yet (steps move on, so each call is fresh). */
  code(): string;
  /** The same for another TOTP secret (an admin's). */
  codeFor(secret: string): string;
  /** Adds a named admin (or analyst) and signs them in; `cookie` is their admin session for adminCall. */
  signInAdmin(name: string, role?: AdminRole): Promise<{ cookie: string; password: string; totpSecret: string }>;
  login(agent?: string): Promise<{ token: string; ticket: string }>;
  close(): Promise<void>;
}

export interface Harness extends GatewayHarness {
  readonly guacd: FakeGuacd;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  db?: Db;
  link?: ScorerLink;
  log?: Logger;
  scorerPort?: number;
  /** The sealing key; replicas of one deployment share it. */
  secretKey?: Buffer;
}

/** The gateway in front of the fake guacd, with a desktop that exists only in name. */
export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const guacd = await startFakeGuacd();
  const h = await startGatewayHarness({ ...o, guacdPort: guacd.port });
  return {
    ...h,
    guacd,
    async close() {
      await h.close();
      await guacd.close();
    },
  };
}

/** The gateway in front of the engine (fake or real guacd, or the bridge) on `guacdPort`; `desktop` overrides the desktop's settings. */
export async function startGatewayHarness(o: HarnessOptions & { guacdPort: number; desktop?: Partial<NewDesktop> }): Promise<GatewayHarness> {
  const db = o.db ?? (await openDb({}));
  const scorer = o.link ? undefined : await startFakeScorer(o.scorerPort ?? 0);
  const settings: GatewaySettings = loadGatewaySettings({
    VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0',
    VDIGUARD_GUACD: `127.0.0.1:${o.guacdPort}`,
    VDIGUARD_LOGIN_LIMIT_PER_AGENT_ADDRESS: '1000+360000/h',
    VDIGUARD_LOGIN_LIMIT_PER_AGENT: '1000+360000/h',
    VDIGUARD_LOGIN_LIMIT_PER_ADDRESS: '10000+360000/h',
    VDIGUARD_MIRROR_BATCH_MS: '20',
    ...o.env,
  });
  const link = o.link ?? scorerLink({ address: scorer?.address ?? '' }, { adminToken: ADMIN_TOKEN });
  // The gateway's wall clock moves on one TOTP step per code the test asks for, so replay
  // protection never refuses a test's own next login.
  let now = Date.now();
  const gateway = await startGateway(settings, { log: o.log ?? silentLogger(), db, secretKey: o.secretKey ?? randomBytes(32), scorer: link, adminToken: ADMIN_TOKEN, now: () => now });
  const totpSecret = newTotpSecret();
  const passwordHash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 });
  await gateway.store.addAgent({ agentId: AGENT, displayName: 'Alice', passwordHash, totpSecret });
  await gateway.store.addAgent({ agentId: OTHER_AGENT, displayName: 'Bob', passwordHash, totpSecret });
  await gateway.store.addDesktop({
    desktopId: DESKTOP,
    displayName: 'Desk 1',
    host: 'desktop.example',
    port: 3389,
    security: 'tls',
    domain: '',
    ignoreCert: true,
    certFingerprints: '',
    credentials: { username: 'alice-rdp', password: 'rdp-secret-π' },
    ...o.desktop,
  });
  await gateway.store.assign(DESKTOP, AGENT);
  await gateway.store.assign(DESKTOP, OTHER_AGENT);
  const codeFor = (secret: string): string => {
    now += 30_000;
    return totpCode(secret, now);
  };
  const code = (): string => codeFor(totpSecret);
  return {
    gateway,
    scorer,
    db,
    totpSecret,
    code,
    codeFor,
    async signInAdmin(name, role = 'admin') {
      const secret = newTotpSecret();
      await gateway.admins.add({ name, role, passwordHash, totpSecret: secret });
      const res = await api(gateway.url, '/api/admin/login', { name, password: PASSWORD, code: codeFor(secret) });
      if (res.status !== 200) throw new Error(`admin sign-in failed: ${JSON.stringify(res.body)}`);
      return { cookie: cookieOf(res.headers, ADMIN_COOKIE), password: PASSWORD, totpSecret: secret };
    },
    async login(agent = AGENT) {
      const res = await api(gateway.url, '/api/login', { agent, password: PASSWORD, code: code(), desktop: DESKTOP });
      if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
      const body = res.body as { ticket: { ticket: string } };
      return { token: loginCookieOf(res.headers), ticket: body.ticket.ticket };
    },
    async close() {
      await gateway.close();
      if (!o.link) link.close();
      await scorer?.close();
      if (!o.db) await db.close();
    },
  };
}

export async function api(base: string, path: string, body?: unknown, token?: string, method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** The login token the gateway set as its HttpOnly cookie (the page never sees it; a test may). */
export function loginCookieOf(headers: Headers): string {
  return cookieOf(headers, LOGIN_COOKIE);
}

/** The value of cookie `name` an answer set. */
export function cookieOf(headers: Headers, name: string): string {
  const set = headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!set) throw new Error(`the answer set no ${name} cookie`);
  return set.slice(name.length + 1).split(';')[0] as string;
}

/** An admin API call with an admin's session cookie, as the admin page makes it. */
export async function adminCall(base: string, path: string, cookie: string, method = 'GET', body?: unknown): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { cookie: `${ADMIN_COOKIE}=${cookie}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** A Guacamole client over the tunnel, as guacamole-common-js speaks it. */
export class TunnelClient {
  readonly received: Instruction[] = [];
  private readonly parser = new GuacParser({ maxElementLength: 1 << 20, maxInstructionLength: 1 << 21 });
  readonly closed: Promise<{ code: number; at: number }>;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      for (const r of this.parser.push(data as Buffer)) if (r.instruction) this.received.push(r.instruction);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code, at: performance.now() })));
  }

  static async open(base: string, ticket: string, extra = ''): Promise<TunnelClient> {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/tunnel?ticket=${encodeURIComponent(ticket)}${extra}`, 'guacamole');
    const c = new TunnelClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** Waits until an instruction matching `pred` has arrived (or throws after `ms`). */
  async waitFor(pred: (i: Instruction) => boolean, ms = 3000): Promise<Instruction> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.received.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out; received ${this.received.map((i) => i.opcode).join(',')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

/** An image drawn on a visible layer (not the cursor's or another off-screen buffer, which are negative): the desktop itself. */
export function isDesktopImage(i: Instruction): boolean {
  return i.opcode === 'img' && Number(i.args[2]) >= 0;
}

export async function until(pred: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
