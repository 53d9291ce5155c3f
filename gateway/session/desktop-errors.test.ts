/**
 * Desktop errors: the engines' messages recognised (a table of what guacd 1.6 and the bridge send),
 * then through a real gateway in front of real guacd and the bridge, against the xrdp dev desktop:
 * an untrusted certificate and an unreachable desktop each give the page
 * `vdiguard,desktop-error,<kind>,<message>` before the error, and the decision log the cause.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { desktopFailure } from './desktop-errors.js';
import { GuacStatus, type Instruction } from '../guac/index.js';
import { ADMIN_TOKEN, api, DESKTOP, startGatewayHarness, TunnelClient } from '../testing/harness.js';
import { freePort, GUACD_SKIP, startBridge, startGuacd, type Engine } from '../testing/guacd.js';
import { DESKTOP_HOST, DESKTOP_PASSWORD, DESKTOP_PORT } from '../testing/desktop.js';
import type { NewDesktop } from '../store/gateway-store.js';

const NOT_FOUND = GuacStatus.UPSTREAM_NOT_FOUND;
const table: [string, number, string | undefined][] = [
  // guacd 1.6, as it answered for xrdp without a pin, a closed port and an unknown host
  ['SSL/TLS connection failed (untrusted/self-signed certificate?)', NOT_FOUND, 'certificate'],
  ['Server refused connection (wrong security type?)', NOT_FOUND, 'unreachable'],
  ['DNS lookup failed (incorrect hostname?)', NOT_FOUND, 'unreachable'],
  ['Connection failed (server unreachable?)', NOT_FOUND, 'unreachable'],
  ['Authentication failure (invalid credentials?)', GuacStatus.CLIENT_UNAUTHORIZED, 'refused'],
  ['Security negotiation failed (wrong security type?)', GuacStatus.CLIENT_UNAUTHORIZED, 'refused'],
  // the built-in bridge (gateway/bridge/rdp.ts, connection.ts)
  ["the desktop's certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE; SHA-256 fingerprint sha256:ab): pin it", GuacStatus.UPSTREAM_ERROR, 'certificate'],
  ["the desktop's certificate (SHA-256 fingerprint sha256:ab) matches none of the 1 pinned fingerprints", GuacStatus.UPSTREAM_ERROR, 'certificate'],
  ['the desktop refused the connection (nothing listens on that port)', NOT_FOUND, 'unreachable'],
  ['the desktop did not answer in time', GuacStatus.UPSTREAM_TIMEOUT, 'unreachable'],
  ['the desktop requires NLA, which the built-in bridge does not support (use guacd)', GuacStatus.UPSTREAM_ERROR, 'refused'],
  ['the desktop closed the connection during the RDP connection sequence (is it an RDP server with the TLS security layer?)', GuacStatus.UPSTREAM_ERROR, 'other'],
  // not desktop errors: the session's own end, a desktop that logged the user off, a client fault
  ['Logged off.', GuacStatus.SESSION_CLOSED, undefined],
  ['Aborted. See logs.', GuacStatus.CLIENT_TIMEOUT, undefined],
  ['the desktop refused the connection (nothing listens on that port)', GuacStatus.CLIENT_BAD_REQUEST, undefined],
  ['Upstream error.', GuacStatus.UPSTREAM_ERROR, undefined],
];
for (const [message, status, kind] of table) {
  test(`engine error ${JSON.stringify(message.slice(0, 60))}: ${kind ?? 'not a desktop error'}`, () => {
    const f = desktopFailure(message, status);
    assert.equal(f?.kind, kind);
    if (f) assert.doesNotMatch(f.message, /sha256|127\.0\.0\.1|nothing listens|SSL/, 'the agent sees no internal detail');
  });
}

test('the agent is told about the certificate in words, and each kind has a hint for the admin', () => {
  assert.match(desktopFailure('SSL/TLS connection failed (untrusted/self-signed certificate?)', NOT_FOUND)!.message, /certificate could not be verified/);
  assert.match(desktopFailure('DNS lookup failed (incorrect hostname?)', NOT_FOUND)!.hint, /vdiguard desktop check host:port/);
});

const SKIP: string | false =
  process.env.VDIGUARD_TEST_RDP !== '1' ? 'needs the xrdp dev desktop: run deploy/dev-desktop.sh and set VDIGUARD_TEST_RDP=1 (.ci/run does)' : GUACD_SKIP;

const engines: Engine[] = [];
before(async () => {
  if (SKIP) return;
  engines.push(await startGuacd(), await startBridge());
});
after(async () => {
  for (const e of engines) await e.close();
});

interface Seen {
  /** The page instruction's kind and message, and the position of each instruction. */
  page: string[];
  error: readonly string[];
  pageBeforeError: boolean;
  reason: string;
}

