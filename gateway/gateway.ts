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
import { sameSecret } from '../lib/secrets.js';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { formatHostPort, isLoopback } from '../lib/config.js';
import type { Db } from '../lib/db/db.js';
import { VdiguardError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { profileStateToJSON } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { AuditLog } from '../scorer/store/audit.js';
import { WriteQueue } from '../scorer/store/write-queue.js';
import type { GatewaySettings } from './config.js';
import { LoginService } from './auth/login.js';
import { SecretBox } from './auth/secret-box.js';
import { GatewayStore } from './store/gateway-store.js';
import { Mirror } from './mirror/mirror.js';
import type { ScorerLink } from './mirror/scorer-link.js';
import { DesktopSession } from './session/session.js';
import { SessionRegistry } from './session/registry.js';
import type { DecisionSink } from './session/decisions.js';
import { Lockout } from './session/lockout.js';
import { lockRoutes } from './http/admin-locks.js';
import { guacLiteFactory } from './http/guacamole-lite.js';
import { openTunnel } from './http/tunnel.js';
import { bearer, clientAddress, readJson, SECURITY_HEADERS, sendError, sendJson } from './http/http-util.js';
import { loadStaticFiles } from './http/static.js';

export interface GatewayDeps {
  readonly log: Logger;
  readonly db: Db;
  readonly secretKey: Buffer;
  readonly scorer: ScorerLink;
  /** Admin API credential. */
  readonly adminToken: string;
  readonly clock?: () => number;
  readonly now?: () => number;
}

export interface RunningGateway {
  /** http(s)://host:port actually bound. */
  readonly url: string;
  readonly port: number;
  readonly sessions: SessionRegistry;
  readonly store: GatewayStore;
  readonly login: LoginService;
  close(): Promise<void>;
}

export async function startGateway(settings: GatewaySettings, deps: GatewayDeps): Promise<RunningGateway> {
  const { log, db } = deps;
  const clock = deps.clock ?? (() => performance.now());
  const tls = tlsOptions(settings);
  if (!tls && !isLoopback(settings.listen.host) && !settings.allowPlaintext && settings.trustProxy === 0) {
    throw new VdiguardError(
      'failed-precondition',
      `refusing to serve plain HTTP on ${settings.listen.host}, which other machines can reach: set VDIGUARD_GATEWAY_TLS_CERT and VDIGUARD_GATEWAY_TLS_KEY, or VDIGUARD_GATEWAY_ALLOW_PLAINTEXT=true behind a TLS-terminating proxy`,
    );
  }
  const box = new SecretBox(deps.secretKey);
  const store = new GatewayStore(db, box);
  const login = new LoginService({
    store,
    box,
    log,
    ticketMs: settings.ticketSeconds * 1000,
    totpSkewSteps: settings.totpSkewSteps,
    attemptsPerAgent: settings.loginAttemptsPerAgent,
    attemptsPerAddress: settings.loginAttemptsPerAddress,
    now: deps.now,
  });
  const writes = new WriteQueue({ log, maxPending: 100_000, initialDelayMs: 250, maxDelayMs: 30_000 });
  const audit = new AuditLog(db);
  const sessions = new SessionRegistry();
  const mirrors = new Set<Mirror>();
  const telemetry = new GatewayTelemetry(
    () => sessions.all().filter((s) => !s.scored && s.status !== 'ended').length,
    () => [...mirrors].reduce((n, m) => n + m.dropped, 0),
  );
  const desktopOf = (sessionId: string): string => sessions.get(sessionId)?.id.desktopId ?? '';
  const decisions: DecisionSink = {
    record: (d) => {
      writes.enqueue(`gateway decision ${d.action} in ${d.sessionId}`, () => audit.decision(d));
      telemetry.decision(d, desktopOf(d.sessionId));
    },
  };
  const lockout = new Lockout({
    log,
    policy: settings.afterMismatch,
    locks: login,
    carryTrust: (lock, trust) => store.carryTrust(lock, trust),
    sessionsOf: (agentId) => sessions.all().filter((s) => s.id.agentId === agentId),
    decisions,
  });
  const files = loadStaticFiles();
  const connection = guacLiteFactory({ log, idleMs: settings.idleSeconds * 1000 });
  const pruneTimer = setInterval(() => store.prune().catch(() => undefined), 60_000);
  pruneTimer.unref();

  const startSession: Parameters<typeof openTunnel>[4]['startSession'] = (id) => {
    const waiting = sessions.awaitingReconnect(id.loginId, id.desktopId);
    if (waiting) {
      log.info({ sessionId: waiting.id.sessionId, agentId: id.agentId, desktopId: id.desktopId, address: id.address }, 'desktop session continued after a reconnect');
      return waiting;
    }
    let mirror: Mirror | undefined;
    const traceContext = telemetry.sessionStarted(id, telemetry.tunnelOpened(id.trace, id.tunnelStartedAt, id.address));
    const session = new DesktopSession(
      id,
      {
        log,
        mode: settings.enforcement,
        mirrorPolicy: settings.mirrorPolicy,
        graceMs: settings.mirrorGraceSeconds * 1000,
        challengeMs: settings.challengeSeconds * 1000,
        reconnectGraceMs: settings.reconnectGraceSeconds * 1000,
        decisions,
        verifyCode: (agentId, code) => login.verifyCode(agentId, code),
        confirmIdentity: (sessionId) => deps.scorer.confirmIdentity(sessionId),
        onSecurityEnd: lockout.afterSecurityEnd,
        probation: lockout.probationOf(id.probation),
        revokeLogin: (loginId) =>
          void login.revoke(loginId).catch((err: Error) =>
            // Refused on this replica already; other replicas would still accept it: log loudly.
            log.error({ sessionId: id.sessionId, loginId, err: err.message }, 'could not record the revoked login'),
          ),
        clock,
      },
      (event) => mirror?.push(event),
    );
    mirror = new Mirror({
      connect: () => deps.scorer.session(injectContext(new Metadata(), traceContext)),
      open: {
        sessionId: id.sessionId,
        agentId: id.agentId,
        desktopId: id.desktopId,
        client: { address: id.address, userAgent: id.userAgent.slice(0, 200), screenWidth: id.width, screenHeight: id.height },
        initialTrust: id.probation?.trust,
      },
      batchMs: settings.mirrorBatchMs,
      batchEvents: settings.mirrorBatchEvents,
      bufferEvents: settings.mirrorBufferEvents,
      onVerdict: (v) => session.onVerdict(v),
      onScored: (scored, why) => session.onScored(scored, why),
      onRefused: (why) => session.onRefused(why),
      log,
    });
    mirrors.add(mirror);
    session.once('ended', (reason: string) => {
      mirror?.close(reason);
      if (mirror) mirrors.delete(mirror);
      telemetry.sessionEnded(id.sessionId, { outcome: session.endAction ?? 'closed', reason, minTrust: session.minTrust, finalTrust: session.trust });
    });
    sessions.add(session);
    lockout.watch(session, id.probation);
    log.info({ sessionId: id.sessionId, agentId: id.agentId, desktopId: id.desktopId, address: id.address }, 'desktop session started');
    return session;
  };

  const adminOk = (req: IncomingMessage): boolean => sameSecret(bearer(req), deps.adminToken);

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const address = clientAddress(req, settings.trustProxy);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'POST /api/login') {
      const body = await readJson(req);
      return sendJson(res, 200, await telemetry.request('gateway.login', address, () => login.login({ agent: body.agent, password: body.password, code: body.code, desktop: body.desktop }, address)));
    }
    if (route === 'POST /api/tickets') {
      const body = await readJson(req);
      return sendJson(res, 200, await telemetry.request('gateway.ticket', address, () => login.ticket(bearer(req), body.desktop)));
    }
    if (route === 'POST /api/challenge') {
      const body = await readJson(req);
      const who = await login.check(bearer(req));
      const session = sessions.get(String(body.session ?? ''));
      if (!session || session.id.agentId !== who.agentId) throw new VdiguardError('not-found', 'no such session');
      return sendJson(res, 200, { outcome: await session.answerChallenge(body.code) });
    }
    if (!url.pathname.startsWith('/api/admin/')) throw new VdiguardError('not-found', `no ${route}`);
    if (!adminOk(req)) throw new VdiguardError('unauthenticated', 'the admin API needs the admin token (Authorization: Bearer ...)');
    if (await lockRoutes(req.method ?? '', url, res, { list: () => store.listLocks(), unlock: (agentId) => lockout.unlock(agentId) })) return;
    if (route === 'GET /api/admin/sessions') return sendJson(res, 200, { sessions: sessions.all().map((s) => s.view()) });
    const kill = /^\/api\/admin\/sessions\/([^/]+)\/kill$/.exec(url.pathname);
    if (kill && req.method === 'POST') {
      const s = sessions.get(decodeURIComponent(kill[1] as string));
      if (!s) throw new VdiguardError('not-found', 'no such active session');
      s.kill('ended by an administrator');
      return sendJson(res, 200, { killed: s.id.sessionId });
    }
    if (route === 'GET /api/admin/decisions') {
      const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 100) || 100);
      const list = await audit.decisions({ agentId: url.searchParams.get('agent') ?? undefined, sessionId: url.searchParams.get('session') ?? undefined, limit });
      return sendJson(res, 200, { decisions: list });
    }
    if (route === 'GET /api/admin/profiles') {
      const profiles = (await deps.scorer.profiles()).map((p) => ({ ...p, state: profileStateToJSON(p.state).replace('PROFILE_STATE_', '').toLowerCase() }));
      return sendJson(res, 200, { profiles });
    }
    if (route === 'GET /api/admin/agents') return sendJson(res, 200, { agents: await store.listAgents() });
    if (route === 'GET /api/admin/desktops') return sendJson(res, 200, { desktops: await store.listDesktops() });
    throw new VdiguardError('not-found', `no ${route}`);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((err) => {
        if (!(err instanceof VdiguardError)) log.error({ err: (err as Error).message, path: url.pathname }, 'API error');
        sendError(res, err);
      });
      return;
    }
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok', sessions: sessions.size });
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
    if (url.pathname !== '/tunnel') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.on('error', () => undefined);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const address = clientAddress(req, settings.trustProxy);
      openTunnel(ws, url, address, String(req.headers['user-agent'] ?? ''), { log, login, store, guacd: settings.guacd, connection, startSession }).catch((err) => {
        log.error({ err: (err as Error).message }, 'tunnel failed');
        ws.terminate();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new VdiguardError('unavailable', `cannot listen on ${formatHostPort(settings.listen)}: ${err.message}`)));
    server.listen(settings.listen.port, settings.listen.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `${tls ? 'https' : 'http'}://${formatHostPort({ host: settings.listen.host, port })}`;
  log.info({ url, guacd: formatHostPort(settings.guacd), enforcement: settings.enforcement, mirrorPolicy: settings.mirrorPolicy }, 'gateway listening');

  return {
    url,
    port,
    sessions,
    store,
    login,
    async close() {
      clearInterval(pruneTimer);
      for (const s of sessions.all()) s.closed('gateway shutting down');
      for (const c of wss.clients) c.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // keep-alive connections would hold close() open
      await closed;
      if (!(await writes.drain(5000))) writes.close();
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
