import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionRequest, parseConnectionConfirm, PROTOCOL_HYBRID, PROTOCOL_RDP, PROTOCOL_SSL } from './rdp-negotiation.js';

/** A Connection Confirm as a desktop sends it: TPKT, X.224 CC, then the negotiation structure if any. */
function confirm(neg?: { type: number; value: number }): Buffer {
  const x224 = Buffer.from([0, 0xd0, 0, 0, 0x12, 0x34, 0]);
  const body = neg ? Buffer.concat([x224, Buffer.from([neg.type, 0, 8, 0]), Buffer.from(new Uint32Array([neg.value]).buffer)]) : x224;
  body[0] = body.length - 1;
  const tpkt = Buffer.from([3, 0, 0, 0]);
  tpkt.writeUInt16BE(body.length + 4, 2);
  return Buffer.concat([tpkt, body]);
}

test('the Connection Request asks for TLS and NLA in an RDP_NEG_REQ, with consistent lengths', () => {
  const b = connectionRequest();
  assert.equal(b.toString('hex'), '030000130ee000000000000100080003000000');
  assert.equal(b.readUInt16BE(2), b.length, 'TPKT length is the whole packet');
  assert.equal(b[4], b.length - 5, 'X.224 length indicator counts the bytes after itself');
  assert.equal(connectionRequest(PROTOCOL_SSL).readUInt32LE(15), PROTOCOL_SSL);
});

const cases: { name: string; data: Buffer; expect: ReturnType<typeof parseConnectionConfirm> }[] = [
  { name: 'TLS selected (xrdp)', data: confirm({ type: 2, value: PROTOCOL_SSL }), expect: { kind: 'selected', protocol: PROTOCOL_SSL } },
  { name: 'NLA selected (Windows)', data: confirm({ type: 2, value: PROTOCOL_HYBRID }), expect: { kind: 'selected', protocol: PROTOCOL_HYBRID } },
  { name: 'no negotiation: standard RDP security', data: confirm(), expect: { kind: 'selected', protocol: PROTOCOL_RDP } },
  { name: 'empty', data: Buffer.alloc(0), expect: { kind: 'incomplete' } },
  { name: 'half a header', data: confirm().subarray(0, 3), expect: { kind: 'incomplete' } },
  { name: 'half a packet', data: confirm({ type: 2, value: 1 }).subarray(0, 12), expect: { kind: 'incomplete' } },
];
for (const { name, data, expect } of cases) test(`Connection Confirm: ${name}`, () => assert.deepEqual(parseConnectionConfirm(data), expect));

test('a negotiation failure names the reason and is not taken for a non-RDP service', () => {
  const r = parseConnectionConfirm(confirm({ type: 3, value: 5 }));
  assert.equal(r.kind, 'failed');
  assert.ok(r.kind === 'failed' && !r.notRdp);
  assert.match(r.kind === 'failed' ? r.reason : '', /requires NLA \(HYBRID_REQUIRED_BY_SERVER\)/);
  assert.match((parseConnectionConfirm(confirm({ type: 3, value: 99 })) as { reason: string }).reason, /failure code 99/);
});

test('what is not an RDP answer is said so at the first byte that shows it', () => {
  for (const [data, why] of [
    [Buffer.from('HTTP/1.1 400 Bad Request\r\n'), /first byte is 0x48, not a TPKT header/],
    [Buffer.from([3, 0, 0x40, 0]), /TPKT length of 16384/],
    [Buffer.concat([confirm().subarray(0, 5), Buffer.from([0xf0]), confirm().subarray(6)]), /X\.224 code 0xf0/],
    [confirm({ type: 7, value: 0 }), /negotiation type 0x7/],
  ] as const) {
    const r = parseConnectionConfirm(data);
    assert.ok(r.kind === 'failed' && r.notRdp, String(why));
    assert.match(r.reason, why);
    assert.match(r.reason, /does not speak RDP/);
  }
});
