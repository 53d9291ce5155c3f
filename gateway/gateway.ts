/**
 * The gateway: one HTTP(S) server for the agent's page, the login API, the admin API and the
 * Guacamole WebSocket tunnel; sessions with their tap, mirror and enforcement. Dependencies (store,
 * logger, scorer link, clocks) come in explicitly.
 */
import { Metadata } from '@grpc/grpc-js';
import { GatewayTelemetry } from './telemetry.js';
import { injectContext } from '../lib/telemetry/grpc.js';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { sameSecret } from '../lib/secrets.js';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { formatHostPort, isLoopback } from '../lib/config.js';
import type { Db } from '../lib/db/db.js';
import { VdiguardError } from '../lib/errors.js';
import { listenError } from '../lib/listen.js';
import type { Logger } from '../lib/log.js';
import { AuditLog } from '../scorer/store/audit.js';
import { DEFAULT_TRUST_POLICY } from '../scorer/trust/trust.js';
import { WriteQueue } from '../lib/db/write-queue.js';
import { Spill } from '../lib/db/spill.js';
import { GATEWAY_QUEUE, gatewayRecordLabel, isGatewayRecord, writeGatewayRecord, type GatewayRecord } from './store/records.js';
import { GATEWAY_SETTINGS, loginThrottlePolicy, type GatewaySettings } from './config.js';
import { LOGIN_TTL_MS, LoginService } from './auth/login.js';
import { throttleFigures } from './auth/throttle.js';
import { SecretBox } from './auth/secret-box.js';
import { GatewayStore } from './store/gateway-store.js';
import { Mirror } from './mirror/mirror.js';
import type { ScorerLink } from './mirror/scorer-link.js';
import { DesktopSession } from './session/session.js';
import { checkNewSession, SessionRegistry } from './session/registry.js';
import type { DecisionSink } from './session/decisions.js';
import { Lockout } from './session/lockout.js';
import { adminApi } from './admin/api.js';
import { AdminActions } from './admin/actions.js';
import { type Actor } from './admin/actor.js';
import { Management, type SessionMatch } from './admin/management.js';
import { AdminAccounts } from './admin/accounts.js';
import { authenticateAdmin, signInRoutes, type AdminAuthDeps } from './admin/authenticate.js';
import { AdminSignIn } from './auth/admin-sign-in.js';
import { AdminStore } from './store/admin-store.js';
import { guacLiteFactory } from './http/guacamole-lite.js';
import { openTunnel } from './http/tunnel.js';
import { bearer, clientAddress, HSTS_HEADER, readJson, refuseUpgrade, SECURITY_HEADERS, sendError, sendJson } from './http/http-util.js';
import { clearedLoginCookie, loginCookie, loginToken } from './http/login-cookie.js';
import { crossOriginProblem } from './http/origin.js';
import { NO_TRUSTED_PROXIES } from './http/proxies.js';
import { loadStaticFiles } from './http/static.js';

export interface GatewayDeps {
  readonly log: Logger;
  readonly db: Db;
  readonly secretKey: Buffer;
  readonly scorer: ScorerLink;
  /** Admin API credential. */
  readonly adminToken: string;
  /** The scorer's VDIGUARD_TRUST_CHALLENGE_BELOW, drawn on the admin page's trust curves (default: the scorer's default). */
  readonly challengeBelow?: number;
  readonly clock?: () => number;
  readonly now?: () => number;
  /** Where records not written at shutdown go, and are read back from at start; none: they are logged as lost. */
  readonly spillDir?: string;
  /** Milliseconds close() takes at most to write its sessions' records before it spills the rest (default 5000). */
  readonly shutdownGraceMs?: number;
}

export interface RunningGateway {
  /** http(s)://host:port actually bound. */
  readonly url: string;
  readonly port: number;
  readonly sessions: SessionRegistry;
  readonly store: GatewayStore;
  readonly login: LoginService;
  /** Named admin accounts (the first admin is created on first start: gateway/admin/first-admin.ts). */
  readonly admins: AdminStore;
  /** The admin audit trail. */
  readonly actions: AdminActions;
  close(): Promise<void>;
}

/** How often a replica refreshes its live sessions in the store and looks for others' revocations and locks. */
const REPLICA_SYNC_MS = 2000;
/** A live session whose replica has not refreshed it for this long no longer counts (the replica died). */
const LIVE_SESSION_MS = 10_000;

