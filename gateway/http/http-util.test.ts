import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientAddress } from './http-util.js';

const req = (peer: string, xff?: string): IncomingMessage => ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

test('forwarded headers are ignored unless proxies are trusted', () => {
  assert.equal(clientAddress(req('10.0.0.9', '1.2.3.4'), 0), '10.0.0.9');
});

test('with trusted proxies, the address the outermost trusted one saw', () => {
  assert.equal(clientAddress(req('10.0.0.9', '1.2.3.4'), 1), '1.2.3.4');
  assert.equal(clientAddress(req('10.0.0.9', 'spoofed, 1.2.3.4'), 1), '1.2.3.4', 'a client cannot push its own entry past the proxy');
  assert.equal(clientAddress(req('10.0.0.9', 'spoofed, 1.2.3.4, 10.0.0.8'), 2), '1.2.3.4');
  assert.equal(clientAddress(req('10.0.0.9'), 1), '10.0.0.9');
});
