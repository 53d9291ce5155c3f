import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadSettings, parse, parseHostPort, settingsTable, type Setting } from './config.js';

const spec = {
  listen: { env: 'T_LISTEN', description: 'where to listen', default: parseHostPort('127.0.0.1:1'), parse: parse.hostPort },
  workers: { env: 'T_WORKERS', description: 'worker count', default: 2, parse: parse.integer(1, 64) },
  ratio: { env: 'T_RATIO', description: 'a ratio', default: 0.5, parse: parse.number(0, 1) },
  tls: { env: 'T_TLS', description: 'use TLS', default: false, parse: parse.boolean },
  mode: { env: 'T_MODE', description: 'mode', default: 'enforce' as const, parse: parse.oneOf('enforce', 'monitor') },
  db: { env: 'T_DB', description: 'database', parse: parse.postgresUrl } as Setting<string>,
  token: { env: 'T_TOKEN', description: 'a secret', parse: parse.string, secret: true } as Setting<string>,
};

test('defaults apply when nothing is set', () => {
  const s = loadSettings(spec, {});
  assert.deepEqual(s.listen, { host: '127.0.0.1', port: 1 });
  assert.equal(s.workers, 2);
  assert.equal(s.db, undefined);
});

test('environment and overrides are parsed, overrides win', () => {
  const s = loadSettings(spec, { T_WORKERS: '8', T_TLS: 'yes', T_LISTEN: '[::1]:9' }, { workers: '3' });
  assert.equal(s.workers, 3);
  assert.equal(s.tls, true);
  assert.deepEqual(s.listen, { host: '::1', port: 9 });
});

const bad: { name: string; env: Record<string, string>; error: RegExp }[] = [
  { name: 'integer out of range', env: { T_WORKERS: '0' }, error: /T_WORKERS: expected a whole number from 1 to 64 \(got "0"\)/ },
  { name: 'not a number', env: { T_RATIO: 'half' }, error: /T_RATIO: expected a number from 0 to 1/ },
  { name: 'not a boolean', env: { T_TLS: 'maybe' }, error: /T_TLS: expected true or false/ },
  { name: 'unknown choice', env: { T_MODE: 'panic' }, error: /T_MODE: expected one of enforce, monitor/ },
  { name: 'host without port', env: { T_LISTEN: 'localhost' }, error: /T_LISTEN: expected host:port/ },
  { name: 'port too large', env: { T_LISTEN: 'localhost:70000' }, error: /T_LISTEN: expected host:port/ },
  { name: 'not a postgres URL', env: { T_DB: 'mysql://x/y' }, error: /T_DB: expected a postgres:\/\// },
];

for (const { name, env, error } of bad) {
  test(`rejects ${name}`, () => assert.throws(() => loadSettings(spec, env), error));
}

test('reports every problem at once and never echoes a secret', () => {
  const secretSpec = { ...spec, token: { ...spec.token, parse: () => { throw new Error('too short'); } } };
  try {
    loadSettings(secretSpec, { T_WORKERS: 'x', T_TLS: 'x', T_TOKEN: 'hunter2' });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 3);
    assert.match(err.message, /T_TOKEN: too short/);
    assert.doesNotMatch(err.message, /hunter2/);
  }
});

test('settings table lists each variable once', () => {
  const table = settingsTable(spec);
  for (const s of Object.values(spec)) assert.equal(table.split(`\`${s.env}\``).length, 2);
});
