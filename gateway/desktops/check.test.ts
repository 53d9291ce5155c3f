/**
 * The desktop check over real sockets: the xrdp dev desktop (VDIGUARD_TEST_RDP=1), and servers on
 * loopback that are no RDP desktop: a closed port, an HTTP server, one that never answers, one that
 * offers no TLS, one that refuses the negotiation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkDesktop } from './check.js';
import { DESKTOP_HOST, DESKTOP_PORT, XRDP_CERT } from '../testing/desktop.js';
import { freePort } from '../testing/guacd.js';
import { guacdCertFingerprints, normalizeFingerprint, parseCertFingerprints } from '../guac/fingerprints.js';

const SKIP_RDP = process.env.VDIGUARD_TEST_RDP === '1' ? false : 'needs the xrdp dev desktop: run deploy/dev-desktop.sh and set VDIGUARD_TEST_RDP=1';

/** A loopback server that answers each connection's first data with `reply` (or never, when undefined). */
async function server(reply: Buffer | undefined): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
    c.once('data', () => reply && c.write(reply));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () => {
      for (const c of sockets) c.destroy();
      return new Promise((r) => s.close(() => r()));
    },
  };
}

test('the dev desktop: the fingerprint is that of /etc/xrdp/cert.pem, in the form guacd pins', { skip: SKIP_RDP }, async () => {
  const cert = new X509Certificate(readFileSync(XRDP_CERT));
  const r = await checkDesktop({ host: DESKTOP_HOST, port: DESKTOP_PORT });
  assert.equal(r.error, undefined);
  assert.equal(r.reachable, true);
  assert.equal(r.fingerprint, guacdCertFingerprints([normalizeFingerprint(cert.fingerprint256)]));
  assert.match(r.fingerprint!, /^sha256:([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
  assert.deepEqual(parseCertFingerprints(r.fingerprint!).problems, [], 'the value is accepted as --cert-fingerprints');
  assert.equal(r.subject, cert.subject.split('\n').join(', '));
  assert.equal(r.issuer, cert.issuer.split('\n').join(', '));
  assert.equal(r.validTo, new Date(cert.validTo).toISOString());
});

test('a closed port: not reachable, and the error says to check the port and the RDP service', async () => {
  const port = await freePort();
  const r = await checkDesktop({ host: '127.0.0.1', port });
  assert.deepEqual(r, { reachable: false, error: `127.0.0.1:${port} refused the connection (nothing listens there): check the port, and that the desktop's RDP service runs` });
});

test('a host name that does not resolve: not reachable, the error names DNS', async () => {
  const r = await checkDesktop({ host: 'no-such-desktop.invalid', port: 3389 });
  assert.equal(r.reachable, false);
  assert.match(r.error!, /no-such-desktop\.invalid:3389 could not be resolved/);
});

test('an HTTP server: reachable, but it does not speak RDP, and no fingerprint', async () => {
  const s = await server(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  try {
    const r = await checkDesktop({ host: '127.0.0.1', port: s.port });
    assert.equal(r.reachable, true);
    assert.equal(r.fingerprint, undefined);
    assert.match(r.error!, /does not speak RDP \(its first byte is 0x48.*check the port/);
  } finally {
    await s.close();
  }
});

test('a server that accepts and never answers: the check ends at its time limit and says so', async () => {
  const s = await server(undefined);
  try {
    const r = await checkDesktop({ host: '127.0.0.1', port: s.port, timeoutMs: 300 });
    assert.deepEqual(r, { reachable: true, error: `127.0.0.1:${s.port} accepted the connection but sent no RDP answer within 300 ms: is it the desktop's RDP port?` });
  } finally {
    await s.close();
  }
});

test('a desktop without TLS, and one that refuses the negotiation, each say what the desktop needs', async () => {
  const rdpOnly = await server(Buffer.from('0300000b06d00000123400', 'hex'));
  const nlaOnly = await server(Buffer.from('030000130ed000001234000300080005000000', 'hex'));
  try {
    assert.match((await checkDesktop({ host: '127.0.0.1', port: rdpOnly.port })).error!, /only standard RDP security, without TLS: it has no certificate to pin/);
    const r = await checkDesktop({ host: '127.0.0.1', port: nlaOnly.port });
    assert.equal(r.reachable, true);
    assert.match(r.error!, /requires NLA \(HYBRID_REQUIRED_BY_SERVER\)/);
  } finally {
    await rdpOnly.close();
    await nlaOnly.close();
  }
});
