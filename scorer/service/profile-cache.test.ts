import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyProfile } from '../profile/profile.js';
import type { ProfileRecord } from '../store/profiles.js';
import { ProfileCache } from './profile-cache.js';

/** A profile whose keystroke template is `templateChars` long, with `windows` windows of 20 numbers. */
function record(agentId: string, templateChars: number, windows = 0, version = 1): ProfileRecord {
  const body = emptyProfile();
  return {
    agentId,
    version,
    state: 'mature',
    keystrokes: 500,
    mouseActions: 0,
    updatedAt: new Date(0),
    body: {
      ...body,
      keystroke: { units: 500, windows: Array.from({ length: windows }, () => Array(20).fill(0.5)), model: 'm', template: { weights: 'w'.repeat(templateChars) } },
    },
  };
}

describe('the profile cache', () => {
  test('keeps no windows, and counts what it keeps by the size of the templates', () => {
    const cache = new ProfileCache(1_000_000);
    cache.put('alice', record('alice', 10_000, 300));
    assert.deepEqual(cache.get('alice')?.body.keystroke.windows, []);
    assert.ok(cache.bytes > 10_000 && cache.bytes < 11_000, `${cache.bytes} bytes for a 10,000-character template`);
    cache.put('bob', null);
    assert.equal(cache.get('bob'), null, 'an agent with no profile yet is kept as such');
    assert.equal(cache.get('carol'), undefined);
  });

  test('drops the least recently used beyond its bytes, however few the entries', () => {
    const cache = new ProfileCache(35_000);
    for (const id of ['a', 'b', 'c']) cache.put(id, record(id, 10_000));
    cache.get('a');
    cache.put('d', record('d', 10_000));
    assert.deepEqual(['a', 'b', 'c', 'd'].filter((id) => cache.has(id)), ['a', 'c', 'd'], 'b was used least recently');
    assert.ok(cache.bytes <= 35_000);
    cache.put('huge', record('huge', 50_000));
    assert.equal(cache.has('huge'), false, 'a profile larger than the whole bound is not kept');
    assert.equal(cache.size, 3, 'and pushes nothing out');
  });

  test('a new version replaces a kept profile and stays within the bound; agents not kept stay out', () => {
    const cache = new ProfileCache(22_000);
    cache.put('b', record('b', 5_000));
    cache.put('a', record('a', 5_000));
    cache.refresh('a', record('a', 18_000, 0, 2));
    assert.equal(cache.get('a')?.version, 2);
    assert.equal(cache.has('b'), false, 'the larger version pushed the least recently used out');
    cache.refresh('c', record('c', 1_000));
    assert.equal(cache.has('c'), false, "a fit of an agent whose session is not here is not kept");
    cache.delete('a');
    assert.equal(cache.bytes, 0);
  });
});
