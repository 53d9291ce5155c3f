import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GuacParser, parseAll, type ParseResult } from './parser.js';
import { codePointLength, encode, encodeInstruction, type Instruction } from './encoder.js';
import { GuacProtocolError } from './errors.js';
import { GuacStatus } from './status.js';

const instructions = (results: ParseResult[]): Instruction[] =>
  results.map((r) => {
    if (r.error) throw r.error;
    return r.instruction;
  });

const roundTrip: { name: string; wire: string; instruction: Instruction }[] = [
  { name: 'no arguments', wire: '3.nop;', instruction: { opcode: 'nop', args: [] } },
  { name: 'select', wire: '6.select,3.rdp;', instruction: { opcode: 'select', args: ['rdp'] } },
  { name: 'empty elements', wire: '4.args,0.,0.;', instruction: { opcode: 'args', args: ['', ''] } },
  { name: 'empty opcode (internal instruction)', wire: '0.,4.ping;', instruction: { opcode: '', args: ['ping'] } },
  { name: 'key', wire: '3.key,5.65307,1.1;', instruction: { opcode: 'key', args: ['65307', '1'] } },
  { name: 'mouse', wire: '5.mouse,3.100,2.50,1.1;', instruction: { opcode: 'mouse', args: ['100', '50', '1'] } },
  { name: 'punctuation inside values', wire: '4.text,7.a,b;c.d;', instruction: { opcode: 'text', args: ['a,b;c.d'] } },
  { name: 'digits inside values', wire: '4.text,3.1.2;', instruction: { opcode: 'text', args: ['1.2'] } },
  { name: 'two-byte UTF-8', wire: '4.name,5.héllo;', instruction: { opcode: 'name', args: ['héllo'] } },
  { name: 'three-byte UTF-8', wire: '4.name,2.日本;', instruction: { opcode: 'name', args: ['日本'] } },
  { name: 'astral (surrogate pair) counts one', wire: '4.name,3.a😀b;', instruction: { opcode: 'name', args: ['a😀b'] } },
  { name: 'newline and NUL', wire: '4.text,3.a\n\0;', instruction: { opcode: 'text', args: ['a\n\0'] } },
];

for (const { name, wire, instruction } of roundTrip) {
  test(`round trip: ${name}`, () => {
    assert.equal(encode(instruction), wire);
    assert.deepEqual(parseAll(wire), [instruction]);
  });
}

test('encodeInstruction writes numbers as decimal text', () => {
  assert.equal(encodeInstruction('size', 0, 1024, 768), '4.size,1.0,4.1024,3.768;');
});

test('codePointLength counts code points, not UTF-16 units', () => {
  assert.equal(codePointLength('😀'), 1);
  assert.equal(codePointLength('a😀é日'), 4);
  assert.equal(codePointLength('\ud83d'), 1, 'a lone surrogate counts one');
});

const stream = roundTrip.map((r) => r.wire).join('');
const expected = roundTrip.map((r) => r.instruction);

test('text split at every position parses the same', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const p = new GuacParser();
    const got = [...instructions(p.push(stream.slice(0, cut))), ...instructions(p.push(stream.slice(cut)))];
    assert.deepEqual(got, expected, `cut at ${cut}`);
    assert.ok(p.idle);
  }
});

test('bytes split at every position, inside multi-byte characters too, parse the same', () => {
  const bytes = Buffer.from(stream, 'utf8');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const p = new GuacParser();
    const got = [...instructions(p.push(bytes.subarray(0, cut))), ...instructions(p.push(bytes.subarray(cut)))];
    assert.deepEqual(got, expected, `cut at byte ${cut}`);
  }
});

test('one byte at a time parses the same', () => {
  const p = new GuacParser();
  const got: Instruction[] = [];
  for (const b of Buffer.from(stream, 'utf8')) got.push(...instructions(p.push(Uint8Array.of(b))));
  assert.deepEqual(got, expected);
});

