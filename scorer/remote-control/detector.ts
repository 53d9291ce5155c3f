/**
 * Remote control suspected (issue 20): the two tests over a session's pointer points on the page's
 * own times, either of which ends the session, and how a finding reads in the decision log.
 * - the path test (pointer-timing.ts): the times disagree with the path by a link's jitter, which
 *   catches a tool over any internet link;
 * - the report-rhythm test (report-rhythm.ts): in steady movement the reports keep no device's
 *   clock, which catches a tool on the agent's LAN, where the jitter is too small for the first.
 * Neither uses the agent's profile: both hold while the profile enrols.
 */
import { DEFAULT_PATH_TIMING_POLICY, PathTimingTest, type PathTimingFinding, type PathTimingPolicy, type PointerPoint } from './pointer-timing.js';
import { DEFAULT_REPORT_RHYTHM_POLICY, ReportRhythmTest, type ReportRhythmPolicy, type RhythmFinding } from './report-rhythm.js';

/** Each test's policy; null turns that test off. */
export interface RemoteControlPolicy {
  readonly path: PathTimingPolicy | null;
  readonly rhythm: ReportRhythmPolicy | null;
}

export const DEFAULT_REMOTE_CONTROL_POLICY: RemoteControlPolicy = { path: DEFAULT_PATH_TIMING_POLICY, rhythm: DEFAULT_REPORT_RHYTHM_POLICY };

export type RemoteControlFinding = ({ readonly test: 'path' } & PathTimingFinding) | ({ readonly test: 'rhythm' } & RhythmFinding);

/** How a verdict's reason begins when a test ended the session. */
export const REMOTE_CONTROL_REASON = 'remote control suspected';

/** The reason for the decision log and the admin console, never for the person at the keyboard: timings only. */
export function describeRemoteControl(f: RemoteControlFinding): string {
  if (f.test === 'path') {
    return `${REMOTE_CONTROL_REASON}: the pointer's times disagree with its path by ${f.disagreementMs.toFixed(1)} ms (robust SD over ${f.windows} windows; local mice and touchpads measure 0.5-2.5 ms)`;
  }
  return `${REMOTE_CONTROL_REASON}: the pointer's reports keep no device's rhythm, ${(100 * f.offRhythm).toFixed(0)}% of intervals in steady movement off it (median over ${f.windows} windows; local devices measure 3-13% on the relay rig)`;
}

/** Both tests over one session's pointer points, in time order. */
export class RemoteControlDetector {
  private readonly path: PathTimingTest | undefined;
  private readonly rhythm: ReportRhythmTest | undefined;
  private found: RemoteControlFinding | undefined;

  constructor(policy: RemoteControlPolicy = DEFAULT_REMOTE_CONTROL_POLICY) {
    if (policy.path) this.path = new PathTimingTest(policy.path);
    if (policy.rhythm) this.rhythm = new ReportRhythmTest(policy.rhythm);
  }

  get finding(): RemoteControlFinding | undefined {
    return this.found;
  }

  /** Windows each test has judged so far, for reports. */
  get windowsJudged(): { readonly path: number; readonly rhythm: number } {
    return { path: this.path?.windowsJudged ?? 0, rhythm: this.rhythm?.windowsJudged ?? 0 };
  }

  /** Feeds a point measured on the page's time; returns the finding when this point completed it. */
  push(p: PointerPoint): RemoteControlFinding | undefined {
    if (this.found) return undefined;
    const onPath = this.path?.push(p);
    const rhythm = this.rhythm?.push(p);
    if (onPath) this.found = { test: 'path', ...onPath };
    else if (rhythm) this.found = { test: 'rhythm', ...rhythm };
    return this.found;
  }
}
