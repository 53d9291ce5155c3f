/**
 * Login throttling, shared by every gateway replica through the store. Each attempt (a login or a
 * challenge code) is counted before the password or code is checked, in one atomic statement per
 * key that also answers whether it may proceed, so concurrent attempts cannot exceed a limit.
 *
 * Three keys, each a rate with a burst (GCRA, a token bucket kept as one timestamp: `burst`
 * attempts at once, then one more every hour / perHour):
 * - agent and address: the guesses one address gets at one agent. A success there restores them,
 *   so an attacker elsewhere never touches the agent's own budget.
 * - agent: the guesses at one agent from all the addresses it has not logged in from for 30 days.
 *   Addresses it has logged in from skip this key, so failures from many addresses slow new
 *   addresses down but never keep the agent out of an address it uses.
 * - address: failures from one address over all agents (whole call centres share one address,
 *   hence generous); an IPv6 /64 counts as one address, since one host usually holds all of it.
 * An attempt refused by one key gives back what the keys before it took, and a success gives back
 * what it took from the agent and address keys: only failures (and attempts in flight) count.
 */
import { isIPv6 } from 'node:net';

export interface Rate {
  /** Attempts admitted at once. */
  readonly burst: number;
  /** Attempts admitted per hour once the burst is used. */
  readonly perHour: number;
}

export type ThrottleScope = 'agent-address' | 'agent' | 'address';

export type ThrottlePolicy = Readonly<Record<ThrottleScope, Rate>>;

/** One counter: agentId is '' for an address key, address '' for an agent key. */
export interface ThrottleKey {
  readonly scope: ThrottleScope;
  readonly agentId: string;
  readonly address: string;
}

/** The store's answer to one counted attempt. known: the agent logged in from this address lately. */
export type ThrottleAnswer = { readonly admitted: true; readonly known: boolean } | { readonly admitted: false; readonly waitMs: number };

/** The shared counters (GatewayStore, in the database every replica uses). */
export interface ThrottleStore {
  /** Counts an attempt under `key` and answers, atomically, whether it may proceed. */
  countAttempt(key: ThrottleKey, rate: Rate, now: number): Promise<ThrottleAnswer>;
  /** Gives back one attempt counted under `key`. */
  refundAttempt(key: ThrottleKey, rate: Rate): Promise<void>;
  /** The agent logged in from the address: its failures there are forgotten, the address is known. */
  loginSucceeded(agentId: string, address: string, now: number): Promise<void>;
}

/** An attempt allowed to proceed, and the keys it was counted under. */
export interface Admission {
  readonly admitted: true;
  readonly agentId: string;
  readonly address: string;
  readonly counted: readonly ThrottleScope[];
}

/** How long a successful login keeps an address known for its agent (exempt from the agent key). */
export const KNOWN_ADDRESS_MS = 30 * 24 * 60 * 60 * 1000;

const HOUR_MS = 60 * 60 * 1000;
const RATE = /^(\d+)\+(\d+)\/h$/;

/** `<burst>+<per hour>/h`, for example `5+4/h`: five at once, then four an hour. */
export function parseRate(raw: string): Rate {
  const m = RATE.exec(raw.trim());
  const burst = Number(m?.[1]);
  const perHour = Number(m?.[2]);
  if (!m || burst < 1 || burst > 100_000 || perHour < 1 || perHour > 360_000) {
    throw new Error('expected <attempts at once>+<attempts per hour>/h, for example 5+4/h (1 to 100000 at once, 1 to 360000 an hour)');
  }
  return { burst, perHour };
}

export function formatRate(r: Rate): string {
  return `${r.burst}+${r.perHour}/h`;
}

/** Time between two attempts once the burst is used. */
export function intervalMs(r: Rate): number {
  return HOUR_MS / r.perHour;
}

/**
 * How far a key's theoretical arrival time (tat) may run ahead of now for an attempt to be
 * admitted: an unused key (tat <= now) admits `burst` attempts before it reaches this.
 */