test('one UTF-16 unit at a time (splitting surrogate pairs) parses the same', () => {
  const p = new GuacParser();
  const got: Instruction[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...instructions(p.push(stream[i] as string)));
  assert.deepEqual(got, expected);
});

// Found by `npm run fuzz`: a lone high surrogate took the character after it along as one code point,
// so the parser read past the end of an element the desktop side (which gets U+FFFD for the lone half)
// had already ended, and an instruction the desktop then read inside that element passed unseen.
test('a lone surrogate half is one code point: the parser ends an element where the desktop side does', () => {
  const value = '\ud800a'.repeat(19); // 38 code points as UTF-8 carries them: U+FFFD, 'a', ...
  const wire = `4.name,38.${value};3.key,5.65307,1.1;`;
  assert.deepEqual(parseAll(wire), [{ opcode: 'name', args: [value] }, { opcode: 'key', args: ['65307', '1'] }]);
  assert.deepEqual(parseAll(encodeInstruction('name', '\udc00,', 'x\ud800;')), [{ opcode: 'name', args: ['\udc00,', 'x\ud800;'] }]);
  const p = new GuacParser();
  const got: Instruction[] = [];
  for (const unit of wire) got.push(...instructions(p.push(unit)));
  assert.deepEqual(got, [{ opcode: 'name', args: [value] }, { opcode: 'key', args: ['65307', '1'] }], 'one unit at a time too');
});

const element = fc.string({ unit: 'grapheme', maxLength: 40 });
const instructionArb = fc.record({ opcode: element, args: fc.array(element, { maxLength: 6 }) });

test('property: encode then parse, in random chunks of bytes, gives the instructions back', () => {
  fc.assert(
    fc.property(fc.array(instructionArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (list, cuts) => {
      const bytes = Buffer.from(list.map(encode).join(''), 'utf8');
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const p = new GuacParser({ maxElementLength: 1000, maxInstructionLength: 100000 });
      const got: Instruction[] = [];
      let last = 0;
      for (const c of [...points, bytes.length]) {
        got.push(...instructions(p.push(bytes.subarray(last, c))));
        last = c;
      }
      assert.deepEqual(got, list.map((i) => ({ opcode: i.opcode, args: [...i.args] })));
      assert.ok(p.idle);
    }),
  );
});

test('property: arbitrary input never throws, and after a fatal error the parser stays failed', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.uint8Array()), { maxLength: 6 }), (chunks) => {
      const p = new GuacParser({ maxElementLength: 16, maxInstructionLength: 64, maxElements: 4 });
      let failed = false;
      for (const c of chunks) {
        for (const r of p.push(c)) {
          if (r.error) {
            assert.ok(r.error instanceof GuacProtocolError);
            assert.ok(r.error.message.length > 0);
            if (r.error.fatal) failed = true;
          } else {
            assert.equal(failed, false, 'no instruction after a fatal error');
            assert.ok(r.instruction.args.length + 1 <= 4);
          }
        }
      }
      assert.equal(p.state === 'failed', failed);
    }),
  );
});

const malformed: { name: string; input: string | Uint8Array; reason: string; message: RegExp }[] = [
  { name: 'letter in a length', input: '3.nop;x.abc;', reason: 'bad-length', message: /expected a digit in an element length, got "x"/ },
  { name: 'length without digits', input: '.nop;', reason: 'bad-length', message: /expected a digit/ },
  { name: 'length not followed by a dot', input: '3,nop;', reason: 'bad-length', message: /expected a digit or '.'/ },
  { name: 'negative length', input: '-1.a;', reason: 'bad-length', message: /got "-"/ },
  { name: 'length with too many digits', input: '12345678901.a;', reason: 'bad-length', message: /more than 10 digits/ },
  { name: 'length shorter than the value', input: '3.key,2.abc;', reason: 'bad-terminator', message: /expected ',' or ';' after an element of length 2, got "c" \(in instruction "key"\)/ },
  { name: 'missing terminator', input: '3.nop3.nop;', reason: 'bad-terminator', message: /got "3"/ },
  { name: 'invalid UTF-8', input: Uint8Array.of(0x33, 0x2e, 0xff, 0xfe), reason: 'invalid-utf8', message: /not valid UTF-8/ },
];

