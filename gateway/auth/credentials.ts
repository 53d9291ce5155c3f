/**
 * Password plus TOTP, the one check behind every sign-in: agents' logins and challenge codes
 * (login.ts) and admins' sign-ins (admin-sign-in.ts). Each attempt is counted by the shared login
 * throttle before anything is looked up or checked; a TOTP step that let someone in once never does
 * again (replay protection across replicas, in the store); a success gives the attempt back.
 *
 * Agents and admins share the throttle's counters and the used steps' table under different keys:
 * an agent's key is its id, an admin's `admin:<name>` (a colon is never in an agent id), so an agent
 * and an admin of the same name never use up each other's attempts or codes.
 *
 * Password hashes wait their turn in the process's hash queue (hash-queue.ts); an attempt that would
 * wait too long is refused as busy before the throttle counts it. The code is matched against the
 * time the attempt arrived, not the time its hash finished, so a code that was current when the
 * agent sent it is not refused because the gateway was slow: a wait in the queue must not turn a
 * shift start's rush into a wave of wrong codes and retries, each costing another hash.
 */
import { VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { HashQueue } from './hash-queue.js';
import { dummyHash, passwordHashes, verifyPassword } from './password.js';
import { LoginThrottle, type ThrottlePolicy, type ThrottleStore } from './throttle.js';
import { matchTotp } from './totp.js';

/** What a principal (agent or admin) signs in with, as the store holds it. */
export interface Credentials {
  readonly passwordHash: string;
  /** Base32 TOTP secret, unsealed. */
  readonly totpSecret: string;
  /** Disabled principals are refused even with the right password and code. */
  readonly active: boolean;
}

export interface CredentialStore extends ThrottleStore {
  /** Records a TOTP step as used under `key`; false when it was used before (a replay). */
  useTotpStep(key: string, step: number): Promise<boolean>;
}

/** Why an attempt was refused; only the logs tell them apart, the caller answers them all alike. */
export type Refusal = 'wrong credentials' | 'code reused' | 'disabled';

type Outcome<C> = { readonly ok: true; readonly who: C } | { readonly ok: false; readonly why: Refusal };

/** The outcome, and how long the check took from the attempt's arrival (queue, store and hash), ms. */
export type CheckOutcome<C> = Outcome<C> & { readonly checkMs: number };

export interface CredentialCheckOptions {
  readonly store: CredentialStore;
  readonly throttle: ThrottlePolicy;
  readonly totpSkewSteps: number;
  readonly log: Logger;
  readonly now: () => number;
  /** The queue password hashes wait in; the process's own unless a test brings one. */
  readonly hashes?: HashQueue;
}

export class CredentialCheck {
  private readonly throttle: LoginThrottle;
  private readonly hashes: HashQueue;

  constructor(private readonly o: CredentialCheckOptions) {
    this.throttle = new LoginThrottle(o.store, o.throttle, o.now);
    this.hashes = o.hashes ?? passwordHashes;
  }

  /**
   * Password and code of the principal `load` finds under throttle key `key`. Throws `unavailable`
   * when the hash queue is full and `resource-exhausted` when the throttle refuses the attempt
   * (nothing was counted, or checked, then). An unknown principal costs the same password hashing
   * as a known one.
   */
  async signIn<C extends Credentials>(key: string, load: () => Promise<C | undefined>, password: unknown, code: unknown, address: string): Promise<CheckOutcome<C>> {
    const arrivedAt = this.o.now();
    const place = this.hashes.enter();
    try {
      const admission = await this.throttle.admit(key, address);
      if (!admission.admitted) {
        this.o.log.info({ key, address, waitMs: admission.waitMs }, 'login throttled');
        throw new VdiguardError('resource-exhausted', `too many login attempts; try again in ${describeWait(admission.waitMs)}`, { retryAfterMs: admission.waitMs });
      }
      const who = key ? await load() : undefined;
      const passwordOk = await place.run(async () => verifyPassword(typeof password === 'string' ? password : '', who?.passwordHash ?? (await dummyHash())));
      const outcome = who && passwordOk ? await this.useCode(key, who, code, arrivedAt) : { ok: false as const, why: 'wrong credentials' as const };
      if (outcome.ok) await this.throttle.succeeded(admission);
      return { ...outcome, checkMs: this.o.now() - arrivedAt };
    } finally {
      place.leave();
    }
  }

  /** A fresh TOTP code alone (an agent's challenge); a throttled attempt is a wrong code, checked or not. */
  async code(key: string, load: () => Promise<Credentials | undefined>, code: unknown, address: string): Promise<boolean> {
    const arrivedAt = this.o.now();
    const admission = await this.throttle.admit(key, address);
    if (!admission.admitted) return false;
    const who = await load();
    const ok = who !== undefined && (await this.useCode(key, who, code, arrivedAt)).ok;
    if (ok) await this.throttle.succeeded(admission);
    return ok;
  }

  /** The code matched at `at`, the attempt's arrival, then its step used up (a replay is refused). */
  private async useCode<C extends Credentials>(key: string, who: C, code: unknown, at: number): Promise<Outcome<C>> {
    const step = who.active ? matchTotp(who.totpSecret, String(code ?? ''), at, this.o.totpSkewSteps) : undefined;
    if (step === undefined) return { ok: false, why: who.active ? 'wrong credentials' : 'disabled' };
    if (!(await this.o.store.useTotpStep(key, step))) return { ok: false, why: 'code reused' };
    return { ok: true, who };
  }
}

/** The throttle key of admin `name`, apart from every agent id. */
export function adminKey(name: string): string {
  return `admin:${name}`;
}

function describeWait(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