export function toleranceMs(r: Rate): number {
  return (r.burst - 1) * intervalMs(r);
}

/** Milliseconds until a key whose tat is `tat` admits its next attempt. */
export function waitMs(tat: number, now: number, r: Rate): number {
  return Math.max(0, Math.ceil(tat - toleranceMs(r) - now));
}

/** Most attempts one key admits within `ms`, starting unused. */
export function admittedWithin(r: Rate, ms: number): number {
  return r.burst + Math.floor(ms / intervalMs(r));
}

export function throttleKey(scope: ThrottleScope, agentId: string, address: string): ThrottleKey {
  return { scope, agentId: scope === 'address' ? '' : agentId, address: scope === 'agent' ? '' : address };
}

/** The keys an attempt is counted under, in order; an address the agent logged in from skips `agent`. */
export function scopesAfterAgentAddress(known: boolean): ThrottleScope[] {
  return known ? ['address'] : ['agent', 'address'];
}

/**
 * The address a throttle key names: IPv4 as is (also when written IPv4-mapped), IPv6 cut to its /64.
 */
export function throttleAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => g.replace(/^0+(?=.)/, '').toLowerCase());
}

/** What the throttle means for an attacker and for the agent, for the documentation and its test. */
export interface ThrottleFigures {
  /** Guesses at one agent from one address: in the first hour, then each hour. */
  readonly oneAddress: { firstHour: number; perHour: number };
  /** Guesses at one agent from any number of addresses it never logged in from. */
  readonly manyAddresses: { firstHour: number; perHour: number };
  /** Longest the agent waits, after its own mistakes used the burst, at an address it uses. */
  readonly ownMistakesWaitMs: number;
}

export function throttleFigures(p: ThrottlePolicy): ThrottleFigures {
  return {
    oneAddress: {
      firstHour: Math.min(admittedWithin(p['agent-address'], HOUR_MS), admittedWithin(p.agent, HOUR_MS)),
      perHour: Math.min(p['agent-address'].perHour, p.agent.perHour),
    },
    manyAddresses: { firstHour: admittedWithin(p.agent, HOUR_MS), perHour: p.agent.perHour },
    ownMistakesWaitMs: intervalMs(p['agent-address']),
  };
}

/** Counts attempts under the policy's keys, in the shared store, before any password is checked. */
export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly policy: ThrottlePolicy,
    private readonly now: () => number,
  ) {}

  /** Counts an attempt: its admission (for succeeded()), or how long to wait when it is refused. */
  async admit(agentId: string, clientAddress: string): Promise<Admission | { readonly admitted: false; readonly waitMs: number }> {
    const address = throttleAddress(clientAddress);
    const now = this.now();
    const first = await this.store.countAttempt(throttleKey('agent-address', agentId, address), this.policy['agent-address'], now);
    if (!first.admitted) return first;
    const counted: ThrottleScope[] = ['agent-address'];
    for (const scope of scopesAfterAgentAddress(first.known)) {
      const answer = await this.store.countAttempt(throttleKey(scope, agentId, address), this.policy[scope], now);
      if (!answer.admitted) {
        await this.giveBack(counted, agentId, address);
        return answer;
      }
      counted.push(scope);
    }
    return { admitted: true, agentId, address, counted };
  }

  /** The attempt succeeded: it does not count as a failure anywhere. */
  async succeeded(a: Admission): Promise<void> {
    await this.store.loginSucceeded(a.agentId, a.address, this.now());
    await this.giveBack(a.counted.filter((s) => s !== 'agent-address'), a.agentId, a.address);
  }

  private async giveBack(scopes: readonly ThrottleScope[], agentId: string, address: string): Promise<void> {
    for (const scope of scopes) await this.store.refundAttempt(throttleKey(scope, agentId, address), this.policy[scope]);
  }
}
