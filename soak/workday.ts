/**
 * What the soak's agents send, at the rates real office work has: the pointer of real RDP sessions
 * (Balabit's training sessions, recorded at the RDP client: about 3.5 mouse events a second over a
 * session, idle stretches included), and a line of typing in each pause of the pointer of 5 s or
 * more (about 50 an hour in those sessions, so some 0.6 keystrokes a second). Pure but for loading
 * the tracks, so a schedule can be checked without a gateway.
 */
import { extractMembers, listMembers } from '../scorer/datasets/archive.js';
import { importBalabitFile } from '../scorer/datasets/mouse-datasets.js';
import { encodeInstruction } from '../gateway/guac/index.js';
import { typing, type Typist } from '../scorer/testing/typist.js';
import { seededRandom } from '../lib/random.js';
import { lowerBound } from '../lib/stats.js';
import type { InputEvent } from '../proto/gen/vdiguard/scorer/v1/scorer.js';

/** What a client sends next: a key or a mouse position, at `atMs` after its stretch began. */
export type Due = { readonly atMs: number; readonly instruction: string };

/** A recorded pointer: mouse positions and buttons at times in ms from the recording's start. */
export interface MouseTrack {
  readonly name: string;
  readonly times: Float64Array;
  readonly instructions: readonly string[];
  readonly lengthMs: number;
  /** The first ENROLMENT_MS of the track, as recorded events: what enrols its user. */
  readonly enrolment: readonly InputEvent[];
}

/** A pause of the pointer at least this long is where the agent types. */
export const TYPING_PAUSE_MS = 5000;
/** Users of the soak's tracks; agent i works on track i mod this (an impostor on the next). */
export const TRACK_USERS = 8;
/** The start of each track that enrols its user; the sessions replay what follows it. */
export const ENROLMENT_MS = 10 * 60_000;

/**
 * Loads one training session of each of the first `users` Balabit users (sorted by name) as pointer
 * tracks: the first ENROLMENT_MS kept apart as `enrolment`, the rest to replay.
 */
export async function loadMouseTracks(users: number): Promise<MouseTrack[]> {
  const members = (await listMembers('balabit')).filter((m) => /\/training_files\/user\d+\/session_\d+$/.test(m)).sort();
  const firstOfEach = new Map<string, string>();
  for (const m of members) {
    const user = m.split('/').at(-2) as string;
    if (!firstOfEach.has(user)) firstOfEach.set(user, m);
  }
  const chosen = [...firstOfEach.values()].slice(0, users);
  const root = await extractMembers('balabit', chosen);
  const tracks: MouseTrack[] = [];
  for (const member of chosen) {
    const { events } = await importBalabitFile(`${root}/${member}`);
    const enrolment: InputEvent[] = [];
    const times: number[] = [];
    const instructions: string[] = [];
    for (const e of events) {
      if (e.kind?.$case !== 'mouse') continue;
      if (e.timeMs < ENROLMENT_MS) {
        enrolment.push(e);
        continue;
      }
      const m = e.kind.value;
      times.push(e.timeMs - ENROLMENT_MS);
      instructions.push(encodeInstruction('mouse', m.x, m.y, m.buttonMask));
    }
    const lengthMs = times.at(-1) ?? 0;
    if (times.length > 1 && lengthMs > 0) tracks.push({ name: member, times: Float64Array.from(times), instructions, lengthMs, enrolment });
  }
  return tracks;
}

/**
 * The input of `lengthMs` of work from `fromMs` into `track` (wrapping at its end), timed from 0:
 * the track's pointer, and in each of its pauses of TYPING_PAUSE_MS or more a line of 30 to 60
 * keystrokes by `who`, from a second into the pause, cut off half a second before the pointer
 * moves again.
 */
export function workStretch(track: MouseTrack, who: Typist, seed: number, fromMs: number, lengthMs: number): Due[] {
  const start = fromMs % track.lengthMs;
  const out: Due[] = [];
  let last = 0;
  const pause = (until: number, n: number) => {
    if (until - last < TYPING_PAUSE_MS) return;
    const keys = typing(who, 30 + Math.floor(seededRandom(seed + n)() * 30), seed + n, last + 1000);
    // Typed until the pointer moves again: typing() returns presses and releases in time order.
    for (const e of keys) {
      if (e.timeMs > until - 500 || e.kind?.$case !== 'key') break;
      out.push({ atMs: e.timeMs, instruction: encodeInstruction('key', e.kind.value.keysym, e.kind.value.pressed ? 1 : 0) });
    }
  };
  let i = lowerBound(track.times, start);
  let wrapped = 0;
  for (let n = 0; ; n++) {
    if (i >= track.times.length) {
      i = 0;
      wrapped += track.lengthMs;
    }
    const at = (track.times[i] as number) + wrapped - start;
    if (at >= lengthMs) break;
    pause(at, n);
    out.push({ atMs: at, instruction: track.instructions[i] as string });
    last = at;
    i++;
  }
  pause(lengthMs, -1);
  return out;
}

/**
 * What enrols an agent: at least `keys` keystrokes typed as the clients type them in sessions
 * (lines, a pause between them, so the profile knows the pauses), and the track's enrolment
 * pointer, in one time order.
 */
export function enrolmentRecording(track: MouseTrack, who: Typist, seed: number, keys: number): InputEvent[] {
  const out: InputEvent[] = [...track.enrolment];
  for (let line = 0, t = 0, typed = 0; typed < 2 * keys; line++) {
    const lineKeys = typing(who, 30 + Math.floor(seededRandom(seed + line)() * 30), seed + line, t);
    out.push(...lineKeys);
    typed += lineKeys.length;
    t = (lineKeys.at(-1)?.timeMs ?? t) + TYPING_PAUSE_MS + 1000;
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}
