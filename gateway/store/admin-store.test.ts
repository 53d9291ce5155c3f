import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { SecretBox } from '../auth/secret-box.js';
import { AdminStore } from './admin-store.js';

const admin = (name: string, role: 'admin' | 'analyst' = 'admin') => ({ name, role, passwordHash: 'scrypt$x', totpSecret: 'TOTPSECRETTOTPSECRET' });

for (const s of TEST_STORES) {
  test(`admin store on ${s.name}: accounts, sealed TOTP secrets, names and roles checked`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const box = new SecretBox(randomBytes(32));
      const admins = new AdminStore(db, box);
      const ann = await admins.add(admin('ann'));
      assert.deepEqual([ann.name, ann.role, ann.status], ['ann', 'admin', 'active']);
      await admins.add(admin('carl', 'analyst'));
      await assert.rejects(admins.add(admin('ann')), (e: Error & { field?: string }) => /admin ann already exists/.test(e.message) && e.field === 'name');
      await assert.rejects(admins.add(admin('no spaces')), (e: Error & { field?: string }) => /an admin name must be 1 to 100/.test(e.message) && e.field === 'name');
      await assert.rejects(admins.add({ ...admin('dora'), role: 'boss' as 'admin' }), (e: Error & { field?: string }) => /role must be one of admin, analyst/.test(e.message) && e.field === 'role');
      assert.deepEqual((await admins.list()).map((a) => `${a.name}:${a.role}`), ['ann:admin', 'carl:analyst']);
      assert.equal((await admins.secrets('ann'))?.totpSecret, 'TOTPSECRETTOTPSECRET');
      assert.equal(await admins.secrets('nobody'), undefined);
      const [raw] = await db.query<{ totp_secret: string }>(`SELECT totp_secret FROM admins WHERE name = 'ann'`);
      assert.doesNotMatch(raw!.totp_secret, /TOTPSECRET/, 'sealed at rest');
      await admins.setTotpSecret('ann', 'NEWSECRET');
      assert.equal((await admins.secrets('ann'))?.totpSecret, 'NEWSECRET');
      await assert.rejects(new AdminStore(db, new SecretBox(randomBytes(32))).secrets('ann'), /does not open with this gateway's key/);
      await assert.rejects(admins.update('zed', { role: 'analyst' }), /no admin "zed"/);
    } finally {
      await drop();
    }
  });

  test(`admin store on ${s.name}: the last active admin is never removed, demoted or disabled`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const admins = new AdminStore(db, new SecretBox(randomBytes(32)));
      await admins.add(admin('ann'));
      await admins.add(admin('carl', 'analyst'));
      for (const attempt of [() => admins.remove('ann'), () => admins.update('ann', { role: 'analyst' }), () => admins.update('ann', { status: 'disabled' })]) {
        await assert.rejects(attempt(), /cannot (remove|demote|disable) ann: they are the last active admin/);
      }
      assert.equal((await admins.update('carl', { status: 'disabled' })).status, 'disabled', 'analysts never count');
      await admins.add(admin('bea'));
      // Two admins taken out at once: the lock lets one through and refuses the other.
      const outcomes = await Promise.allSettled([admins.update('ann', { status: 'disabled' }), admins.remove('bea')]);
      assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
      const left = (await admins.list()).filter((a) => a.role === 'admin' && a.status === 'active');
      assert.equal(left.length, 1);
      // A disabled admin enabled again, then the other can go.
      await admins.add(admin('dan'));
      assert.equal((await admins.update(left[0]!.name, { role: 'analyst' })).role, 'analyst');
      await admins.remove(left[0]!.name);
      assert.deepEqual((await admins.list()).filter((a) => a.role === 'admin' && a.status === 'active').map((a) => a.name), ['dan']);
    } finally {
      await drop();
    }
  });

  test(`admin store on ${s.name}: replicas starting together create one first admin`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const admins = new AdminStore(db, new SecretBox(randomBytes(32)));
      const made = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((n) => admins.addFirst(admin(n))));
      assert.equal(made.filter((m) => m !== undefined).length, 1);
      assert.equal((await admins.list()).length, 1);
      assert.equal(await admins.addFirst(admin('later')), undefined, 'never once there is an admin');
    } finally {
      await drop();
    }
  });
}
