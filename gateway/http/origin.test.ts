import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossOriginProblem, parseAllowedOrigins } from './origin.js';

test('same origin: Origin names the host and port the request was sent to', () => {
  assert.equal(crossOriginProblem('https://vdi.example.com', 'vdi.example.com', []), undefined);
  assert.equal(crossOriginProblem('https://VDI.example.com', 'vdi.example.com:443', []), undefined, 'default port either way');
  assert.equal(crossOriginProblem('http://127.0.0.1:8080', '127.0.0.1:8080', []), undefined);
  assert.equal(crossOriginProblem('http://[::1]:8080', '[::1]:8080', []), undefined);
});

test('no Origin (not a browser) goes on; this control is against cross-site pages, not the agent', () => {
  assert.equal(crossOriginProblem(undefined, 'vdi.example.com', []), undefined);
});

test('another site, another port, an opaque or malformed Origin: refused with the reason', () => {
  assert.match(crossOriginProblem('https://evil.example', 'vdi.example.com', []) ?? '', /^a page from https:\/\/evil\.example may not use this gateway \(served as vdi\.example\.com\); add the origin to VDIGUARD_GATEWAY_ALLOWED_ORIGINS/);
  assert.ok(crossOriginProblem('http://127.0.0.1:9999', '127.0.0.1:8080', []));
  assert.ok(crossOriginProblem('https://vdi.example.com.evil.example', 'vdi.example.com', []));
  assert.ok(crossOriginProblem('https://evil.example', undefined, []));
  assert.ok(crossOriginProblem('https://vdi.example.com', 'user@vdi.example.com', []), 'a Host with userinfo is not a host');
  assert.match(crossOriginProblem('null', 'vdi.example.com', []) ?? '', /without an origin of its own/);
  assert.match(crossOriginProblem('not a url', 'vdi.example.com', []) ?? '', /is not an origin/);
});

test('allowed origins: a proxy that rewrites Host', () => {
  const allowed = parseAllowedOrigins('https://vdi.example.com, https://portal.example.com:8443/');
  assert.deepEqual(allowed, ['https://vdi.example.com', 'https://portal.example.com:8443']);
  assert.equal(crossOriginProblem('https://portal.example.com:8443', 'gateway.internal:8080', allowed), undefined);
  assert.ok(crossOriginProblem('https://portal.example.com', 'gateway.internal:8080', allowed), 'the port is part of the origin');
});

test('allowed origins: anything but scheme://host[:port] is named', () => {
  for (const bad of ['vdi.example.com', 'https://vdi.example.com/app', 'ftp://vdi.example.com', 'https://a@vdi.example.com', 'https://vdi.example.com?x=1']) {
    assert.throws(() => parseAllowedOrigins(bad), (err: Error) => err.message.startsWith(`"${bad}" is not an origin`), bad);
  }
});
