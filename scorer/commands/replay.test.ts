import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRecording } from '../recording/writer.js';
import { replay } from './replay.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('replay against a scorer that is not there fails with what was wrong, as a rejection rather than a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-replay-'));
  const file = join(dir, 'r.jsonl');
  const adminTokenFile = join(dir, 'admin-token');
  writeFileSync(adminTokenFile, 'test-admin-token-0123456789abcdef\n', { mode: 0o600 });
  const events = Array.from({ length: 2000 }, (_, i) => ({ timeMs: i * 10, kind: { $case: 'mouse' as const, value: { x: i % 800, y: 100, buttonMask: 0 } } }));
  await writeRecording(file, { format: 'vdiguard.recording.v1', agent: 'a', source: 'test' }, events);
  const address = `127.0.0.1:${await closedPort()}`;
  await assert.rejects(replay({ address, adminTokenFile, file, desktop: 'd', speed: 0, batchMs: 100, onVerdict: () => {} }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'unavailable');
    assert.match(err.message, new RegExp(`scorer at ${address}`));
    return true;
  });
});
