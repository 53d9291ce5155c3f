/** Comparing credentials without leaking, through timing, how much of a guess was right. */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `presented` equals `expected`, in time independent of where they differ. Both are
 * hashed first so that their lengths, which timingSafeEqual needs equal, reveal nothing either.
 */
export function sameSecret(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(sha256(presented), sha256(expected));
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