for (const { name, input, reason, message } of malformed) {
  test(`malformed: ${name} is a fatal error with a clear message`, () => {
    const p = new GuacParser();
    const results = p.push(input);
    const last = results.at(-1);
    assert.ok(last?.error, 'an error is reported');
    assert.equal(last.error.reason, reason);
    assert.equal(last.error.fatal, true);
    assert.equal(last.error.guacStatus, GuacStatus.CLIENT_BAD_REQUEST);
    assert.match(last.error.message, message);
    assert.equal(p.state, 'failed');
    const again = p.push('3.nop;');
    assert.equal(again.length, 1);
    assert.equal(again[0]?.error?.reason, 'parser-failed');
  });
}

const oversize: { name: string; input: string; reason: string; message: RegExp }[] = [
  { name: 'element', input: `4.blob,1.0,20.${'x'.repeat(20)};`, reason: 'element-too-long', message: /element 3 of "blob" is 20 characters long; the limit is 16/ },
  { name: 'instruction', input: `4.blob,${'10.abcdefghij,'.repeat(2)}10.abcdefghij;`, reason: 'instruction-too-long', message: /instruction "blob" is longer than the limit of 32/ },
  { name: 'element count', input: `1.x,${'0.,'.repeat(6)}0.;`, reason: 'too-many-elements', message: /instruction "x" has more than 5 elements/ },
];

for (const { name, input, reason, message } of oversize) {
  test(`oversize ${name}: a non-fatal error in place of the instruction, the stream goes on`, () => {
    const p = new GuacParser({ maxElementLength: 16, maxInstructionLength: 32, maxElements: 5 });
    // Split the oversize instruction across chunks: nothing of it is buffered, and it is still skipped whole.
    const results = [...p.push('3.nop;' + input.slice(0, 9)), ...p.push(input.slice(9) + '5.mouse,1.1,1.2,1.0;')];
    assert.equal(results.length, 3);
    assert.deepEqual(results[0]?.instruction, { opcode: 'nop', args: [] });
    const err = results[1]?.error;
    assert.ok(err);
    assert.equal(err.reason, reason);
    assert.equal(err.fatal, false);
    assert.equal(err.guacStatus, GuacStatus.CLIENT_OVERRUN);
    assert.match(err.message, message);
    assert.deepEqual(results[2]?.instruction, { opcode: 'mouse', args: ['1', '2', '0'] });
    assert.ok(p.idle);
  });
}

test('idle is false while an instruction is partly received', () => {
  const p = new GuacParser();
  assert.ok(p.idle);
  p.push('3.no');
  assert.equal(p.idle, false);
  assert.equal(p.state, 'value');
  p.push('p');
  assert.equal(p.state, 'terminator');
  p.push(';');
  assert.ok(p.idle);
});

test('parseAll rejects text that ends inside an instruction', () => {
  assert.throws(() => parseAll('3.nop;3.no'), /ends inside an instruction/);
});

test('tap use: parse a stream as it passes, copy key and mouse, forward the chunks unchanged', () => {
  const chunks = ['5.mouse,2.10,', '2.20,1.0;3.key,5.', '65307,1.1;4.sync,2.', '42;'];
  const p = new GuacParser();
  const copied: Instruction[] = [];
  const forwarded: string[] = [];
  for (const c of chunks) {
    for (const r of p.push(c)) if (r.instruction && (r.instruction.opcode === 'key' || r.instruction.opcode === 'mouse')) copied.push(r.instruction);
    forwarded.push(c);
  }
  assert.deepEqual(copied, [
    { opcode: 'mouse', args: ['10', '20', '0'] },
    { opcode: 'key', args: ['65307', '1'] },
  ]);
  assert.equal(forwarded.join(''), chunks.join(''));
});
