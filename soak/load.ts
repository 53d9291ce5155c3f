/**
 * The soak's agents, in a process of their own (forked by soak.ts, so the services' CPU and memory
 * are theirs alone): one Guacamole client per agent that signs in with password and TOTP, opens the
 * tunnel, and sends what the agent page sends at the rates of real office work (soak/workday.ts):
 * each key and mouse instruction after its `vdiguard,time`. A client whose tunnel drops (a gateway
 * restarting) asks another gateway for a ticket with its login and goes on, as the page does; one
 * whose login was ended (a terminate) stops.
 */
import { request, type ClientRequestArgs } from 'node:http';
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { encodeInstruction, GuacParser } from '../gateway/guac/index.js';
import { totpCode } from '../gateway/auth/totp.js';
import { LOGIN_COOKIE } from '../gateway/http/login-cookie.js';
import { ALICE, MALLORY, type Typist } from '../scorer/testing/typist.js';
import { loadMouseTracks, TRACK_USERS, workStretch, type Due, type MouseTrack } from './workday.js';

/** One agent of the soak and whose hands are at the keyboard. */
export interface AgentPlan {
  readonly agentId: string;
  readonly password: string;
  readonly totpSecret: string;
  /** 'agent': the enrolled agent's own typing; 'impostor': someone else's on an enrolled agent; 'newcomer': an agent enrolling. */
  readonly hands: 'agent' | 'impostor' | 'newcomer';
  /** The pointer track (soak/workday.ts) the session replays: the agent's own, or for an impostor another user's. */
  readonly track: number;
}

export type ToLoad = { start: { gateways: string[]; desktopId: string; agents: AgentPlan[]; rampMs: number } } | { stop: true };

export interface LoadStats {
  /** Tunnels opened (first ones and reconnects). */
  readonly tunnels: number;
  readonly reconnects: number;
  /** Sign-ins tried again, and ticket requests that found no gateway (one restarting) tried on the next. */
  readonly retries: number;
  /** Sign-ins a gateway answered as busy (503), asked again after its Retry-After. */
  readonly busy: number;
  readonly events: number;
  /** Clients that signed in. */
  readonly signedIn: number;
  /** Clients still working. */
  readonly active: number;
  /** Clients whose login was ended by the gateway (a terminate), and that stopped. */
  readonly ended: number;
  /** Why their logins ended, as the gateway said: the status and its message, with how many. */
  readonly endings: Record<string, number>;
  /** Identity checks the gateway asked for, how many the agents answered (an impostor cannot), and how many resumed the session. */
  readonly challenges: { readonly asked: number; readonly answered: number; readonly passed: number };
  readonly failures: Record<string, number>;
  /**
   * How late the clients sent their input since the last report, against the schedule of the work
   * they replay: the 99th percentile, ms (null when none was due). A load process starved of CPU
   * sends late and so less than planned, and the services would be measured under a lighter load.
   */
  readonly sentLateP99Ms: number | null;
}

export type FromLoad = { ready: true } | { stats: LoadStats } | { stopped: LoadStats };

/** Busy answers a client waits out before it gives up signing in (a 503's Retry-After is some 10 s: 5 minutes in all). */
const MAX_BUSY_ANSWERS = 30;

/**
 * How often the clients send what is due, ms; each instruction carries its own scheduled time.
 * Short, because a thousand agents' browsers send each event when it happens, independently: a
 * longer tick would send everyone's input in one burst per tick, and every service would wake and
 * contend for the cores at the same instants, which no population of agents does.
 */
const TICK_MS = 2;

/** Length of the stretches of work a client schedules at a time, ms. */
const STRETCH_MS = 60_000;

/**
 * The address agent `index` connects from: agents work from home, each behind an address of their
 * own, and the gateway's login throttle counts per address. Linux routes all of 127.0.0.0/8 to the
 * loopback interface, so each client binds one of its own.
 */
export function homeAddress(index: number): string {
  return `127.${1 + Math.floor(index / 62_500)}.${Math.floor(index / 250) % 250}.${1 + (index % 250)}`;
}

