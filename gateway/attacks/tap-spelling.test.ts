/**
 * Attack (issue 17): a hostile client spells `key` numbers so that the tap does not mirror them but
 * the desktop side still types them: hex ("0x74", "4.0x74"), '+', leading zeros or white space,
 * fractions, exponents, keysyms past 2^32 (atoi truncates 4294967393 to 97). On main they reached
 * guacd unscored and the session's input count stayed 0. It also sends opcodes that put input on
 * the desktop the scorer never sees (touch), or streams the tap did not open (a blob on a file
 * stream, an image "pasted", a stream index guacd reads as another), and client times (issue 19)
 * spelled otherwise than the page writes them, or in the gateway's own `vdiguard` instructions, and
 * timing-only samples of a coalesced move out of form, out of order, too many, or forging a detour.
 *
 * Control: the tap forwards `key`/`mouse` only in canonical form (gateway/guac/input.ts) and only
 * the opcodes the page sends; a paste only as the page sends it, under VDIGUARD_CLIPBOARD=both
 * (gateway/tap/paste.ts); a client time only as `vdiguard,time,<ms>` in canonical form, one per
 * input, consumed (gateway/tap/client-time.ts); samples only as `vdiguard,samples,<ms>,<x>,<y>...`
 * before a mouse's time, at most 32, in order, consumed, and clamped between the mice around them;
 * anything else ends the session with
 * CLIENT_BAD_REQUEST and guacd receives none of it. Real sockets: browser WebSocket -> gateway -> fake guacd, fake scorer.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GuacStatus, encode } from '../guac/index.js';
import { startHarness, TunnelClient, until, type Harness } from '../testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

async function connected(): Promise<{ client: TunnelClient; sessionId: string }> {
  const { ticket } = await h.login();
  const client = await TunnelClient.open(h.gateway.url, ticket, '&width=1280&height=720');
  const s = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'session');
  await client.waitFor((i) => i.opcode === '' || i.opcode === 'size');
  return { client, sessionId: s.args[1] as string };
}

const GENUINE = encode({ opcode: 'key', args: ['97', '1'] });
const MOVE = encode({ opcode: 'mouse', args: ['10', '20', '0'] });
const samples = (...points: [string, string, string][]) => encode({ opcode: 'vdiguard', args: ['samples', ...points.flat()] });

const hostile: { name: string; wire: string }[] = [
  ...[
    ['hex', '0x74'],
    ['hex after a digit (atoi reads 4)', '4.0x74'],
    ["'+'", '+116'],
    ['leading zero', '0116'],
    ['leading white space', ' 116'],
    ['fraction', '116.0'],
    ['exponent', '1.16e2'],
    ['keysym past 2^32 (atoi truncates it to 116)', '4294967412'],
    ['keysym past X11 29 bits', '536870912'],
  ].map(([name, keysym]) => ({ name: `key, ${name}`, wire: encode({ opcode: 'key', args: [keysym as string, '1'] }) })),
  { name: 'key, pressed "2" (guacd presses)', wire: encode({ opcode: 'key', args: ['116', '2'] }) },
  { name: 'key, one argument (guacd reads a stale one)', wire: encode({ opcode: 'key', args: ['116'] }) },
  { name: 'mouse, "+" coordinate', wire: encode({ opcode: 'mouse', args: ['+10', '20', '1'] }) },
  { name: 'mouse, undefined button bits', wire: encode({ opcode: 'mouse', args: ['10', '20', '33'] }) },
  { name: 'blob on a stream no clipboard instruction opened (a file stream)', wire: encode({ opcode: 'blob', args: ['1', 'dGV4dA=='] }) },
  { name: 'an image "pasted"', wire: encode({ opcode: 'clipboard', args: ['0', 'image/png'] }) },
  { name: 'paste on stream "00" after opening "0" (guacd reads both as 0)', wire: encode({ opcode: 'clipboard', args: ['0', 'text/plain'] }) + encode({ opcode: 'blob', args: ['00', 'dGV4dA=='] }) },
  { name: 'touch', wire: encode({ opcode: 'touch', args: ['0', '10', '20', '1', '1', '0', '1'] }) },
  { name: 'a client time with an exponent', wire: encode({ opcode: 'vdiguard', args: ['time', '1e3'] }) + GENUINE },
  { name: 'two client times for one input', wire: encode({ opcode: 'vdiguard', args: ['time', '1'] }) + encode({ opcode: 'vdiguard', args: ['time', '2'] }) + GENUINE },
  { name: 'a vdiguard instruction other than a client time', wire: encode({ opcode: 'vdiguard', args: ['resumed'] }) },
  { name: 'a sample with a hex coordinate', wire: samples(['1', '0x10', '5']) + encode({ opcode: 'vdiguard', args: ['time', '2'] }) + MOVE },
  { name: 'samples before a key', wire: samples(['1', '10', '5']) + GENUINE },
  { name: 'samples later than their mouse', wire: samples(['3', '10', '5']) + encode({ opcode: 'vdiguard', args: ['time', '2'] }) + MOVE },
  { name: '33 samples before one mouse', wire: samples(...Array.from({ length: 33 }, (_, i): [string, string, string] => [String(i + 1), '10', '5'])) + encode({ opcode: 'vdiguard', args: ['time', '40'] }) + MOVE },
  { name: 'two samples instructions before one mouse', wire: samples(['1', '10', '5']) + samples(['2', '10', '5']) + encode({ opcode: 'vdiguard', args: ['time', '3'] }) + MOVE },
];

for (const { name, wire } of hostile) {
  test(`${name}: the session ends with CLIENT_BAD_REQUEST and guacd receives none of it`, async () => {
    const before = h.guacd.connections.length;
    const { client, sessionId } = await connected();
    const conn = h.guacd.connections[before];
    assert.ok(conn);
    client.send(GENUINE);
    await until(() => conn.raw.includes(GENUINE), 2000, 'genuine key forwarded');
    client.send(wire);
    const err = await client.waitFor((i) => i.opcode === 'error', 2000);
    assert.equal(Number(err.args[1]), GuacStatus.CLIENT_BAD_REQUEST);
    await client.closed;
    await until(() => conn.closed, 2000, 'desktop connection closed');
    // The gateway's own `disconnect` (gateway/http/guacamole-lite.ts) is all that may follow.
    assert.equal(conn.raw, GENUINE + '10.disconnect;', 'guacd received the genuine key and nothing of the hostile instruction');
    assert.deepEqual(conn.received.map((i) => i.opcode), ['key', 'disconnect']);
    await until(() => h.scorer!.events(sessionId).length === 1, 2000, 'genuine key mirrored');
    assert.deepEqual(h.scorer!.events(sessionId).map((e) => e.kind?.value), [{ keysym: 97, pressed: true }]);
  });
}

test('the same instruction in canonical form passes and is scored', async () => {
  const before = h.guacd.connections.length;
  const { client, sessionId } = await connected();
  const conn = h.guacd.connections[before]!;
  const wire = encode({ opcode: 'key', args: ['116', '1'] }) + encode({ opcode: 'mouse', args: ['-4', '20', '1'] });
  client.send(wire);
  await until(() => conn.raw === wire, 2000, 'forwarded');
  await until(() => h.scorer!.events(sessionId).length === 2, 2000, 'mirrored');
  assert.deepEqual(h.scorer!.events(sessionId).map((e) => e.kind?.value), [{ keysym: 116, pressed: true }, { x: -4, y: 20, buttonMask: 1 }]);
  client.ws.close();
  await client.closed;
});

test('a client time as the page sends it: consumed, nothing of it at guacd, the next input carries it to the scorer', async () => {
  const before = h.guacd.connections.length;
  const { client, sessionId } = await connected();
  const conn = h.guacd.connections[before]!;
  const scored = h.scorer!.events(sessionId).length;
  client.send(encode({ opcode: 'vdiguard', args: ['time', '81234.5'] }));
  client.send(GENUINE);
  await until(() => h.scorer!.events(sessionId).length === scored + 1, 2000, 'mirrored');
  assert.equal(h.scorer!.events(sessionId).at(-1)?.clientTimeMs, 81234.5);
  await until(() => conn.raw === GENUINE, 2000, 'the key alone forwarded');
  client.ws.close();
  await client.closed;
});

test('samples as the page sends them: consumed, nothing of them at guacd; at the scorer before their mouse, a forged detour clamped between the mice around it', async () => {
  const before = h.guacd.connections.length;
  const { client, sessionId } = await connected();
  const conn = h.guacd.connections[before]!;
  const scored = h.scorer!.events(sessionId).length;
  const first = encode({ opcode: 'mouse', args: ['100', '100', '0'] });
  const second = encode({ opcode: 'mouse', args: ['120', '110', '0'] });
  client.send(first);
  client.send(samples(['10.5', '105', '103'], ['11', '900', '-40'], ['12', '118', '109']));
  client.send(encode({ opcode: 'vdiguard', args: ['time', '13.5'] }));
  client.send(second);
  await until(() => h.scorer!.events(sessionId).length === scored + 5, 2000, 'mirrored');
  await until(() => conn.raw === first + second, 2000, 'the mice alone forwarded');
  assert.deepEqual(
    h.scorer!.events(sessionId).slice(scored).map((e) => [e.kind?.value, e.clientTimeMs, e.timingOnly ?? false]),
    [
      [{ x: 100, y: 100, buttonMask: 0 }, undefined, false],
      [{ x: 105, y: 103, buttonMask: 0 }, 10.5, true],
      [{ x: 120, y: 100, buttonMask: 0 }, 11, true],
      [{ x: 118, y: 109, buttonMask: 0 }, 12, true],
      [{ x: 120, y: 110, buttonMask: 0 }, 13.5, false],
    ],
  );
  client.ws.close();
  await client.closed;
});

test('a paste as the page sends it reaches guacd whole, and the scorer sees none of it', async () => {
  const before = h.guacd.connections.length;
  const { client, sessionId } = await connected();
  const conn = h.guacd.connections[before]!;
  const wire = encode({ opcode: 'clipboard', args: ['0', 'text/plain'] }) + encode({ opcode: 'blob', args: ['0', Buffer.from('pasted text').toString('base64')] }) + encode({ opcode: 'end', args: ['0'] });
  // The agent's session goes on from the tests before (one per agent and desktop): count from here.
  const scored = h.scorer!.events(sessionId).length;
  client.send(GENUINE);
  client.send(wire);
  await until(() => conn.raw === GENUINE + wire, 2000, 'forwarded');
  await until(() => h.scorer!.events(sessionId).length === scored + 1, 2000, 'the key mirrored');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(h.scorer!.events(sessionId).slice(scored).map((e) => e.kind?.$case), ['key'], 'the key only: the paste is not input to score');
  client.ws.close();
  await client.closed;
});

test('VDIGUARD_CLIPBOARD=to-browser: a paste ends the session, guacd is told to disable paste and the page learns the policy', async () => {
  const other = await startHarness({ env: { VDIGUARD_CLIPBOARD: 'to-browser' } });
  try {
    const { ticket } = await other.login();
    const client = await TunnelClient.open(other.gateway.url, ticket, '&width=1280&height=720');
    const policy = await client.waitFor((i) => i.opcode === 'vdiguard' && i.args[0] === 'clipboard');
    assert.equal(policy.args[1], 'to-browser');
    await client.waitFor((i) => i.opcode === '' || i.opcode === 'size');
    const conn = other.guacd.connections.at(-1)!;
    assert.deepEqual([conn.connectArgs['disable-copy'], conn.connectArgs['disable-paste']], ['', 'true']);
    client.send(encode({ opcode: 'clipboard', args: ['0', 'text/plain'] }));
    const err = await client.waitFor((i) => i.opcode === 'error', 2000);
    assert.equal(Number(err.args[1]), GuacStatus.CLIENT_BAD_REQUEST);
    await until(() => conn.closed, 2000, 'desktop connection closed');
    assert.equal(conn.raw, '10.disconnect;');
  } finally {
    await other.close();
  }
});
