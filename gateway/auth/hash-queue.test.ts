import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VdiguardError } from '../../lib/errors.js';
import { HashQueue } from './hash-queue.js';

/** A hash the test finishes when it wants: resolves with `value`. */
function held<T>(value: T): { hash: () => Promise<T>; finish: () => void; started: () => boolean } {
  let started = false;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    hash: async () => {
      started = true;
      await done;
      return value;
    },
    finish: () => finish(),
    started: () => started,
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('hash queue: runs `concurrency` hashes at once, the rest in arrival order as slots free', async () => {
  const q = new HashQueue({ concurrency: 2, maxWaitMs: 60_000, initialHashMs: 50, now: () => 0 });
  const hashes = [held(0), held(1), held(2), held(3)];
  const results = hashes.map((h) => {
    const place = q.enter();
    return place.run(h.hash).finally(() => place.leave());
  });
  await tick();
  assert.deepEqual(hashes.map((h) => h.started()), [true, true, false, false]);
  hashes[1]?.finish();
  await tick();
  assert.deepEqual(hashes.map((h) => h.started()), [true, true, true, false], 'the first waiting takes the freed slot');
  hashes[0]?.finish();
  await tick();
  assert.equal(hashes[3]?.started(), true);
  hashes[2]?.finish();
  hashes[3]?.finish();
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3]);
  // Idle again: only its own hash ahead of a newcomer, at a mean that four instant hashes lowered.
  assert.equal(q.expectedWaitMs(), Math.ceil((1 / 2) * 50 * 0.8 ** 4));
});

test('hash queue: beyond the longest wait an attempt is refused as busy, told to come back when the queue ahead is done', async () => {
  let now = 0;
  const q = new HashQueue({ concurrency: 1, maxWaitMs: 2500, initialHashMs: 1000, now: () => now });
  const first = held(true);
  const places = [q.enter(), q.enter()];
  assert.equal(q.expectedWaitMs(), 3000, 'two ahead and its own, one at a time, 1 s each');
  assert.throws(
    () => q.enter(),
    (err: unknown) => err instanceof VdiguardError && err.code === 'unavailable' && /busy/.test(err.message) && err.retryAfterMs === 3000,
  );
  // A place that leaves without hashing (its attempt was throttled, say) makes room.
  places[1]?.leave();
  places[1]?.leave();
  const third = q.enter();
  const running = places[0]?.run(first.hash);
  await tick();
  now += 4000;
  first.finish();
  await running;
  places[0]?.leave();
  assert.equal(q.expectedWaitMs(), Math.ceil(2 * (1000 + 0.2 * (4000 - 1000))), 'a slow hash raises the mean, and the expected wait with it');
  third.leave();
});

test('hash queue: a place runs once, and a failing hash frees its slot', async () => {
  const q = new HashQueue({ concurrency: 1, maxWaitMs: 1000, initialHashMs: 10 });
  const place = q.enter();
  await assert.rejects(place.run(() => Promise.reject(new Error('scrypt failed'))), /scrypt failed/);
  await assert.rejects(place.run(() => Promise.resolve(1)), /runs once/);
  place.leave();
  const next = q.enter();
  assert.equal(await next.run(() => Promise.resolve(2)), 2, 'the slot was freed');
  next.leave();
});
