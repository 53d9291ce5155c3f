/**
 * The Guacamole WebSocket tunnel, the one place where sockets meet a desktop session: redeem the
 * ticket, look up the desktop, start the session (tap, mirror, enforcement) and hand guacamole-lite
 * a socket whose browser -> guacd messages pass through the session's tap first.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import { formatHostPort, type HostPort } from '../../lib/config.js';
import { VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { encodeInstruction, guacdCertFingerprints, GuacStatus, guacStatusName, parseCertFingerprints } from '../guac/index.js';
import type { LoginService } from '../auth/login.js';
import type { AgentLock, GatewayStore } from '../store/gateway-store.js';
import type { DesktopSession } from '../session/session.js';
import type { DisplayRequest, GuacLiteConnection, UpstreamErrorHook } from './guacamole-lite.js';
import { desktopFailure } from '../session/desktop-errors.js';
import type { ClipboardPolicy } from '../tap/paste.js';

export interface TunnelDeps {
  readonly log: Logger;
  readonly login: LoginService;
  readonly store: GatewayStore;
  readonly guacd: HostPort;
  /** Which way the clipboard may cross; guacd is told to carry no more than that. */
  readonly clipboard: ClipboardPolicy;
  readonly connection: (ws: EventEmitter, settings: Record<string, string>, display: DisplayRequest, onUpstreamError?: UpstreamErrorHook) => GuacLiteConnection;
  /** Throws when the agent's session lives on another gateway replica (it cannot be joined from here). */
  readonly checkOtherReplicas: (agentId: string) => Promise<void>;
  /** The trust the agent's last session ended on, if the new one should start there. */
  readonly carriedTrust: (agentId: string) => Promise<number | undefined>;
  /**
   * Creates and registers the session (its mirror included), or continues the agent's session on
   * this desktop; throws a VdiguardError when the agent may not open another.
   */
  readonly startSession: (id: {
    sessionId: string;
    agentId: string;
    desktopId: string;
    loginId: string;
    address: string;
    userAgent: string;
    width: number;
    height: number;
    /** The login's trace context, carried by the ticket. */
    trace: string | undefined;
    /** When the ticket check began (epoch ms), for the tunnel's span. */
    tunnelStartedAt: number;
    /** The agent's probation after a security decision, if any (a locked agent never gets here). */
    probation: AgentLock | undefined;
    /** The trust the agent's last session ended on, if below 1 and recent: the new one starts there. */
    carriedTrust: number | undefined;
  }) => DesktopSession;
}

