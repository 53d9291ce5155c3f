import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../lib/config.js';
import { loadGatewaySettings } from './config.js';

test('defaults: loopback on 8080, guacd on 4822, fail-closed enforcement', () => {
  const s = loadGatewaySettings({});
  assert.deepEqual(s.listen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(s.guacd, { host: '127.0.0.1', port: 4822 });
  assert.equal(s.mirrorPolicy, 'fail-closed');
  assert.equal(s.enforcement, 'enforce');
  assert.equal(s.ticketSeconds, 60);
});

const bad: { name: string; env: Record<string, string>; error: RegExp }[] = [
  { name: 'listen', env: { VDIGUARD_GATEWAY_LISTEN: '8080' }, error: /VDIGUARD_GATEWAY_LISTEN: expected host:port/ },
  { name: 'policy', env: { VDIGUARD_MIRROR_POLICY: 'maybe' }, error: /expected one of fail-closed, fail-open/ },
  { name: 'ticket lifetime over 60 s', env: { VDIGUARD_TICKET_SECONDS: '600' }, error: /from 5 to 60/ },
  { name: 'secret key', env: { VDIGUARD_GATEWAY_SECRET_KEY: 'c2hvcnQ=' }, error: /VDIGUARD_GATEWAY_SECRET_KEY: expected base64 of exactly 32 bytes \(openssl rand -base64 32\)$/m },
];

for (const { name, env, error } of bad) {
  test(`bad setting: ${name}`, () => {
    assert.throws(() => loadGatewaySettings(env), (err: unknown) => err instanceof ConfigError && error.test(err.message));
  });
}

test('every problem is reported at once, secrets never echoed', () => {
  try {
    loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: 'x', VDIGUARD_GUACD: 'y', VDIGUARD_GATEWAY_SECRET_KEY: 'topsecret' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 3);
    assert.doesNotMatch(err.message, /topsecret/);
  }
});
