/** The one rule for ids the services accept from outside (sessions, agents): short, printable. */
import { VdiguardError } from './errors.js';

export const MAX_ID_LENGTH = 200;

export function requireId(name: string, value: string): void {
  if (!value || value.length > MAX_ID_LENGTH || /[\u0000-\u001f]/.test(value)) {
    throw new VdiguardError('invalid-argument', `${name} must be 1 to ${MAX_ID_LENGTH} printable characters (got ${JSON.stringify(value.slice(0, 40))})`);
  }
}