/** The WebSocket as guacamole-lite sees it: messages from the browser arrive only through the tap. */
class TappedSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  constructor(private readonly ws: WebSocket) {
    super();
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: string, options: object, cb?: (err?: Error) => void): void {
    this.ws.send(data, options, cb);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

const CLOSE_GRACE_MS = 500;

/** The Guacamole status a refused tunnel carries, so the page can tell a final refusal from one worth retrying. */
const REFUSAL_STATUS: Partial<Record<VdiguardError['code'], number>> = {
  'not-found': GuacStatus.RESOURCE_NOT_FOUND,
  'resource-exhausted': GuacStatus.CLIENT_TOO_MANY,
  'failed-precondition': GuacStatus.RESOURCE_CONFLICT,
};

export async function openTunnel(ws: WebSocket, url: URL, address: string, userAgent: string, d: TunnelDeps): Promise<DesktopSession | undefined> {
  const refuse = (message: string, status: number): void => {
    if (ws.readyState === ws.OPEN) ws.send(encodeInstruction('error', message, status));
    ws.close(1000);
  };
  // Messages that arrive while the ticket is checked would be lost; the browser sends none before
  // the desktop answers, but a hostile one might: refuse them.
  const early = (): void => refuse('Input before the connection was ready.', GuacStatus.CLIENT_BAD_REQUEST);
  ws.once('message', early);
  let claims;
  let desktop;
  let session: DesktopSession;
  let pins;
  const tunnelStartedAt = Date.now();
  const display = displayOf(url);
  try {
    claims = await d.login.tickets.redeem(url.searchParams.get('ticket') ?? '');
    desktop = await d.store.desktopFor(claims.agentId, claims.desktopId);
    if (!desktop) throw new VdiguardError('not-found', 'this desktop is not available to you');
    pins = parseCertFingerprints(desktop.certFingerprints);
    if (pins.problems.length > 0) {
      d.log.warn({ desktop: desktop.desktopId, problems: pins.problems }, 'desktop has invalid cert-fingerprints');
      throw new VdiguardError('failed-precondition', `the desktop's pinned certificate fingerprints are invalid (${pins.problems.join('; ')}); ask an administrator to correct them`);
    }
    // A ticket issued before its agent was locked must not open a session after it.
    const [probation, carriedTrust] = await Promise.all([d.login.admit(claims.agentId), d.carriedTrust(claims.agentId), d.checkOtherReplicas(claims.agentId)]);
    if (ws.readyState !== ws.OPEN) return undefined;
    session = d.startSession({
      sessionId: randomUUID(),
      agentId: claims.agentId,
      desktopId: claims.desktopId,
      loginId: claims.loginId,
      address,
      userAgent,
      width: display.width ?? 1024,
      height: display.height ?? 768,
      trace: claims.trace,
      tunnelStartedAt,
      probation,
      carriedTrust,
    });
  } catch (err) {
    const e = err instanceof VdiguardError ? err : new VdiguardError('internal', 'the gateway could not check the ticket');
    if (!(err instanceof VdiguardError)) d.log.error({ err: (err as Error).message }, 'ticket check failed');
    d.log.info({ address, reason: e.message }, 'tunnel refused');
    refuse(e.message, REFUSAL_STATUS[e.code] ?? GuacStatus.CLIENT_UNAUTHORIZED);
    return undefined;
  }
  ws.off('message', early);
  const socket = new TappedSocket(ws);
  const settings: Record<string, string> = {
    hostname: desktop.host,
    port: String(desktop.port),
    security: desktop.security,
    domain: desktop.domain,
    username: desktop.credentials.username,
    password: desktop.credentials.password,
    'ignore-cert': desktop.ignoreCert ? 'true' : '',
    // guacd's form, which the bridge reads too (gateway/guac/fingerprints.ts).
    'cert-fingerprints': guacdCertFingerprints(pins.fingerprints),
    'disable-audio': 'true',
    'resize-method': 'display-update',
    // The tap refuses what the policy does not allow; guacd then does not offer it either.
    'disable-copy': d.clipboard === 'off' ? 'true' : '',
    'disable-paste': d.clipboard === 'both' ? '' : 'true',
  };
  const where = `desktop ${desktop.desktopId} at ${formatHostPort(desktop)}`;
  const upstreamError: UpstreamErrorHook = (message, status) => {
    const failure = desktopFailure(message, status);
    if (!failure) return false;
    session.desktopFailed(failure, `${where}: ${message} (${guacStatusName(status)}); ${failure.hint}`, status, controls);
    return true;
  };
  const conn = d.connection(socket, settings, display, upstreamError);
  let closing: NodeJS.Timeout | undefined;
  const controls = {
    toBrowser: (text: string) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    },
    close: () => {
      conn.close();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000, 'session ended');
      // A browser that never answers the close handshake is cut off.
      closing ??= setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    },
  };
  session.attach(controls, claims.loginId);
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      session.fromBrowser(Buffer.from([0xff]), controls); // not Guacamole text: the tap ends the session
      return;
    }
    const forward = session.fromBrowser(data as Buffer, controls);
    if (forward !== null) socket.emit('message', forward);
  });
  ws.on('close', () => {
    clearTimeout(closing);
    socket.emit('close');
    session.disconnected('browser disconnected', controls);
    session.emit('socket-closed');
  });
  ws.on('error', () => undefined);
  conn.on('close', () => session.disconnected('desktop connection closed', controls));
  conn.connect(d.guacd);
  return session;
}

function displayOf(url: URL): DisplayRequest {
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = Number(url.searchParams.get(name));
    return Number.isInteger(v) && v >= min && v <= max ? v : undefined;
  };
  return { width: int('width', 320, 8192), height: int('height', 200, 8192), dpi: int('dpi', 48, 384) };
}
