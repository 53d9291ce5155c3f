import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VdiguardError } from '../../lib/errors.js';
import { decisionsQuery, sessionsQuery } from './query.js';

const q = (s: string): ReturnType<typeof decisionsQuery> => decisionsQuery(new URLSearchParams(s));

test('decisions query: defaults, filters, the largest limit', () => {
  const none = { agentId: undefined, sessionId: undefined, action: undefined, since: undefined, until: undefined };
  assert.deepEqual(q(''), { ...none, limit: 100 });
  assert.deepEqual(q('agent=alice&session=3f1c-9&limit=1000'), { ...none, agentId: 'alice', sessionId: '3f1c-9', limit: 1000 });
  assert.deepEqual(q('agent=&limit=&action=&since='), { ...none, limit: 100 }, 'empty means no filter');
  assert.deepEqual(q('action=terminate&since=2025-03-01T08:00:00Z&until=2025-03-01T10:00:00.5%2B01:00'), {
    ...none,
    action: 'terminate',
    since: new Date('2025-03-01T08:00:00Z'),
    until: new Date('2025-03-01T09:00:00.5Z'),
    limit: 100,
  });
});

test('decisions query: a time without a zone, not a time, or an empty range says what to send', () => {
  for (const since of ['2025-03-01', '2025-03-01T08:00:00', 'yesterday', '2025-13-01T08:00:00Z', '1740816000']) {
    assert.throws(() => q(`since=${encodeURIComponent(since)}`), /^VdiguardError: since must be an ISO-8601 time with a zone, such as 2025-03-01T08:00:00Z/, since);
  }
  assert.throws(() => q('since=2025-03-01T10:00:00Z&until=2025-03-01T09:00:00Z'), /since \(2025-03-01T10:00:00.000Z\) must be before until/);
});

test('sessions query: live by default; state and limit checked', () => {
  const s = (text: string): ReturnType<typeof sessionsQuery> => sessionsQuery(new URLSearchParams(text));
  assert.deepEqual(s(''), { state: 'live', agentId: undefined, limit: 100 });
  assert.deepEqual(s('state=ended&agent=bob&limit=5'), { state: 'ended', agentId: 'bob', limit: 5 });
  assert.throws(() => s('state=active'), /state must be one of live, ended, all \(got "active"\)/);
  assert.throws(() => s('limit=0'), /limit must be a whole number from 1 to 1000/);
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
