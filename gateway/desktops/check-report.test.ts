import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkReport, parseDesktopAddress } from './check-report.js';

test('desktop addresses: the port defaults to 3389; IPv6 with or without brackets', () => {
  const table: [string, { host: string; port: number }][] = [
    ['desk-1.example', { host: 'desk-1.example', port: 3389 }],
    ['10.0.0.5:3390', { host: '10.0.0.5', port: 3390 }],
    ['[::1]:3391', { host: '::1', port: 3391 }],
    ['[::1]', { host: '::1', port: 3389 }],
    ['fe80::1', { host: 'fe80::1', port: 3389 }],
  ];
  for (const [text, address] of table) assert.deepEqual(parseDesktopAddress(text), address, text);
  for (const bad of ['', 'host:99999', 'a b']) assert.throws(() => parseDesktopAddress(bad), /is not a desktop address: give host or host:port/, bad);
});

test('the report shows the certificate and the --cert-fingerprints value; a failure shows what to check', () => {
  const fingerprint = `sha256:${'ab:'.repeat(31)}ab`;
  const out = checkReport('10.0.0.5:3389', { reachable: true, fingerprint, subject: 'CN=desk', issuer: 'CN=ca', validTo: '2030-01-01T00:00:00.000Z' });
  assert.match(out, /^desktop 10\.0\.0\.5:3389\n  certificate  CN=desk\n  issued by    CN=ca\n  valid until  2030-01-01T00:00:00\.000Z\n/);
  assert.ok(out.endsWith(`  --cert-fingerprints ${fingerprint}\n`));
  assert.match(out, /Pin it only if it is the desktop's own certificate/);
  assert.equal(checkReport('[::1]:3399', { reachable: false, error: 'refused: check the port' }), 'desktop [::1]:3399: not reachable\nrefused: check the port\n');
});
