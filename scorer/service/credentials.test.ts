import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdiguardError } from '../../lib/errors.js';
import { authorizeGateway, certificateNames, resolveGatewayToken } from './credentials.js';

const policy = { gatewayToken: 'gateway-token-0123456789abcdef', adminToken: 'admin-token-0123456789abcdef' };
const cert = (cn: string, san?: string): PeerCertificate => ({ subject: { CN: cn }, subjectaltname: san }) as unknown as PeerCertificate;
const code = (run: () => void): string | undefined => {
  try {
    run();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof VdiguardError);
    return err.code;
  }
};

test('a certificate is known by its CN and its DNS and URI alternative names, not its IP addresses', () => {
  assert.deepEqual(certificateNames(cert('gw', 'DNS:gateway.internal, IP Address:10.0.0.1, URI:spiffe://cluster/ns/vdiguard/sa/gateway')), ['gw', 'gateway.internal', 'spiffe://cluster/ns/vdiguard/sa/gateway']);
});

test('the gateway and admin tokens are accepted; none, a wrong one, or a certificate without mTLS is not', () => {
  assert.equal(code(() => authorizeGateway(`Bearer ${policy.gatewayToken}`, undefined, policy)), undefined);
  assert.equal(code(() => authorizeGateway(`Bearer ${policy.adminToken}`, undefined, policy)), undefined);
  assert.equal(code(() => authorizeGateway(undefined, undefined, policy)), 'unauthenticated');
  assert.equal(code(() => authorizeGateway(policy.gatewayToken, undefined, policy)), 'unauthenticated', 'the Bearer prefix is part of it');
  assert.equal(code(() => authorizeGateway(undefined, cert('gw'), policy)), 'unauthenticated', 'a certificate counts only when the scorer requires client certificates');
});

test('with mTLS, a verified certificate is a gateway by default, or when one of its names is listed', () => {
  assert.equal(code(() => authorizeGateway(undefined, cert('anything'), { ...policy, mtls: {} })), undefined);
  const listed = { ...policy, mtls: { names: ['gateway.internal'] } };
  assert.equal(code(() => authorizeGateway(undefined, cert('gw', 'DNS:gateway.internal'), listed)), undefined);
  assert.equal(code(() => authorizeGateway(undefined, cert('cli', 'DNS:cli.internal'), listed)), 'permission-denied');
  assert.equal(code(() => authorizeGateway(`Bearer ${policy.gatewayToken}`, cert('cli'), listed)), undefined);
  assert.equal(code(() => authorizeGateway('Bearer wrong', cert('cli'), listed)), 'unauthenticated');
});

test('the scorer creates the gateway token once (0600); a gateway only reads it and says where it looked', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vdiguard-cred-'));
  assert.throws(() => resolveGatewayToken({ dataDir, gatewayToken: undefined, gatewayTokenFile: undefined }, false), /no gateway token: set VDIGUARD_GATEWAY_TOKEN, or VDIGUARD_GATEWAY_TOKEN_FILE \(looked in .*gateway-token/);
  const token = resolveGatewayToken({ dataDir, gatewayToken: undefined, gatewayTokenFile: undefined });
  assert.ok(token.length >= 24);
  assert.equal(statSync(join(dataDir, 'gateway-token')).mode & 0o777, 0o600);
  assert.equal(resolveGatewayToken({ dataDir, gatewayToken: undefined, gatewayTokenFile: undefined }, false), token);
});
