import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VdiguardError } from '../../lib/errors.js';
import { decisionsQuery } from './query.js';

const q = (s: string): ReturnType<typeof decisionsQuery> => decisionsQuery(new URLSearchParams(s));

test('decisions query: defaults, filters, the largest limit', () => {
  assert.deepEqual(q(''), { agentId: undefined, sessionId: undefined, limit: 100 });
  assert.deepEqual(q('agent=alice&session=3f1c-9&limit=1000'), { agentId: 'alice', sessionId: '3f1c-9', limit: 1000 });
  assert.deepEqual(q('agent=&limit='), { agentId: undefined, sessionId: undefined, limit: 100 }, 'empty means no filter');
});

test('decisions query: a bad limit or id is invalid-argument with what was wrong', () => {
  const refused = (s: string, message: RegExp): void =>
    assert.throws(() => q(s), (err: unknown) => err instanceof VdiguardError && err.code === 'invalid-argument' && message.test(err.message), s);
  for (const limit of ['-1', '0', 'abc', '1001', '1e3', '99999999999999999999', '1.5', ' 5', '0x10']) {
    refused(`limit=${encodeURIComponent(limit)}`, /^limit must be a whole number from 1 to 1000 \(got /);
  }
  refused(`agent=${'a'.repeat(201)}`, /^agent must be 1 to 200 printable characters/);
  refused('session=a%0Ab', /^session must be 1 to 200 printable characters/);
});
