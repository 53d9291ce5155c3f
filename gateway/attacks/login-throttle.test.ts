/**
 * Attack (issue 17): login limits that lose to concurrency and lock agents out. On main the limit
 * was checked, scrypt ran, and only then the failure was counted, in memory per replica: 100
 * concurrent wrong logins all reached the password check, and five failures from anywhere refused
 * the agent's right password and code too.
 *
 * Control: gateway/auth/throttle.ts counts each attempt in the store before the password is
 * checked, one atomic statement per key; a refused attempt answers 429 with the wait and runs no
 * scrypt. Failures elsewhere use up only their own address's attempts and, from addresses the
 * agent never logged in from, a shared agent-wide allowance that slows new addresses and never
 * holds an address the agent logged in from.
 *
 * Over real HTTP against the gateway with the default limits; the client socket binds 127.0.0.x
 * (trust-proxy is 0, so the gateway throttles by the socket's address).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AGENT, PASSWORD, startHarness, type Harness } from '../testing/harness.js';
import type { HashPlace } from '../auth/hash-queue.js';
import { passwordHashes } from '../auth/password.js';

const DEFAULT_LIMITS = { VDIGUARD_LOGIN_LIMIT_PER_AGENT_ADDRESS: '', VDIGUARD_LOGIN_LIMIT_PER_AGENT: '', VDIGUARD_LOGIN_LIMIT_PER_ADDRESS: '' };

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: { error?: string; desktops?: unknown[] };
}

function login(h: Harness, from: string, body: Record<string, unknown>): Promise<Answer> {
  const url = new URL('/api/login', h.gateway.url);
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: from, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const wrong = (h: Harness, from: string): Promise<Answer> => login(h, from, { agent: AGENT, password: 'not the password', code: '000000' });
const right = (h: Harness, from: string): Promise<Answer> => login(h, from, { agent: AGENT, password: PASSWORD, code: h.code() });

test('100 concurrent wrong logins for one agent: at most the limit (5) reach the password check; the rest get 429 with the wait', async () => {
  const h = await startHarness({ env: DEFAULT_LIMITS });
  try {
    const answers = await Promise.all(Array.from({ length: 100 }, () => wrong(h, '127.0.0.1')));
    const checked = answers.filter((a) => a.status === 401);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(checked.length, 5, `answered 401 (password checked): ${checked.length}`);
    assert.equal(refused.length, 95);
    for (const a of checked) assert.equal(a.body.error, 'wrong agent, password or code');
    for (const a of refused) {
      assert.match(a.body.error ?? '', /^too many login attempts; try again in 15 minutes$/);
      assert.equal(a.retryAfter, '900');
    }
  } finally {
    await h.close();
  }
});

test('an attacker at another address fails 40 times; the agent at its own address still logs in with the right password and code', async () => {
  const h = await startHarness({ env: DEFAULT_LIMITS });
  try {
    const attack = await Promise.all(Array.from({ length: 40 }, () => wrong(h, '127.0.0.2')));
    assert.ok(attack.every((a) => a.status === 401 || a.status === 429));
    const ok = await right(h, '127.0.0.1');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.ok(ok.body.desktops, "a login answer, with the agent's desktops");
  } finally {
    await h.close();
  }
});

test('attackers at 30 addresses: an address the agent logged in from stays open; a new one is slowed to one attempt per 5 minutes, not blocked', async () => {
  const h = await startHarness({ env: DEFAULT_LIMITS });
  try {
    assert.equal((await right(h, '127.0.0.1')).status, 200, 'the agent has logged in from 127.0.0.1 before');
    const attack = await Promise.all(Array.from({ length: 30 }, (_, i) => Array.from({ length: 3 }, () => wrong(h, `127.0.1.${i + 1}`))).flat());
    assert.equal(attack.filter((a) => a.status === 401).length, 10, 'the agent-wide allowance for new addresses: 10 at once');

    assert.equal((await right(h, '127.0.0.1')).status, 200, 'its own address is not held');
    const held = await right(h, '127.0.0.5');
    assert.equal(held.status, 429, 'a new address waits');
    assert.ok(Number(held.retryAfter) > 0 && Number(held.retryAfter) <= 300, `retry-after ${held.retryAfter}`);
    // Each code() moves the gateway's clock on 30 s; the next attempt is due within 5 minutes.
    for (let i = 0; i < 9; i++) h.code();
    const later = await right(h, '127.0.0.5');
    assert.equal(later.status, 200, JSON.stringify(later.body));
  } finally {
    await h.close();
  }
});

test('a sign-in rush beyond what the gateway hashes in 10 s: 503 with Retry-After before anything is counted; after the wait the right code gets in', async () => {
  const h = await startHarness({ env: DEFAULT_LIMITS });
  // The gateway's own hash queue, filled as a shift start's rush would fill it.
  const rush: HashPlace[] = [];
  try {
    while (passwordHashes.expectedWaitMs() <= 10_000) rush.push(passwordHashes.enter());
    const busy = await right(h, '127.0.0.1');
    assert.equal(busy.status, 503);
    assert.match(busy.body.error ?? '', /^the gateway is busy signing in other agents; try again in \d+ seconds$/);
    assert.ok(Number(busy.retryAfter) > 10, `Retry-After ${busy.retryAfter}: when the hashes queued now are done`);
    // More busy answers than the agent's attempts from this address (5): none of them counted.
    for (let i = 0; i < 6; i++) assert.equal((await wrong(h, '127.0.0.1')).status, 503);
    for (const place of rush.splice(0)) place.leave();
    for (let i = 0; i < 4; i++) assert.equal((await wrong(h, '127.0.0.1')).status, 401);
    assert.equal((await right(h, '127.0.0.1')).status, 200, 'the fifth attempt, the first four wrong ones being the only ones counted');
  } finally {
    for (const place of rush) place.leave();
    await h.close();
  }
});
