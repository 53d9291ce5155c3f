/**
 * A desktop "check" for the admin: can the gateway reach it? This is the minimal version (a TCP
 * connection within the timeout); the full one, which also reads the desktop's TLS certificate
 * and its fingerprint for pinning, replaces it.
 */
import { connect } from 'node:net';

export interface DesktopCheck {
  readonly reachable: boolean;
  /** sha256:aa:bb:.. as guacd pins it. */
  readonly fingerprint?: string;
  readonly subject?: string;
  readonly issuer?: string;
  /** ISO 8601. */
  readonly validTo?: string;
  readonly error?: string;
}

export function checkDesktop(o: { host: string; port: number; timeoutMs?: number }): Promise<DesktopCheck> {
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const socket = connect({ host: o.host, port: o.port });
    const done = (check: DesktopCheck): void => {
      socket.destroy();
      resolve(check);
    };
    socket.setTimeout(timeoutMs, () => done({ reachable: false, error: `no answer from ${o.host}:${o.port} within ${timeoutMs} ms` }));
    socket.once('connect', () => done({ reachable: true }));
    socket.once('error', (err) => done({ reachable: false, error: `cannot connect to ${o.host}:${o.port}: ${err.message}` }));
  });
}
