/**
 * The desktop "check": connect to a desktop as an RDP client would, up to the end of the TLS
 * handshake, and report the certificate it presents, so an admin can pin it (trust on first use:
 * docs/threat-model.md). Nothing is sent after the handshake: no credentials, no login.
 */
import net from 'node:net';
import tls from 'node:tls';
import { guacdCertFingerprints, normalizeFingerprint } from '../guac/fingerprints.js';
import { connectionRequest, MAX_CONFIRM_LENGTH, parseConnectionConfirm, PROTOCOL_RDP } from './rdp-negotiation.js';

export interface DesktopCheck {
  /** Something answered on host:port (it may still not be an RDP desktop: see `error`). */
  readonly reachable: boolean;
  /** SHA-256 of the leaf certificate as guacd pins it: `sha256:0f:51:...` (gateway/guac/fingerprints.ts). */
  readonly fingerprint?: string;
  readonly subject?: string;
  readonly issuer?: string;
  /** End of the certificate's validity, ISO-8601. */
  readonly validTo?: string;
  /** What went wrong and what to check; absent when the certificate was read. */
  readonly error?: string;
}

export interface CheckTarget {
  readonly host: string;
  readonly port: number;
  /** Limit for the whole check, in milliseconds (default 5000). */
  readonly timeoutMs?: number;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 5000;

type Phase = 'connect' | 'negotiate' | 'tls';

/** Connects, negotiates TLS the way RDP does and reads the desktop's certificate. Never rejects. */
export function checkDesktop({ host, port, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS }: CheckTarget): Promise<DesktopCheck> {
  const where = `${host}:${port}`;
  return new Promise((resolve) => {
    let phase: Phase = 'connect';
    let done = false;
    let secure: tls.TLSSocket | undefined;
    const socket = net.connect({ host, port });
    const finish = (result: DesktopCheck): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      secure?.destroy();
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(timedOut(phase, where, timeoutMs)), timeoutMs);

    socket.on('error', (err: NodeJS.ErrnoException) => finish(socketError(err, phase, where)));
    socket.on('close', () => {
      if (phase === 'negotiate') finish({ reachable: true, error: `${where} closed the connection without an RDP answer: is it the desktop's RDP port?` });
    });
    socket.on('connect', () => {
      phase = 'negotiate';
      socket.write(connectionRequest());
    });
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]).subarray(0, MAX_CONFIRM_LENGTH + 1);
      const r = parseConnectionConfirm(received);
      if (r.kind === 'incomplete') return;
      if (r.kind === 'failed') return finish({ reachable: true, error: `${where}: ${r.reason}${r.notRdp ? ': check the port (RDP listens on 3389 by default)' : ''}` });
      if (r.protocol === PROTOCOL_RDP) {
        return finish({ reachable: true, error: `${where} offers only standard RDP security, without TLS: it has no certificate to pin; enable TLS (security layer "SSL") on the desktop` });
      }
      socket.off('data', onData);
      phase = 'tls';
      secure = tls.connect({ socket, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false });
      secure.on('error', (err) => finish({ reachable: true, error: `the TLS handshake with ${where} failed (${err.message}): the desktop's TLS settings or certificate are broken` }));
      secure.once('secureConnect', () => {
        const cert = secure!.getPeerX509Certificate();
        if (!cert) return finish({ reachable: true, error: `${where} completed TLS without a certificate` });
        finish({
          reachable: true,
          fingerprint: guacdCertFingerprints([normalizeFingerprint(cert.fingerprint256)]),
          subject: oneLine(cert.subject),
          issuer: oneLine(cert.issuer),
          validTo: new Date(cert.validTo).toISOString(),
        });
      });
    };
    socket.on('data', onData);
  });
}

/** X509Certificate puts one attribute per line. */
function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

function timedOut(phase: Phase, where: string, ms: number): DesktopCheck {
  switch (phase) {
    case 'connect':
      return { reachable: false, error: `no answer from ${where} within ${ms} ms: check the host and port, and that no firewall drops the gateway's connections` };
    case 'negotiate':
      return { reachable: true, error: `${where} accepted the connection but sent no RDP answer within ${ms} ms: is it the desktop's RDP port?` };
    case 'tls':
      return { reachable: true, error: `${where} did not complete the TLS handshake within ${ms} ms` };
  }
}

function socketError(err: NodeJS.ErrnoException, phase: Phase, where: string): DesktopCheck {
  switch (err.code) {
    case 'ECONNREFUSED':
      return { reachable: false, error: `${where} refused the connection (nothing listens there): check the port, and that the desktop's RDP service runs` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { reachable: false, error: `the host name of ${where} could not be resolved: check its spelling and the gateway's DNS` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { reachable: false, error: `${where} is unreachable from the gateway (${err.code}): check the address and the routing to it` };
    case 'ETIMEDOUT':
      return { reachable: false, error: `no answer from ${where}: check the host and port, and that no firewall drops the gateway's connections` };
    default:
      return { reachable: phase !== 'connect', error: `${where}: ${err.message}` };
  }
}
