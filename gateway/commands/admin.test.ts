import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { SecretBox } from '../auth/secret-box.js';
import { GatewayStore } from '../store/gateway-store.js';
import { agentListing, unlock } from './admin.js';

for (const s of TEST_STORES) {
  test(`agent list and unlock on ${s.name}: the lock shown, lifted, and recorded as the admin's`, { skip: s.skip }, async () => {
    const { db, drop } = await s.create();
    try {
      const store = new GatewayStore(db, new SecretBox(randomBytes(32)));
      await store.addAgent({ agentId: 'alice', displayName: 'Alice', passwordHash: 'scrypt$x', totpSecret: 'SECRET' });
      await store.addAgent({ agentId: 'bob', displayName: 'Bob', passwordHash: 'scrypt$x', totpSecret: 'SECRET' });
      await store.lockAgent({ agentId: 'alice', kind: 'locked', trust: 0, sessionId: 's1', action: 'terminate', reason: 'mismatch' });
      const [alice, bob] = (await agentListing(store)).split('\n');
      assert.match(alice!, /^alice\tactive, locked since \d{4}-\d\d-\d\dT[\d:.]+Z \(terminate\)\tAlice$/);
      assert.equal(bob, 'bob\tactive\tBob');

      assert.equal((await unlock(store, 'alice')).sessionId, 's1');
      await assert.rejects(unlock(store, 'alice'), /agent "alice" is neither locked nor on probation/);
      assert.match(await agentListing(store), /^alice\tactive\tAlice\n/);
      const [d] = await new AuditLog(db).decisions({ agentId: 'alice' });
      assert.deepEqual([d?.action, d?.source, d?.sessionId, d?.trust], ['agent-unlocked', 'admin', 's1', 0]);
      assert.match(d!.reason, /^lock lifted by an administrator \(placed .* after terminate\)$/);
    } finally {
      await drop();
    }
  });
}
