import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { ProfileStore } from './profiles.js';
import { AuditLog } from './audit.js';
import { emptyProfile, type ProfileBody } from '../profile/profile.js';
import { VdiguardError } from '../../lib/errors.js';

const withKeystrokes = (body: ProfileBody, units: number): ProfileBody => ({
  ...body,
  keystroke: { ...body.keystroke, units: body.keystroke.units + units, windows: [...body.keystroke.windows, [units, 1.5]] },
});

for (const store of TEST_STORES) {
  describe(`profile store on ${store.name}`, { skip: store.skip }, () => {
    test('each update is a new version built on the latest one', async () => {
      const { db, drop } = await store.create();
      try {
        const profiles = new ProfileStore(db);
        assert.equal(await profiles.get('ann'), null);
        const v1 = await profiles.update('ann', 'enrolment', (cur) => ({ body: withKeystrokes(cur ?? emptyProfile(), 50), state: 'enrolling' }));
        assert.equal(v1.version, 1);
        const v2 = await profiles.update('ann', 'enrolment', (cur) => ({ body: withKeystrokes(cur!, 30), state: 'mature' }));
        assert.equal(v2.version, 2);
        const got = await profiles.get('ann');
        assert.equal(got?.state, 'mature');
        assert.equal(got?.keystrokes, 80);
        assert.deepEqual(got?.body.keystroke.windows, [[50, 1.5], [30, 1.5]]);
      } finally {
        await drop();
      }
    });

    test('a profile for scoring is the latest version without its windows: templates and counts as stored', async () => {
      const { db, drop } = await store.create();
      try {
        const profiles = new ProfileStore(db);
        assert.equal(await profiles.forScoring('cat'), null);
        const template = { weights: [0.5, -1.25], name: 'm' };
        await profiles.update('cat', 'enrolment', () => {
          const body = withKeystrokes(withKeystrokes(emptyProfile(), 50), 60);
          return { body: { ...body, keystroke: { ...body.keystroke, template }, mouse: { ...body.mouse, units: 7, windows: [[1, 2, 3]] } }, state: 'enrolling' };
        });
        const full = await profiles.get('cat');
        const scoring = await profiles.forScoring('cat');
        assert.equal(full?.body.keystroke.windows.length, 2);
        assert.deepEqual(scoring?.body.keystroke.windows, []);
        assert.deepEqual(scoring?.body.mouse.windows, []);
        assert.deepEqual(scoring?.body.keystroke.template, template);
        assert.deepEqual(
          { ...scoring, body: undefined, keystroke: scoring?.body.keystroke.units, mouse: scoring?.body.mouse.units },
          { ...full, body: undefined, keystroke: 110, mouse: 7 },
        );
      } finally {
        await drop();
      }
    });

    test('concurrent updates of one agent both land', async () => {
      const { db, drop } = await store.create();
      try {
        const profiles = new ProfileStore(db);
        await profiles.update('bob', 'enrolment', () => ({ body: emptyProfile(), state: 'enrolling' }));
        await Promise.all(
          [1, 2, 3, 4].map(() => profiles.update('bob', 'enrolment', (cur) => ({ body: withKeystrokes(cur!, 10), state: 'enrolling' }))),
        );
        const got = await profiles.get('bob');
        assert.equal(got?.version, 5);
        assert.equal(got?.keystrokes, 40);
      } finally {
        await drop();
      }
    });

    test('a slow change holds no lock: other updates land meanwhile, and the slow one is redone on top of them', async () => {
      const { db, drop } = await store.create();
      try {
        const profiles = new ProfileStore(db);
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let runs = 0;
        const slow = profiles.update('dee', 'enrolment', async (cur) => {
          runs++;
          await gate;
          return { body: withKeystrokes(cur ?? emptyProfile(), 7), state: 'enrolling' };
        });
        // With the change inside the row-lock transaction these would wait for the gate (and PGlite's single connection would stall).
        const fast = await profiles.update('dee', 'enrolment', (cur) => ({ body: withKeystrokes(cur ?? emptyProfile(), 5), state: 'enrolling' }));
        assert.equal(fast.version, 1);
        await profiles.update('eve', 'enrolment', () => ({ body: withKeystrokes(emptyProfile(), 3), state: 'enrolling' }));
        release();
        const done = await slow;
        assert.equal(runs, 2, 'the slow change lost the race once and was computed again on version 1');
        assert.equal(done.version, 2);
        assert.equal(done.keystrokes, 12);
        assert.deepEqual(done.body.keystroke.windows, [[5, 1.5], [7, 1.5]]);
      } finally {
        await drop();
      }
    });

    test('only the configured number of versions is kept', async () => {
      const { db, drop } = await store.create();
      try {
        const profiles = new ProfileStore(db, 2);
        for (let i = 1; i <= 4; i++) await profiles.update('fay', 'enrolment', (cur) => ({ body: withKeystrokes(cur ?? emptyProfile(), i), state: 'enrolling' }));
        const rows = await db.query<{ version: number }>('SELECT version FROM profile_versions WHERE agent_id = $1 ORDER BY version', ['fay']);
        assert.deepEqual(rows.map((r) => r.version), [3, 4]);
        assert.equal((await profiles.get('fay'))?.keystrokes, 10);
      } finally {
        await drop();
      }
    });

    test('reset empties the profile; delete removes it; unknown agents are a not-found error', async () => {
      const { db, drop } = await store.create();
      try {
        const profiles = new ProfileStore(db);
        await profiles.update('cy', 'enrolment', () => ({ body: withKeystrokes(emptyProfile(), 60), state: 'mature' }));
        const reset = await profiles.reset('cy');
        assert.equal(reset.state, 'enrolling');
        assert.equal(reset.keystrokes, 0);
        assert.equal(await profiles.delete('cy'), 2);
        assert.equal(await profiles.get('cy'), null);
        for (const call of [() => profiles.reset('cy'), () => profiles.delete('cy')]) {
          await assert.rejects(call(), (err: unknown) => err instanceof VdiguardError && err.code === 'not-found' && /"cy"/.test(err.message));
        }
      } finally {
        await drop();
      }
    });

    test('the audit trail keeps sessions and decisions with their trust trail and event-time report', async () => {
      const { db, drop } = await store.create();
      try {
        const audit = new AuditLog(db);
        const t0 = new Date('2026-01-02T03:04:05Z');
        await audit.sessionStarted({ sessionId: 's1', agentId: 'ann', desktopId: 'd1', clientAddress: '10.0.0.1', startedAt: t0 });
        await audit.sessionStarted({ sessionId: 's1', agentId: 'ann', desktopId: 'd1', clientAddress: '10.0.0.1', startedAt: t0 });
        const trail = [{ atMs: 1000, trust: 0.4, modality: 'keystroke', score: 3.2 }];
        const timing = { client: 1200, missing: 3, backwards: 1, future: 0, outsideEnvelope: 57, distrusted: 0, inconsistentStretches: 2, envelopeMs: 41.25 };
        const t1 = new Date(t0.getTime() + 1000);
        await audit.decision({ sessionId: 's1', agentId: 'ann', decidedAt: t0, source: 'gateway', trust: 1, state: 'unscored', action: 'protocol-error', reason: 'r', trail: [], timing: null });
        await audit.decision({ sessionId: 's1', agentId: 'ann', decidedAt: t1, source: 'scorer', trust: 0, state: 'mismatch', action: 'terminate', reason: 'r', trail, timing });
        await audit.sessionEnded({ sessionId: 's1', endedAt: t0, reason: 'terminated', minTrust: 0, finalTrust: 0 });
        const [d, before] = await audit.decisions({ agentId: 'ann' });
        assert.equal(d?.action, 'terminate');
        assert.deepEqual(d?.trail, trail);
        assert.deepEqual(d?.timing, timing);
        assert.equal(before?.timing, null, 'a decision before any verdict has no report');
        // A decision recorded before the column existed reads as no report.
        await db.query(`INSERT INTO decisions (session_id, agent_id, decided_at, source, trust, state, action, reason) VALUES ('s0', 'old', $1, 'scorer', 0.4, 'suspect', 'challenge', 'r')`, [t0]);
        assert.deepEqual((await audit.decisions({ agentId: 'old' })).map((x) => [x.action, x.timing]), [['challenge', null]]);
        const sessions = await db.query<{ end_reason: string; min_trust: number }>('SELECT end_reason, min_trust FROM sessions');
        assert.deepEqual(sessions, [{ end_reason: 'terminated', min_trust: 0 }]);
        assert.deepEqual(await audit.decisions({ agentId: 'nobody' }), []);
      } finally {
        await drop();
      }
    });
  });
}