/** A JSON POST as the page makes it, from `localAddress`; status 0 when no gateway answered. Never throws. */
function post(url: string, localAddress: string, body: unknown, bearer?: string): Promise<{ status: number; body: unknown; error: string; setCookie: string; retryAfterMs: number }> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = request(
      url,
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => resolve({ status: 0, body: {}, error: err.message, setCookie: '', retryAfterMs: 0 }));
        res.on('end', () => {
          let parsed: { error?: string } = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string };
          } catch {
            // Not JSON (a proxy's page, say): the status says enough.
          }
          const cookie = res.headers['set-cookie'];
          resolve({
            status: res.statusCode ?? 0,
            body: parsed,
            error: String(parsed.error ?? res.statusMessage ?? '').slice(0, 160),
            setCookie: Array.isArray(cookie) ? cookie.join('; ') : '',
            retryAfterMs: Number(res.headers['retry-after'] ?? 0) * 1000,
          });
        });
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: {}, error: err.message, setCookie: '', retryAfterMs: 0 }));
    req.end(payload);
  });
}

interface Counts {
  tunnels: number;
  reconnects: number;
  retries: number;
  busy: number;
  events: number;
  failures: Map<string, number>;
  endings: Map<string, number>;
  challenges: { asked: number; answered: number; passed: number };
  /** How late each instruction was sent, ms (at least 1: the histogram records positive integers). */
  sentLate: RecordableHistogram;
}

/** How long an agent takes to read the code off their phone and type it, ms. */
const CHALLENGE_ANSWER_MS = 5000;
/** A TOTP code's time step, ms (RFC 6238's default, as the agents' authenticators use). */
const TOTP_STEP_MS = 30_000;

class Client {
  private ws: WebSocket | undefined;
  /** The tunnel's TCP connection, corked while a tick sends (see tick()). */
  private socket: Socket | undefined;
  /** The desktop session is up (the gateway said which it is): input may go, as the page waits for it. */
  private connected = false;
  /** The session the gateway named, for answering its identity checks. */
  private sessionId: string | undefined;
  /** An identity check is open: the page takes no input until it is answered. */
  private challenged = false;
  private token: string | undefined;
  private queue: Due[] = [];
  private origin = 0;
  private nextStretchAt = 0;
  private stretch = 0;
  private gateway: number;
  /** Signed in at least once (a gateway let the agent in). */
  signedIn = false;
  stopped = false;
  ended = false;

  constructor(
    private readonly plan: AgentPlan,
    private readonly gateways: readonly string[],
    private readonly desktopId: string,
    private readonly index: number,
    private readonly track: MouseTrack,
    private readonly counts: Counts,
  ) {
    this.gateway = index % gateways.length;
  }

  private get address(): string {
    return homeAddress(this.index);
  }

  private get who(): Typist {
    return this.plan.hands === 'impostor' ? MALLORY : ALICE;
  }

  private fail(what: string): void {
    this.counts.failures.set(what, (this.counts.failures.get(what) ?? 0) + 1);
  }

  /**
   * Signs in. A gateway busy signing in others (503) is asked again when its Retry-After says, as
   * the page tells a person to; a refused attempt (a throttle, a wrong code) is tried again with a
   * fresh code after 5 s, as a person would, up to 3 attempts in all.
   */
  async start(attempt = 1, busy = 0): Promise<void> {
    if (this.stopped) return;
    const url = this.gateways[this.gateway] as string;
    const res = await post(`${url}/api/login`, this.address, { agent: this.plan.agentId, password: this.plan.password, code: totpCode(this.plan.totpSecret, Date.now()) });
    if (res.status === 503 && busy < MAX_BUSY_ANSWERS) {
      this.counts.busy++;
      setTimeout(() => void this.start(attempt, busy + 1), Math.max(res.retryAfterMs, 1000));
      return;
    }
    if (res.status !== 200) {
      if (attempt < 3) {
        this.counts.retries++;
        setTimeout(() => void this.start(attempt + 1, busy), Math.max(res.retryAfterMs, 5000));
        return;
      }
      this.fail(`login ${res.status}: ${res.error}`);
      this.stopped = true;
      return;
    }
    this.signedIn = true;
    this.token = new RegExp(`${LOGIN_COOKIE}=([^;]+)`).exec(res.setCookie)?.[1];
    const body = res.body as { ticket?: { ticket: string } };
    if (!body.ticket) {
      this.fail('login without a ticket');
      this.stopped = true;
      return;
    }
    this.open(url, body.ticket.ticket);
  }

