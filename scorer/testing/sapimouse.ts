/**
 * SapiMouse users cut from the real archive at test time: each user's mouse windows (action
 * vectors, the production extractor's) of the 3-minute (enrolment) and 1-minute (test) sessions.
 */
import { join } from 'node:path';
import { extractMembers, listMembers } from '../datasets/archive.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { MouseExtractor } from '../features/mouse.js';
import { windowsOf } from '../features/windows.js';

export interface SapimouseUser {
  /** The user's folder name, for example user1: the agent id in tests. */
  readonly user: string;
  readonly enrol: number[][];
  readonly test: number[][];
}

/** Users 1..count of the archive (callers skip with skipReason('sapimouse') when it is absent). */
export async function sapimouseUsers(count: number): Promise<SapimouseUser[]> {
  const wanted = new Set(Array.from({ length: count }, (_, i) => `user${i + 1}`));
  const members = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user\d+\/.*\.csv$/.test(m) && wanted.has(m.split('/')[1] as string));
  const root = await extractMembers('sapimouse', members);
  const users: SapimouseUser[] = [];
  for (let u = 1; u <= count; u++) {
    const files = members.filter((m) => m.startsWith(`sapimouse/user${u}/`)).sort();
    const read = async (suffix: string) => (await importSapimouseFile(join(root, files.find((f) => f.endsWith(suffix)) as string))).events;
    const ex = () => new MouseExtractor({ actionVectors: true });
    users.push({ user: `user${u}`, enrol: windowsOf(await read('3min.csv'), ex()).map((w) => w.vector), test: windowsOf(await read('1min.csv'), ex()).map((w) => w.vector) });
  }
  return users;
}
