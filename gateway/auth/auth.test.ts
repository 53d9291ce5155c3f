import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, totpCode } from './totp.js';
import { SecretBox } from './secret-box.js';
import { Tickets } from './tickets.js';
import { hashPassword, verifyPassword } from './password.js';

// RFC 6238 appendix B, SHA-1, key "12345678901234567890" (8 digits there; the last 6 here).
const RFC_KEY = Buffer.from('12345678901234567890');
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
];

test('TOTP matches the RFC 6238 test vectors', () => {
  for (const [t, code] of RFC_VECTORS) {
    assert.equal(hotp(RFC_KEY, Math.floor(t / 30), 8), code, `t=${t}`);
    assert.equal(totpCode(base32Encode(RFC_KEY), t * 1000), code.slice(-6));
  }
});

test('base32 round trip', () => {
  for (let n = 0; n < 25; n++) {
    const b = randomBytes(n);
    assert.deepEqual(base32Decode(base32Encode(b)), b);
  }
  assert.throws(() => base32Decode('abc1'), /not base32/);
});

test('TOTP skew window: codes within skew steps match and return their step; others do not', () => {
  const secret = base32Encode(RFC_KEY);
  const now = 1_700_000_000_000;
  const step = Math.floor(now / 30000);
  assert.equal(matchTotp(secret, totpCode(secret, now), now, 1), step);
  assert.equal(matchTotp(secret, totpCode(secret, now - 30000), now, 1), step - 1);
  assert.equal(matchTotp(secret, totpCode(secret, now + 30000), now, 1), step + 1);
  assert.equal(matchTotp(secret, totpCode(secret, now - 60000), now, 1), undefined);
  assert.equal(matchTotp(secret, totpCode(secret, now - 30000), now, 0), undefined);
  for (const bad of ['', '12345', '1234567', 'abcdef', ' 123456']) assert.equal(matchTotp(secret, bad, now, 1), undefined);
});

test('otpauth URI carries issuer, account and secret', () => {
  const uri = otpauthUri('vdiguard', 'alice', 'JBSWY3DPEHPK3PXP');
  assert.match(uri, /^otpauth:\/\/totp\/vdiguard%3Aalice\?secret=JBSWY3DPEHPK3PXP&issuer=vdiguard/);
});

test('sealed values open only with the same key and purpose', () => {
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal('totp-secret', 'JBSWY3DP');
  assert.equal(box.open('totp-secret', sealed), 'JBSWY3DP');
  assert.equal(box.open('ticket', sealed), undefined, 'another purpose');
  assert.equal(new SecretBox(randomBytes(32)).open('totp-secret', sealed), undefined, 'another key');
  const raw = Buffer.from(sealed, 'base64url');
  raw[raw.length - 1]! ^= 1;
  assert.equal(box.open('totp-secret', raw.toString('base64url')), undefined, 'tampered');
  assert.equal(box.open('totp-secret', '!!!'), undefined);
});

function tickets(now: { t: number }, revoked = new Set<string>()) {
  const used = new Set<string>();
  return new Tickets({
    box: new SecretBox(randomBytes(32)),
    ttlMs: 60_000,
    now: () => now.t,
    markUsed: async (id) => (used.has(id) ? false : (used.add(id), true)),
    isRevoked: async (l) => revoked.has(l),
  });
}

test('tickets: valid once, bound to agent and desktop', async () => {
  const now = { t: 1000 };
  const t = tickets(now);
  const { ticket } = t.issue('alice', 'desk-1', 'login-1');
  const claims = await t.redeem(ticket);
  assert.equal(claims.agentId, 'alice');
  assert.equal(claims.desktopId, 'desk-1');
  await assert.rejects(t.redeem(ticket), /already used/);
});

test('tickets: expired, forged, tampered, foreign and revoked ones are refused', async () => {
  const now = { t: 1000 };
  const revoked = new Set<string>();
  const t = tickets(now, revoked);
  const a = t.issue('alice', 'desk-1', 'login-1').ticket;
  now.t += 60_001;
  await assert.rejects(t.redeem(a), /expired/);
  now.t = 1000;
  await assert.rejects(t.redeem('eyJjb25uZWN0aW9uIjp7fX0'), /invalid connection ticket/, 'a guacamole-lite style token');
  await assert.rejects(t.redeem(a.slice(0, 20) + (a[20] === 'A' ? 'B' : 'A') + a.slice(21)), /invalid/);
  await assert.rejects(tickets(now).redeem(t.issue('alice', 'desk-1', 'l').ticket), /invalid/, 'another gateway key');
  await assert.rejects(t.redeem(undefined), /invalid/);
  const b = t.issue('alice', 'desk-1', 'login-2').ticket;
  revoked.add('login-2');
  await assert.rejects(t.redeem(b), /login was ended/);
});

test('password hashes verify the right password only, and name their parameters', async () => {
  const h = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
  assert.match(h, /^scrypt\$1024\$8\$1\$/);
  assert.ok(await verifyPassword('correct horse', h));
  assert.ok(!(await verifyPassword('correct hors', h)));
  assert.ok(!(await verifyPassword('x', 'not a hash')));
  await assert.rejects(hashPassword('short'), /8 to/);
});
