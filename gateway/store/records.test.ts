import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { Spill } from '../../lib/db/spill.js';
import { AuditLog } from '../../scorer/store/audit.js';
import { SecretBox } from '../auth/secret-box.js';
import { GatewayStore } from './gateway-store.js';
import { gatewayRecordLabel, isGatewayRecord, writeGatewayRecord, type GatewayRecord } from './records.js';

const at = new Date('2026-12-04T10:00:00.000Z');
const RECORDS: GatewayRecord[] = [
  { kind: 'live-session', replicaId: 'r1', session: { sessionId: 's1', agentId: 'alice', desktopId: 'd1' }, beatAt: at },
  {
    kind: 'decision',
    decision: { recordId: 'dec-1', sessionId: 's1', agentId: 'alice', decidedAt: at, source: 'gateway', trust: 0.2, state: 'challenged', action: 'challenge', reason: 'trust low', trail: [], timing: null },
  },
  { kind: 'trust-carried', agentId: 'alice', trust: 0.4, sessionId: 's1', endedAt: at },
  { kind: 'live-session-ended', sessionId: 's1' },
];

test("the gateway's records come back from a spill file as they went in, dates and all, each under its own label", () => {
  const spill = new Spill({ dir: join(mkdtempSync(join(tmpdir(), 'vdiguard-gw-spill-')), 'spill'), queue: 'gateway', isRecord: isGatewayRecord });
  spill.save(RECORDS);
  assert.deepEqual(spill.load().records, RECORDS);
  assert.deepEqual(RECORDS.map(gatewayRecordLabel), ['live session s1', 'gateway decision challenge in s1', 'trust carried from s1', 'ended session s1']);
  assert.equal(isGatewayRecord({ kind: 'trust-carried', agentId: 'alice', trust: 0.4, sessionId: 's1', endedAt: '2026-12-04' }), false, 'a date that did not come back as one');
  assert.equal(isGatewayRecord({ kind: 'drop-table' }), false);
});

for (const store of TEST_STORES) {
  describe(`gateway records on ${store.name}`, { skip: store.skip }, () => {
    test('written twice in order, they leave what writing them once leaves', async () => {
      const { db, drop } = await store.create();
      try {
        const gateway = new GatewayStore(db, new SecretBox(randomBytes(32)));
        await gateway.addAgent({ agentId: 'alice', displayName: 'Alice', passwordHash: 'x', totpSecret: 'y' });
        const to = { audit: new AuditLog(db), store: gateway };
        const snapshot = async (): Promise<unknown> => ({
          decisions: (await to.audit.decisions({ sessionId: 's1' })).map((d) => d.action),
          live: await db.query('SELECT session_id FROM live_sessions'),
          trust: await gateway.carriedTrust('alice', new Date(0)),
        });
        for (const r of RECORDS) await writeGatewayRecord(r, to);
        const once = await snapshot();
        assert.deepEqual(once, { decisions: ['challenge'], live: [], trust: 0.4 });
        for (const r of RECORDS) await writeGatewayRecord(r, to);
        assert.deepEqual(await snapshot(), once);
      } finally {
        await drop();
      }
    });
  });
}