  private open(url: string, ticket: string): void {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/tunnel?ticket=${encodeURIComponent(ticket)}`, 'guacamole', {
      localAddress: this.address,
      // ws's own connect, keeping the socket (ws passes net.connect the request's options).
      createConnection: (options: ClientRequestArgs) => (this.socket = connect(options as NetConnectOpts)),
    });
    this.ws = ws;
    this.connected = false;
    const parser = new GuacParser({ maxElementLength: 1 << 20, maxInstructionLength: 1 << 21 });
    ws.on('open', () => this.counts.tunnels++);
    ws.on('message', (data: Buffer) => {
      if (this.ws !== ws) return;
      for (const r of parser.push(data)) {
        if (r.instruction?.opcode !== 'vdiguard') continue;
        const [what, value] = r.instruction.args;
        if (what === 'session') {
          this.connected = true;
          this.sessionId = value;
        } else if (what === 'challenge' && !this.challenged) {
          this.counts.challenges.asked++;
          this.challenged = true;
          setTimeout(() => void this.answerChallenge(url), CHALLENGE_ANSWER_MS);
        } else if (what === 'resumed') {
          this.challenged = false;
          // The page picks up where the agent is now, not where the check interrupted.
          this.queue = [];
          this.nextStretchAt = 0;
        }
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = undefined;
      setTimeout(() => void this.reconnect(), 1000);
    });
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    this.gateway = (this.gateway + 1) % this.gateways.length;
    const url = this.gateways[this.gateway] as string;
    const res = await post(`${url}/api/tickets`, this.address, { desktop: this.desktopId }, this.token);
    if (res.status === 401 || res.status === 403) {
      // The login was ended (a terminate, or the agent locked): the page would be back at sign-in.
      const why = `${res.status}: ${res.error}`;
      this.counts.endings.set(why, (this.counts.endings.get(why) ?? 0) + 1);
      this.ended = true;
      this.stopped = true;
      return;
    }
    if (res.status !== 200) {
      // A gateway restarting or unreachable: the page tries the next one a little later.
      if (res.status === 0 || res.status >= 500) this.counts.retries++;
      else this.fail(`ticket ${res.status}: ${res.error}`);
      setTimeout(() => void this.reconnect(), 2000);
      return;
    }
    this.counts.reconnects++;
    this.open(url, (res.body as { ticket: string }).ticket);
  }

  /**
   * The agent answers the identity check with a fresh code, as on the page; an impostor, who has
   * no codes, does not, and the gateway ends the session when the check times out.
   */
  private async answerChallenge(url: string, attempt = 1): Promise<void> {
    if (this.stopped || this.plan.hands === 'impostor' || !this.sessionId) return;
    if (attempt === 1) this.counts.challenges.answered++;
    const res = await post(`${url}/api/challenge`, this.address, { session: this.sessionId, code: totpCode(this.plan.totpSecret, Date.now()) }, this.token);
    const outcome = (res.body as { outcome?: string }).outcome;
    if (res.status === 200 && outcome === 'resumed') {
      this.counts.challenges.passed++;
    } else if (res.status === 200 && outcome === 'wrong' && attempt === 1) {
      // The code was the one signed in with (each is good once): the next one comes within 30 s.
      setTimeout(() => void this.answerChallenge(url, 2), TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS) + 1000);
    } else if ((res.status === 0 || res.status >= 500) && attempt < 6) {
      // The gateway or its database is away for a moment: the agent tries again, as on the page.
      this.counts.retries++;
      setTimeout(() => void this.answerChallenge(url, attempt + 1), 5000);
    } else {
      this.fail(`challenge ${res.status}: ${outcome ?? res.error}`);
    }
  }

  /** Sends what is due by `now` (ms on this process's clock), each after its time as the page sends it. */
  tick(now: number): void {
    const ws = this.ws;
    if (this.stopped || !ws || !this.connected || this.challenged || ws.readyState !== WebSocket.OPEN) {
      // The page sends nothing it cannot: guacamole-common-js drops input while the tunnel is not
      // connected, and an identity check takes the keyboard. What falls due meanwhile is not sent
      // later in a burst either.
      while (this.dueBy(now)) this.queue.shift();
      return;
    }
    if (this.queue.length === 0 && now >= this.nextStretchAt) {
      // Each client works from its own point in the track, so the agents do not move in step.
      const from = this.index * 7_919_000 + this.stretch * STRETCH_MS;
      this.origin = now;
      this.nextStretchAt = now + STRETCH_MS;
      this.queue = workStretch(this.track, this.who, this.index * 100_003 + this.stretch++, from, STRETCH_MS);
    }
    if (!this.dueBy(now)) return;
    // Chromium writes the WebSocket frames that are waiting as one TCP write (net/websockets'
    // WebSocketBasicStream::WriteFrames), and the page's time and input, sent in one task, are
    // mostly waiting together: the gateway then reads both in one go. So do the clients.
    this.socket?.cork();
    while (this.dueBy(now)) {
      const due = this.queue.shift() as Due;
      const at = Math.round((this.origin + due.atMs) * 1000) / 1000;
      // Two messages, as the page sends them (gateway/page/client-times.js wraps the tunnel's
      // sendMessage, and guacamole-common-js sends each instruction as a message of its own): the
      // gateway reads, parses and taps each, and forwards the input as it came.
      ws.send(encodeInstruction('vdiguard', 'time', String(at)));
      ws.send(due.instruction);
      this.counts.events++;
      this.counts.sentLate.record(Math.max(1, Math.round(now - at)));
    }
    this.socket?.uncork();
  }

  private dueBy(now: number): boolean {
    return this.queue.length > 0 && this.origin + (this.queue[0] as Due).atMs <= now;
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
  }
}

async function main(): Promise<void> {
  const tracks = await loadMouseTracks(TRACK_USERS);
  const send = (m: FromLoad): void => void process.send?.(m);
  const counts: Counts = { tunnels: 0, reconnects: 0, retries: 0, busy: 0, events: 0, failures: new Map<string, number>(), endings: new Map<string, number>(), challenges: { asked: 0, answered: 0, passed: 0 }, sentLate: createHistogram() };
  let clients: Client[] = [];
  /** The counts so far, and how late input went since the last report (which starts over). */
  const report = (): LoadStats => {
    const sentLateP99Ms = counts.sentLate.count > 0 ? counts.sentLate.percentile(99) : null;
    counts.sentLate.reset();
    return {
      tunnels: counts.tunnels,
      reconnects: counts.reconnects,
      retries: counts.retries,
      busy: counts.busy,
      events: counts.events,
      signedIn: clients.filter((c) => c.signedIn).length,
      active: clients.filter((c) => !c.stopped).length,
      ended: clients.filter((c) => c.ended).length,
      failures: Object.fromEntries(counts.failures),
      endings: Object.fromEntries(counts.endings),
      challenges: { ...counts.challenges },
      sentLateP99Ms,
    };
  };
  const ticker = setInterval(() => {
    const now = performance.now();
    for (const c of clients) c.tick(now);
  }, TICK_MS);
  const reporter = setInterval(() => send({ stats: report() }), 5000);
  process.on('message', (m: ToLoad) => {
    if ('start' in m) {
      const { gateways, desktopId, agents, rampMs } = m.start;
      clients = agents.map((a, i) => new Client(a, gateways, desktopId, i, tracks[a.track % tracks.length] as MouseTrack, counts));
      // Spread over the ramp, so that a thousand logins do not arrive in one instant.
      clients.forEach((c, i) => setTimeout(() => void c.start(), (rampMs * i) / clients.length));
    } else {
      clearInterval(ticker);
      clearInterval(reporter);
      for (const c of clients) c.stop();
      send({ stopped: report() });
      setTimeout(() => process.exit(0), 2000);
    }
  });
  send({ ready: true });
}

if (process.argv[2] === 'load') await main();
