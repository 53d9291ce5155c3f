import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameSecret } from './secrets.js';

test('sameSecret accepts only the exact secret', () => {
  const cases: [string | undefined, boolean][] = [
    ['admin-token-0123456789abcdef', true],
    ['admin-token-0123456789abcdeF', false],
    ['admin-token-0123456789abcde', false],
    ['admin-token-0123456789abcdef ', false],
    ['', false],
    [undefined, false],
  ];
  for (const [presented, same] of cases) assert.equal(sameSecret(presented, 'admin-token-0123456789abcdef'), same, JSON.stringify(presented));
});
