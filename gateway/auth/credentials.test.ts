import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { VdiguardError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { GatewayStore } from '../store/gateway-store.js';
import { CredentialCheck, type Credentials } from './credentials.js';
import { HashQueue } from './hash-queue.js';
import { hashPassword } from './password.js';
import { SecretBox } from './secret-box.js';
import type { ThrottlePolicy } from './throttle.js';
import { newTotpSecret, totpCode } from './totp.js';

const POLICY: ThrottlePolicy = { 'agent-address': { burst: 3, perHour: 4 }, agent: { burst: 5, perHour: 12 }, address: { burst: 50, perHour: 60 } };

for (const s of TEST_STORES) {
  test(`credentials on ${s.name}: a code is matched at its arrival, however long the hash queue kept it; a busy refusal costs no attempt`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      const secret = newTotpSecret();
      const alice: Credentials = { passwordHash: await hashPassword('password-1', { N: 1024, r: 8, p: 1 }), totpSecret: secret, active: true };
      let now = 1_700_000_000_000;
      const hashes = new HashQueue({ concurrency: 1, maxWaitMs: 1000, initialHashMs: 400, now: () => now });
      const check = new CredentialCheck({ store, throttle: POLICY, totpSkewSteps: 1, log: silentLogger(), now: () => now, hashes });

      // The store answers two minutes later (a queue, a busy pool): the code was current when it
      // arrived, four 30 s steps before the hash finished, and is accepted.
      const sentAt = now;
      const slow = async (): Promise<Credentials> => {
        now += 120_000;
        return alice;
      };
      const late = await check.signIn('alice', slow, 'password-1', totpCode(secret, sentAt), '10.0.0.1');
      assert.equal(late.ok, true);
      assert.ok(late.checkMs >= 120_000, `the check's time is reported (${late.checkMs} ms)`);
      // A code from before the attempt's arrival window is still refused.
      const stale = await check.signIn('alice', async () => alice, 'password-1', totpCode(secret, now - 120_000), '10.0.0.1');
      assert.deepEqual([stale.ok, !stale.ok && stale.why], [false, 'wrong credentials']);

      // Hashes waiting fill the queue's 1 s; the next attempt is refused as busy, and not counted.
      const places = [];
      while (hashes.expectedWaitMs() <= 1000) places.push(hashes.enter());
      await assert.rejects(
        check.signIn('bob', async () => undefined, 'whatever-1', '000000', '10.0.0.2'),
        (err: unknown) => err instanceof VdiguardError && err.code === 'unavailable' && (err.retryAfterMs ?? 0) >= 1000,
      );
      for (const p of places) p.leave();
      // Bob's three attempts per address are all still there: the busy refusal was not one of them.
      for (let i = 0; i < 3; i++) {
        const wrong = await check.signIn('bob', async () => undefined, 'whatever-1', '000000', '10.0.0.2');
        assert.equal(wrong.ok, false);
      }
      await assert.rejects(check.signIn('bob', async () => undefined, 'whatever-1', '000000', '10.0.0.2'), (err: unknown) => err instanceof VdiguardError && err.code === 'resource-exhausted');
    } finally {
      await drop();
    }
  });
}
