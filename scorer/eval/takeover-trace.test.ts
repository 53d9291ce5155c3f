import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { openDb } from '../../lib/db/db.js';
import { startTestScorer } from '../testing/scorer-harness.js';
import { enroll } from '../commands/admin.js';
import { replay } from '../commands/replay.js';
import { writeRecording } from '../recording/writer.js';
import { splitIndex } from '../recording/split.js';
import { loadScorerSettings, trustPolicyOf } from '../config.js';
import { firstTerminate } from './false-terminates.js';
import { overLink } from './jitter.js';
import { verdictRecorder } from './takeover.js';

test('a streamed session\'s trace replays the evidence of impossible client times where the scorer added it', { skip: skipReason('aalto') }, async () => {
  const member = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).slice(0, 1);
  const root = await extractMembers('aalto', member);
  const typed = (await importAaltoFile(join(root, member[0]!))).events;
  const at = splitIndex(typed, 0.5);
  // The agent's own held-out typing, from a page that now and then claims a time before its last:
  // each such event is a stretch of its own, charged 6 of evidence.
  const hostile = overLink(typed.slice(at), { jitterMs: 5, clientTimes: true }, 2).map((e, i, all): InputEvent => (i > 0 && i % 25 === 0 ? { ...e, clientTimeMs: all[i - 1]!.clientTimeMs! - 500 } : e));
  const settings = { matureKeystrokes: '300', timingEvidence: '6' };
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-trace-'));
  const db = await openDb({});
  const scorer = await startTestScorer(db, settings);
  try {
    const client = { address: scorer.address, adminTokenFile: scorer.adminTokenFile };
    const file = (name: string) => join(dir, `${name}.jsonl`);
    await writeRecording(file('enrol'), { format: 'vdiguard.recording.v1', agent: 'a', source: 'test' }, typed.slice(0, at));
    await enroll({ ...client, agent: 'a', file: file('enrol') });
    await writeRecording(file('session'), { format: 'vdiguard.recording.v1', agent: 'a', source: 'test' }, hostile);
    const { trace, timing, onVerdict } = verdictRecorder(6);
    const r = await replay({ ...client, file: file('session'), agent: 'a', desktop: 'd', speed: 0, batchMs: 100, onVerdict });
    const policy = trustPolicyOf(loadScorerSettings({}, settings));
    assert.ok(r.terminatedAtMs !== null, 'the impossible times end the session');
    assert.ok(timing[timing.length - 1]!.report.backwards > 0);
    assert.equal(firstTerminate(trace, policy), r.terminatedAtMs, 'the replay terminates where the scorer did');
    const windowsOnly = trace.map((w) => ({ ...w, timingEvidence: 0 }));
    assert.notEqual(firstTerminate(windowsOnly, policy), r.terminatedAtMs, 'the agent\'s own windows alone would not have ended it there');
  } finally {
    await scorer.close();
    await db.close();
  }
});
