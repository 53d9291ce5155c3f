/** The desktop check on the command line: the address it takes and the report it prints. */
import { parseHostPort, type HostPort } from '../../lib/config.js';
import { VdiguardError } from '../../lib/errors.js';
import type { DesktopCheck } from './check.js';

export const RDP_PORT = 3389;

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; the port defaults to RDP's. */
export function parseDesktopAddress(text: string): HostPort {
  const t = text.trim();
  for (const candidate of [t, `${t.includes(':') && !t.startsWith('[') ? `[${t}]` : t}:${RDP_PORT}`]) {
    try {
      return parseHostPort(candidate);
    } catch {
      // the next form
    }
  }
  throw new VdiguardError('invalid-argument', `${JSON.stringify(text.slice(0, 100))} is not a desktop address: give host or host:port, for example 10.0.0.5:3389`);
}

/** What `vdiguard desktop check` prints: the certificate and the pin to use, or what to check. */
export function checkReport(where: string, check: DesktopCheck): string {
  if (!check.fingerprint) return `desktop ${where}: ${check.reachable ? 'reachable, but no certificate was read' : 'not reachable'}\n${check.error ?? ''}\n`;
  return [
    `desktop ${where}`,
    `  certificate  ${check.subject}`,
    `  issued by    ${check.issuer}`,
    `  valid until  ${check.validTo}`,
    `  fingerprint  ${check.fingerprint}`,
    'Pin it only if it is the desktop\'s own certificate: compare the fingerprint with the one the desktop shows',
    '(on Windows: the Remote Desktop certificate in certlm.msc; with xrdp: openssl x509 -fingerprint -sha256 -in its cert.pem).',
    `  --cert-fingerprints ${check.fingerprint}`,
    '',
  ].join('\n');
}
