/**
 * Who is calling the admin API: a named admin signed in with password and TOTP, the admin token
 * (automation), or the CLI on a store no gateway holds. Every change is recorded under the actor's
 * name; analysts read and never change.
 */
import { VdiguardError } from '../../lib/errors.js';

/** 'admin' manages agents, desktops, sessions and admins; 'analyst' reads sessions, decisions and profiles. */
export type AdminRole = 'admin' | 'analyst';
export const ADMIN_ROLES: readonly AdminRole[] = ['admin', 'analyst'];

export interface Actor {
  readonly kind: 'admin' | 'token' | 'cli';
  /** The admin's name, `admin-token`, or `cli:<os user>`. */
  readonly name: string;
  readonly role: AdminRole;
}

/** The bearer admin token: full rights, recorded as the token rather than a person. */
export const TOKEN_ACTOR: Actor = Object.freeze({ kind: 'token', name: 'admin-token', role: 'admin' });

/** Refuses a change to an actor who may only read. */
export function requireManage(actor: Actor): void {
  if (actor.role !== 'admin') {
    throw new VdiguardError('permission-denied', `${actor.name} is an analyst: analysts can read sessions, decisions and profiles but not change anything; ask an admin`);
  }
}