export async function startGateway(settings: GatewaySettings, deps: GatewayDeps): Promise<RunningGateway> {
  const { log, db } = deps;
  const clock = deps.clock ?? (() => performance.now());
  const tls = tlsOptions(settings);
  if (!tls && !isLoopback(settings.listen.host) && !settings.allowPlaintext) {
    throw new VdiguardError(
      'failed-precondition',
      `refusing to serve plain HTTP on ${settings.listen.host}, which other machines can reach: set VDIGUARD_GATEWAY_TLS_CERT and VDIGUARD_GATEWAY_TLS_KEY, or VDIGUARD_GATEWAY_ALLOW_PLAINTEXT=true behind a TLS-terminating proxy`,
    );
  }
  /** This process among the gateway replicas sharing the store. */
  const replicaId = randomUUID();
  const box = new SecretBox(deps.secretKey);
  const store = new GatewayStore(db, box);
  const login = new LoginService({
    store,
    box,
    log,
    ticketMs: settings.ticketSeconds * 1000,
    totpSkewSteps: settings.totpSkewSteps,
    throttle: loginThrottlePolicy(settings),
    now: deps.now,
  });
  const audit = new AuditLog(db);
  const writes = new WriteQueue<GatewayRecord>({
    log,
    maxPending: 100_000,
    initialDelayMs: 250,
    maxDelayMs: 30_000,
    write: (r) => writeGatewayRecord(r, { audit, store }),
    label: gatewayRecordLabel,
    ...(deps.spillDir ? { spill: new Spill({ dir: deps.spillDir, queue: GATEWAY_QUEUE, isRecord: isGatewayRecord }) } : {}),
  });
  writes.recover();
  const actions = new AdminActions(db);
  const admins = new AdminStore(db, box);
  const adminAuth: AdminAuthDeps = {
    signIn: new AdminSignIn({ admins, store, box, log, totpSkewSteps: settings.totpSkewSteps, throttle: loginThrottlePolicy(settings), now: deps.now }),
    actions,
    adminToken: deps.adminToken,
    secure: tls !== undefined,
  };
  const accounts = new AdminAccounts({ admins, actions, issuer: settings.totpIssuer });
  const sessions = new SessionRegistry();
  const mirrors = new Set<Mirror>();
  const telemetry = new GatewayTelemetry(
    () => sessions.all().filter((s) => !s.scored && s.status !== 'ended').length,
    () => [...mirrors].reduce((n, m) => n + m.dropped, 0),
  );
  const desktopOf = (sessionId: string): string => sessions.get(sessionId)?.id.desktopId ?? '';
  const decisions: DecisionSink = {
    record: (d) => {
      writes.enqueue({ kind: 'decision', decision: { ...d, recordId: randomUUID() } });
      log.info({ sessionId: d.sessionId, agentId: d.agentId, action: d.action, reason: d.reason }, 'decision');
      telemetry.decision(d, desktopOf(d.sessionId));
    },
  };
  const lockout = new Lockout({
    log,
    policy: settings.afterMismatch,
    locks: login,
    carryTrust: (lock, trust) => store.carryTrust(lock, trust),
    sessionsOf: (agentId) => sessions.ofAgent(agentId),
    decisions,
  });
  const files = loadStaticFiles();
  const connection = guacLiteFactory({ log, idleMs: settings.idleSeconds * 1000 });
  const historyMs = settings.historyRetentionDays * 86_400_000;
  const pruneTimer = setInterval(() => {
    store.prune().catch(() => undefined);
    if (historyMs > 0) audit.prune(new Date(Date.now() - historyMs)).catch((err: Error) => log.warn({ err: err.message }, 'could not prune the session history'));
  }, 60_000);
  pruneTimer.unref();
  // This replica's live sessions stay visible to the others; a login another replica revoked (a
  // terminate or a sign-out there), or an agent it locked, ends the sessions here too.
  const replicaSync = setInterval(() => {
    const live = sessions.all();
    store.heartbeat(replicaId, live.map((s) => s.id), new Date()).catch((err: Error) => log.warn({ err: err.message }, 'could not refresh the live sessions'));
    const logins = [...new Set(live.flatMap((s) => [...s.logins]))];
    const agents = [...new Set(live.map((s) => s.id.agentId))];
    Promise.all([store.revokedAmong(logins), store.locksAmong(agents)])
      .then(([revoked, locks]) => {
        for (const loginId of revoked) for (const s of sessions.ofLogin(loginId)) s.loginEnded('the login was ended on another gateway replica');
        for (const { agentId, lockedAt } of locks) {
          for (const s of sessions.ofAgent(agentId)) if (s.startedAt < lockedAt) s.lockedOut('the agent was locked after a security decision on another gateway replica');
        }
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'could not check for revoked logins and locks'));
  }, REPLICA_SYNC_MS);
  replicaSync.unref();

  const startSession: Parameters<typeof openTunnel>[4]['startSession'] = (id) => {
    const live = sessions.ofAgent(id.agentId);
    const same = live.find((s) => s.id.desktopId === id.desktopId);
    if (same) {
      log.info({ sessionId: same.id.sessionId, agentId: id.agentId, desktopId: id.desktopId, address: id.address }, 'desktop session continued in a new connection');
      return same;
    }
    checkNewSession(live, settings.sessionsPerAgent);
    let mirror: Mirror | undefined;
    // Where the agent's trust stands: their probation's, or where their last session ended.
    const startTrust = Math.min(id.probation?.trust ?? 1, id.carriedTrust ?? 1);
    const initialTrust = startTrust < 1 ? startTrust : undefined;
    const traceContext = telemetry.sessionStarted(id, telemetry.tunnelOpened(id.trace, id.tunnelStartedAt, id.address));
    const session = new DesktopSession(
      id,
      {
        log,
        mode: settings.enforcement,
        mirrorPolicy: settings.mirrorPolicy,
        clipboard: settings.clipboard,
        graceMs: settings.mirrorGraceSeconds * 1000,
        challengeMs: settings.challengeSeconds * 1000,
        reconnectGraceMs: settings.reconnectGraceSeconds * 1000,
        decisions,
        verifyCode: (agentId, code) => login.verifyCode(agentId, code, id.address),
        confirmIdentity: (sessionId) => deps.scorer.confirmIdentity(sessionId),
        onSecurityEnd: lockout.afterSecurityEnd,
        initialTrust,
        probation: lockout.probationOf(id.probation),
        revokeLogin: (loginId) => revokeLogin(loginId, 'the login was ended by a security decision in another session'),
        clock,
      },
      (event) => mirror?.push(event) ?? false,
    );
    mirror = new Mirror({
      connect: () => deps.scorer.session(injectContext(new Metadata(), traceContext)),
      open: {
        sessionId: id.sessionId,
        agentId: id.agentId,
        desktopId: id.desktopId,
        client: { address: id.address, userAgent: id.userAgent.slice(0, 200), screenWidth: id.width, screenHeight: id.height },
        initialTrust,
      },
      trustNow: () => session.trust,
      batchMs: settings.mirrorBatchMs,
      batchEvents: settings.mirrorBatchEvents,
      bufferEvents: settings.mirrorBufferEvents,
      onVerdict: (v, latencyMs) => {
        if (latencyMs !== undefined) telemetry.verdictArrived(latencyMs);
        session.onVerdict(v);
      },
      onScored: (scored, why) => session.onScored(scored, why),
      onRefused: (why) => session.onRefused(why),
      log,
    });
    mirrors.add(mirror);
    session.once('ended', (reason: string) => {
      mirror?.close(reason);
      if (mirror) mirrors.delete(mirror);
      telemetry.sessionEnded(id.sessionId, { outcome: session.endAction ?? 'closed', reason, minTrust: session.minTrust, finalTrust: session.trust, timing: session.timing });
      const trust = session.trust;
      writes.enqueue({ kind: 'trust-carried', agentId: id.agentId, trust, sessionId: id.sessionId, endedAt: new Date() });
      writes.enqueue({ kind: 'live-session-ended', sessionId: id.sessionId });
    });
    sessions.add(session);
    writes.enqueue({ kind: 'live-session', replicaId, session: { sessionId: id.sessionId, agentId: id.agentId, desktopId: id.desktopId }, beatAt: new Date() });
    lockout.watch(session, id.probation);
    log.info({ sessionId: id.sessionId, agentId: id.agentId, desktopId: id.desktopId, address: id.address }, 'desktop session started');
    return session;
  };

  // Sessions live in a replica's memory, so a session elsewhere cannot be continued from here; it
  // must not be doubled either, or a colluder would leave a challenge on one replica for a fresh
  // session on another.
  const checkOtherReplicas = async (agentId: string): Promise<void> => {
    const elsewhere = await store.liveElsewhere(agentId, replicaId, new Date(Date.now() - LIVE_SESSION_MS));
    if (elsewhere.length > 0) {
      throw new VdiguardError(
        'failed-precondition',
        `your desktop session (${elsewhere.map((s) => s.desktopId).join(', ')}) is open on another gateway server: close it or sign out there first; a session whose connection dropped ends after ${settings.reconnectGraceSeconds} s`,
      );
    }
  };
  const carryMs = settings.trustCarryHours * 3_600_000;
  const carriedTrust = (agentId: string): Promise<number | undefined> =>
    carryMs > 0 ? store.carriedTrust(agentId, new Date(Date.now() - carryMs)) : Promise.resolve(undefined);

  /** Ends a login everywhere: no more tickets on any replica, and its sessions here end at once. */
  const revokeLogin = (loginId: string, reason: string): Promise<void> => {
    for (const s of sessions.ofLogin(loginId)) s.loginEnded(reason);
    return login.revoke(loginId).catch((err: Error) =>
      // Refused on this replica already; other replicas would still accept it: log loudly.
      log.error({ loginId, err: err.message }, 'could not record the revoked login'),
    );
  };

  /** Ends this replica's matching live sessions, as an admin's kill: an agent disabled or removed, a desktop removed. */
  const endSessions = (match: SessionMatch, reason: string): void => {
    for (const s of sessions.all()) {
      if ((match.agentId === undefined || s.id.agentId === match.agentId) && (match.desktopId === undefined || s.id.desktopId === match.desktopId)) s.kill(reason);
    }
  };
  const manage = (actor: Actor): Management =>
    new Management({ store, actions, issuer: settings.totpIssuer, liftLock: (agentId) => lockout.unlock(agentId), endSessions, now: deps.now }, actor);

  const adminOk = (req: IncomingMessage): boolean => sameSecret(bearer(req), deps.adminToken);
  const proxies = settings.trustedProxies ?? NO_TRUSTED_PROXIES;
  const originProblem = (req: IncomingMessage): string | undefined => crossOriginProblem(req.headers.origin, req.headers.host, settings.allowedOrigins ?? []);

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const address = clientAddress(req, proxies);
    const route = `${req.method} ${url.pathname}`;
    // CSRF: a state-changing request a page on another site made the browser send.
    const crossSite = req.method === 'GET' || req.method === 'HEAD' ? undefined : originProblem(req);
    if (crossSite) throw new VdiguardError('permission-denied', crossSite);
    if (route === 'POST /api/login') {
      const body = await readJson(req);
      const { token, ...answer } = await telemetry.request('gateway.login', address, () => login.login({ agent: body.agent, password: body.password, code: body.code, desktop: body.desktop }, address));
      return sendJson(res, 200, answer, { 'set-cookie': loginCookie(token, LOGIN_TTL_MS, tls !== undefined) });
    }
    if (route === 'POST /api/tickets') {
      const body = await readJson(req);
      return sendJson(res, 200, await telemetry.request('gateway.ticket', address, () => login.ticket(loginToken(req), body.desktop)));
    }
    if (route === 'POST /api/logout') {
      // Signing out of a login that is already over still clears the cookie.
      const who = await login.check(loginToken(req)).catch(() => undefined);
      if (who) await revokeLogin(who.loginId, 'the agent signed out');
      log.info({ agentId: who?.agentId, address }, 'signed out');
      return sendJson(res, 200, { signedOut: true }, { 'set-cookie': clearedLoginCookie(tls !== undefined) });
    }
    if (route === 'POST /api/challenge') {
      const body = await readJson(req);
      const who = await login.check(loginToken(req));
      const session = sessions.get(String(body.session ?? ''));
      if (!session || session.id.agentId !== who.agentId) throw new VdiguardError('not-found', 'no such session');
      return sendJson(res, 200, { outcome: await session.answerChallenge(body.code) });
    }
    if (!url.pathname.startsWith('/api/admin/')) throw new VdiguardError('not-found', `no ${route}`);
    if (await signInRoutes(req, res, url, address, adminAuth)) return;
    const actor = await authenticateAdmin(req, res, adminAuth);
    return adminApi(req, res, url, actor, { store, sessions, audit, actions, accounts, scorer: deps.scorer, manage, challengeBelow: deps.challengeBelow ?? DEFAULT_TRUST_POLICY.challengeBelow });
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (tls) res.setHeader(...HSTS_HEADER);
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((err) => {
        if (!(err instanceof VdiguardError)) log.error({ err: (err as Error).message, path: url.pathname }, 'API error');
        sendError(res, err);
      });
      return;
    }
    // Probes need only the status; how busy the gateway is stays with whoever holds the admin token.
    if (url.pathname === '/healthz') return sendJson(res, 200, adminOk(req) ? { status: 'ok', sessions: sessions.size } : { status: 'ok' });
    const file = req.method === 'GET' ? files.get(url.pathname) : undefined;
    if (!file) return sendJson(res, 404, { error: 'not found' });
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, 'cache-control': 'no-cache' });
    res.end(file.body);
  };

  // A client that never finishes its request (or its WebSocket upgrade) is cut off after 10 s;
  // timeouts are checked every second rather than Node's default 30.
  const serverOptions = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 };
  const server: Server = tls ? createHttpsServer({ ...tls, ...serverOptions }, handler) : createHttpServer(serverOptions, handler);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, handleProtocols: (p) => (p.has('guacamole') ? 'guacamole' : false) });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== '/tunnel') return refuseUpgrade(socket, 404, 'no such WebSocket endpoint');
    const crossSite = originProblem(req);
    if (crossSite) {
      log.warn({ origin: String(req.headers.origin).slice(0, 200), address: clientAddress(req, proxies) }, 'cross-origin tunnel refused');
      return refuseUpgrade(socket, 403, crossSite);
    }
    socket.on('error', () => undefined);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const address = clientAddress(req, proxies);
      openTunnel(ws, url, address, String(req.headers['user-agent'] ?? ''), { log, login, store, guacd: settings.guacd, clipboard: settings.clipboard, connection, startSession, carriedTrust, checkOtherReplicas }).catch((err) => {
        log.error({ err: (err as Error).message }, 'tunnel failed');
        ws.terminate();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(settings.listen, err, `${GATEWAY_SETTINGS.listen.env} or --listen`)));
    server.listen(settings.listen.port, settings.listen.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `${tls ? 'https' : 'http'}://${formatHostPort({ host: settings.listen.host, port })}`;
  log.info({ url, guacd: formatHostPort(settings.guacd), enforcement: settings.enforcement, mirrorPolicy: settings.mirrorPolicy }, 'gateway listening');
  // What the throttle settings mean in guesses per agent, so an operator who changes them sees it.
  log.info({ loginGuesses: throttleFigures(loginThrottlePolicy(settings)) }, 'login throttle');

  return {
    url,
    port,
    sessions,
    store,
    login,
    admins,
    actions,
    async close() {
      clearInterval(pruneTimer);
      clearInterval(replicaSync);
      for (const s of sessions.all()) s.closed('gateway shutting down');
      for (const c of wss.clients) c.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // keep-alive connections would hold close() open
      await closed;
      await writes.drain(deps.shutdownGraceMs ?? 5000);
      writes.close();
    },
  };
}

function tlsOptions(s: GatewaySettings): { cert: Buffer; key: Buffer } | undefined {
  if (!s.tlsCert && !s.tlsKey) return undefined;
  if (!s.tlsCert || !s.tlsKey) throw new VdiguardError('invalid-argument', 'HTTPS needs both VDIGUARD_GATEWAY_TLS_CERT and VDIGUARD_GATEWAY_TLS_KEY');
  const read = (file: string, v: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new VdiguardError('invalid-argument', `${v}: cannot read ${file} (${(err as Error).message})`);
    }
  };
  return { cert: read(s.tlsCert, 'VDIGUARD_GATEWAY_TLS_CERT'), key: read(s.tlsKey, 'VDIGUARD_GATEWAY_TLS_KEY') };
}
