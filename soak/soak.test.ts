/**
 * The soak's smoke (CI): 100 sessions for a minute through the real scorer and two gateways on
 * PostgreSQL, with the scorer restarted, the database cut and a gateway restarted. What must hold
 * here is that nothing is lost: every record the services' logs say they made is in the store.
 * The performance targets are the full soak's (`npm run soak`), which prints them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_STORES } from '../lib/testing/databases.js';
import { runSoak } from './soak.js';
import { soakText } from './cli.js';

test('100 sessions for a minute, through a scorer restart, a database cut and a gateway restart: every record in the store', { skip: TEST_STORES[1]!.skip, timeout: 300_000 }, async () => {
  const r = await runSoak({
    sessions: 100,
    seconds: 60,
    enrolled: 10,
    // A few, to take the path; the full soak fills the scorers' population sample with 500.
    absent: 20,
    gateways: 2,
    faults: true,
    serverUrl: process.env.VDIGUARD_TEST_DATABASE_URL as string,
    progress: () => undefined,
  });
  process.stderr.write(soakText(r).replace(/^/gm, '# '));
  for (const fault of [/scorer 0 stopped with SIGTERM \(exit 0\)/, /database cut/, /gateway 1 stopped with SIGTERM \(exit 0\)/]) {
    assert.ok(r.faults.some((f) => fault.test(f)), `${fault.source} in ${r.faults.join('; ')}`);
  }
  assert.ok(r.load.tunnels >= 100 && r.load.events > 10_000, `the load ran: ${r.load.tunnels} tunnels, ${r.load.events} events`);
  assert.ok(r.load.reconnects > 0, 'clients of the restarted gateway reconnected');
  assert.ok(r.sentLateP99Ms.run !== null && r.sentLateP99Ms.run >= 1, `the load timed how late it sent its input: ${r.sentLateP99Ms.run} ms`);
  assert.deepEqual(r.load.failures, {});
  assert.equal(r.load.signedIn, 100, 'every agent signed in');
  for (const name of ['decisions', 'sessionsStarted', 'sessionsEnded', 'contributions'] as const) {
    assert.ok(r.records[name].expected > 0, `${name} were made`);
    assert.equal(r.records[name].written, r.records[name].expected, `every one of the ${name} in the store`);
  }
  assert.ok(r.verdictLatencyMs.verdicts > 0, 'verdicts were timed');
  for (const p of r.processes.filter((x) => (x.sessionsHeld ?? 0) > 0)) {
    assert.ok((p.gc.run.minor?.collections ?? 0) > 0, `${p.instance}, which held sessions, timed its collections`);
  }
  assert.deepEqual(
    [...new Set(r.processes.map((p) => p.instance.replace(/-\d+$/, '')))].sort(),
    ['gateway0', 'gateway1', 'scorer0', 'scorer1'],
    'every process reported its memory',
  );
});
