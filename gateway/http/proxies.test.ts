import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, NO_TRUSTED_PROXIES, parseTrustedProxies } from './proxies.js';

test('trusted proxies: addresses and CIDR ranges, IPv4 and IPv6, IPv4-mapped peers match IPv4 rules', () => {
  const p = parseTrustedProxies(' 10.0.0.0/8, 192.0.2.7 ,fd00::/8,::1');
  assert.equal(p.text, '10.0.0.0/8,192.0.2.7,fd00::/8,::1');
  for (const a of ['10.0.0.1', '10.255.255.255', '192.0.2.7', 'fd00::1', 'fdff:1::2', '::1', '::ffff:10.1.2.3']) assert.ok(p.has(a), a);
  for (const a of ['11.0.0.1', '192.0.2.8', 'fe80::1', '::2', '::ffff:11.1.2.3', 'not-an-address', '']) assert.ok(!p.has(a), a);
  assert.ok(!NO_TRUSTED_PROXIES.has('127.0.0.1'));
});

test('trusted proxies: a wrong entry is named', () => {
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'proxy.example', '10.0.0.0/', '10.0.0.0/8/1', '10.0.0.0/x', '300.1.1.1']) {
    assert.throws(() => parseTrustedProxies(`192.0.2.7,${bad}`), (err: Error) => err.message.startsWith(`"${bad}" is not an IP address or CIDR range`), bad);
  }
});

const proxies = parseTrustedProxies('10.0.0.0/8,2001:db8::/32');

test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', () => {
  assert.equal(clientAddress('203.0.113.9', '1.2.3.4', proxies), '203.0.113.9');
  assert.equal(clientAddress('203.0.113.9', '1.2.3.4', NO_TRUSTED_PROXIES), '203.0.113.9');
  assert.equal(clientAddress('::ffff:203.0.113.9', '1.2.3.4', proxies), '203.0.113.9', 'IPv4-mapped peers are reported as IPv4');
});

test('from a trusted proxy, the first entry from the right that no trusted proxy wrote', () => {
  assert.equal(clientAddress('10.0.0.9', '198.51.100.4', proxies), '198.51.100.4');
  assert.equal(clientAddress('10.0.0.9', 'spoofed, 198.51.100.4', proxies), '198.51.100.4', 'an entry the client wrote stays left of the one the proxy appended');
  assert.equal(clientAddress('10.0.0.9', '6.6.6.6, 198.51.100.4, 10.0.0.8', proxies), '198.51.100.4', 'two trusted hops');
  assert.equal(clientAddress('::ffff:10.0.0.9', '198.51.100.4', proxies), '198.51.100.4');
  assert.equal(clientAddress('2001:db8::1', '2001:db9::7, [2001:DB9::2]:443, 2001:db8:ffff::5', proxies), '2001:db9::2');
  assert.equal(clientAddress('10.0.0.9', ['6.6.6.6', '198.51.100.4:5100'], proxies), '198.51.100.4', 'repeated headers, a port');
});

test('from a trusted proxy, no header or only trusted hops: the leftmost trusted hop; garbage stops the walk', () => {
  assert.equal(clientAddress('10.0.0.9', undefined, proxies), '10.0.0.9');
  assert.equal(clientAddress('10.0.0.9', '10.0.0.7, 10.0.0.8', proxies), '10.0.0.7');
  assert.equal(clientAddress('10.0.0.9', '198.51.100.4, <script>', proxies), '10.0.0.9', 'text where an address belongs is never the client address');
  assert.equal(clientAddress('10.0.0.9', '', proxies), '10.0.0.9');
});
