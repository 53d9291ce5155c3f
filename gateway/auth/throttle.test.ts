import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGatewaySettings, loginThrottlePolicy } from '../config.js';
import { admittedWithin, formatRate, parseRate, scopesAfterAgentAddress, throttleAddress, throttleFigures, throttleKey, toleranceMs, waitMs } from './throttle.js';

test('rates read and write as <at once>+<per hour>/h, and bad ones say what is expected', () => {
  assert.deepEqual(parseRate('5+4/h'), { burst: 5, perHour: 4 });
  assert.deepEqual(parseRate(' 100+600/h '), { burst: 100, perHour: 600 });
  assert.equal(formatRate({ burst: 10, perHour: 12 }), '10+12/h');
  for (const bad of ['5', '5/h', '0+4/h', '5+0/h', '5+4/m', '-1+4/h', '5+4.5/h', '100001+1/h']) {
    assert.throws(() => parseRate(bad), /expected <attempts at once>\+<attempts per hour>\/h, for example 5\+4\/h/, bad);
  }
  assert.throws(() => loadGatewaySettings({ VDIGUARD_LOGIN_LIMIT_PER_AGENT: '5' }), /VDIGUARD_LOGIN_LIMIT_PER_AGENT: expected <attempts at once>/);
});

test('a key admits its burst at once, then one attempt per interval', () => {
  const r = { burst: 5, perHour: 4 };
  assert.equal(toleranceMs(r), 4 * 15 * 60_000);
  // Unused (tat at or before now): no wait. After five at t=0 the tat is 75 min ahead: wait 15 min.
  assert.equal(waitMs(0, 0, r), 0);
  assert.equal(waitMs(75 * 60_000, 0, r), 15 * 60_000);
  assert.equal(waitMs(75 * 60_000, 10 * 60_000, r), 5 * 60_000);
  assert.equal(waitMs(75 * 60_000, 15 * 60_000, r), 0);
  assert.equal(admittedWithin(r, 60 * 60_000), 9);
  assert.equal(admittedWithin(r, 14 * 60_000), 5);
});

test('keys: an address key names no agent, an agent key no address; known addresses skip the agent key', () => {
  assert.deepEqual(throttleKey('agent-address', 'alice', '10.0.0.1'), { scope: 'agent-address', agentId: 'alice', address: '10.0.0.1' });
  assert.deepEqual(throttleKey('agent', 'alice', '10.0.0.1'), { scope: 'agent', agentId: 'alice', address: '' });
  assert.deepEqual(throttleKey('address', 'alice', '10.0.0.1'), { scope: 'address', agentId: '', address: '10.0.0.1' });
  assert.deepEqual(scopesAfterAgentAddress(true), ['address']);
  assert.deepEqual(scopesAfterAgentAddress(false), ['agent', 'address']);
});

test('addresses: IPv4 as is (also IPv4-mapped), IPv6 by its /64 however it is written', () => {
  assert.equal(throttleAddress('10.1.2.3'), '10.1.2.3');
  assert.equal(throttleAddress('::ffff:10.1.2.3'), '10.1.2.3');
  const a = throttleAddress('2001:db8:0:1::5');
  assert.equal(a, '2001:db8:0:1::/64');
  assert.equal(throttleAddress('2001:0DB8:0000:0001:ffff:1:2:3'), a);
  assert.equal(throttleAddress('2001:db8:0:1:0:0:0:9%eth0'), a);
  assert.notEqual(throttleAddress('2001:db8:0:2::5'), a);
  assert.equal(throttleAddress('::1'), '0:0:0:0::/64');
  assert.equal(throttleAddress(''), '');
});

test('the default settings give the figures README and the threat model state', () => {
  const f = throttleFigures(loginThrottlePolicy(loadGatewaySettings({})));
  assert.deepEqual(f.oneAddress, { firstHour: 9, perHour: 4 });
  assert.deepEqual(f.manyAddresses, { firstHour: 22, perHour: 12 });
  assert.equal(f.ownMistakesWaitMs, 15 * 60_000);
});