/** Opens the desktop through a gateway in front of `engine`; what the page got and what the decision log holds. */
async function open(engine: Engine, desktop: Partial<NewDesktop>): Promise<Seen> {
  const h = await startGatewayHarness({
    guacdPort: engine.port,
    desktop: { host: DESKTOP_HOST, port: DESKTOP_PORT, ignoreCert: false, certFingerprints: '', credentials: { username: 'vdiguard-test14', password: DESKTOP_PASSWORD }, ...desktop },
  });
  try {
    const { ticket } = await h.login();
    const client = await TunnelClient.open(h.gateway.url, ticket, '&width=1024&height=768');
    const sessionId = (await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session')).args[1]!;
    await client.waitFor((i) => i.opcode === 'error', 30_000);
    // The gateway ends the connection itself: no waiting for guacd's 15 s abort.
    await client.closed;
    const at = (pred: (i: Instruction) => boolean): number => client.received.findIndex(pred);
    const pageAt = at((i) => i.opcode === 'vdiguard' && i.args[0] === 'desktop-error');
    const errorAt = at((i) => i.opcode === 'error');
    let reason = '';
    for (let i = 0; i < 100 && !reason; i++) {
      const d = (await api(h.gateway.url, `/api/admin/decisions?session=${sessionId}`, undefined, ADMIN_TOKEN)).body as { decisions: { action: string; source: string; reason: string }[] };
      reason = d.decisions.find((x) => x.action === 'desktop-error' && x.source === 'gateway')?.reason ?? '';
      if (!reason) await new Promise((r) => setTimeout(r, 20));
    }
    return {
      page: pageAt < 0 ? [] : client.received[pageAt]!.args.slice(1),
      error: client.received[errorAt]!.args,
      pageBeforeError: pageAt >= 0 && pageAt < errorAt,
      reason,
    };
  } finally {
    await h.close();
  }
}

for (const name of ['guacd', 'bridge'] as const) {
  const engine = (): Engine => engines.find((e) => e.name === name)!;

  test(`${name}: an untrusted certificate gives the page desktop-error certificate, and the admin the cause`, { skip: SKIP, timeout: 60_000 }, async () => {
    const seen = await open(engine(), {});
    assert.equal(seen.page[0], 'certificate');
    assert.match(seen.page[1]!, /certificate could not be verified/);
    assert.ok(seen.pageBeforeError, 'the page instruction comes before the error');
    assert.equal(seen.error[0], seen.page[1], 'the error carries the same message, not the engine\'s');
    assert.match(seen.reason, new RegExp(`^desktop ${DESKTOP} at 127\\.0\\.0\\.1:3389: `));
    assert.match(seen.reason, name === 'guacd' ? /SSL\/TLS connection failed \(untrusted\/self-signed certificate\?\)/ : /certificate is not trusted .*fingerprint sha256:/);
    assert.match(seen.reason, /pin the certificate/);
  });

  test(`${name}: an unreachable desktop gives the page desktop-error unreachable, and the admin the cause`, { skip: SKIP, timeout: 60_000 }, async () => {
    const port = await freePort();
    const seen = await open(engine(), { port, ignoreCert: true });
    assert.equal(seen.page[0], 'unreachable');
    assert.match(seen.page[1]!, /cannot be reached/);
    assert.ok(seen.pageBeforeError);
    assert.match(seen.reason, new RegExp(`^desktop ${DESKTOP} at 127\\.0\\.0\\.1:${port}: `));
    assert.match(seen.reason, name === 'guacd' ? /Server refused connection/ : /refused the connection \(nothing listens on that port\)/);
  });
}
