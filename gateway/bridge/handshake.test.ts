import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyClientInfo, connectionRequest, emptyClientInfo, HandshakeError, parseConnect, RDP_ARGS } from './handshake.js';
import { GuacStatus } from '../guac/status.js';

const values = (v: Record<string, string>) => RDP_ARGS.map((name) => v[name] ?? '');
const ok = { hostname: 'desk.example', username: 'agent', password: 'secret' };

test('connect with a version, without one (pre-1.1), and with a value in the version slot', () => {
  assert.equal(parseConnect(['VERSION_1_5_0', ...values(ok)]).version, 'VERSION_1_5_0');
  const old = parseConnect(values(ok));
  assert.equal(old.version, 'VERSION_1_0_0');
  assert.equal(old.values.get('hostname'), 'desk.example');
  assert.equal(parseConnect(['', ...values(ok)]).values.get('username'), 'agent');
});

test('defaults: port 3389, size from the client\'s size instruction, 24 bpp, US layout, certificate checked', () => {
  const info = emptyClientInfo();
  applyClientInfo(info, { opcode: 'size', args: ['1280', '720', '96'] });
  const r = connectionRequest(parseConnect(values(ok)).values, info);
  assert.deepEqual({ port: r.port, width: r.width, height: r.height, depth: r.colorDepth, keymap: r.keymap, ignore: r.ignoreCert },
    { port: 3389, width: 1280, height: 720, depth: 24, keymap: 'en-us-qwerty', ignore: false });
});

const bad: { name: string; v: Record<string, string>; status: number; error: RegExp }[] = [
  { name: 'no hostname', v: { ...ok, hostname: '' }, status: GuacStatus.CLIENT_BAD_REQUEST, error: /hostname is missing/ },
  { name: 'hostname with a space', v: { ...ok, hostname: 'a b' }, status: GuacStatus.CLIENT_BAD_REQUEST, error: /hostname "a b" is not a host name/ },
  { name: 'port out of range', v: { ...ok, port: '70000' }, status: GuacStatus.CLIENT_BAD_REQUEST, error: /port "70000"/ },
  { name: 'tiny width', v: { ...ok, width: '3' }, status: GuacStatus.CLIENT_BAD_REQUEST, error: /width "3"/ },
  { name: 'colour depth 8', v: { ...ok, 'color-depth': '8' }, status: GuacStatus.CLIENT_BAD_REQUEST, error: /color-depth "8"/ },
  { name: 'NLA', v: { ...ok, security: 'nla' }, status: GuacStatus.UNSUPPORTED, error: /TLS only/ },
  { name: 'unknown layout', v: { ...ok, 'server-layout': 'klingon' }, status: GuacStatus.CLIENT_BAD_REQUEST, error: /server-layout "klingon"/ },
  { name: 'short fingerprint', v: { ...ok, 'cert-fingerprints': 'abcd' }, status: GuacStatus.CLIENT_BAD_REQUEST, error: /not a SHA-256 fingerprint/ },
];

for (const { name, v, status, error } of bad) {
  test(`rejects ${name}`, () => {
    assert.throws(() => connectionRequest(parseConnect(values(v)).values, emptyClientInfo()), (e: unknown) => {
      assert.ok(e instanceof HandshakeError);
      assert.equal(e.status, status);
      assert.match(e.message, error);
      assert.doesNotMatch(e.message, /secret/, 'the password never appears in a message');
      return true;
    });
  });
}

test('a malformed size or version is a bad request', () => {
  assert.throws(() => applyClientInfo(emptyClientInfo(), { opcode: 'size', args: ['wide', '1'] }), /"size" needs a width and height/);
  assert.throws(() => parseConnect(['VERSION_x', ...values(ok)]), /unknown protocol version/);
  assert.throws(() => parseConnect(['VERSION_1_5_0', 'only']), /"connect" has 1 parameter values/);
});
