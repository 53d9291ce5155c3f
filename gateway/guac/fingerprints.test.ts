import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guacdCertFingerprints, normalizeFingerprint, parseCertFingerprints } from './fingerprints.js';

const HEX = '0f51' + 'ab'.repeat(28) + '9e01';
const CLI = HEX.toUpperCase().replace(/(..)(?!$)/g, '$1:');
const GUACD = `sha256:${HEX.replace(/(..)(?!$)/g, '$1:')}`;

test("the CLI's form, guacd's form and bare hex are one fingerprint", () => {
  for (const form of [CLI, GUACD, HEX, HEX.toUpperCase(), `SHA256:${CLI}`, ` ${GUACD} `]) assert.equal(normalizeFingerprint(form), HEX, form);
});

test("guacd gets sha256: and lower-case pairs with colons, as FreeRDP renders the certificate's digest", () => {
  assert.equal(guacdCertFingerprints([HEX]), GUACD);
  assert.match(GUACD, /^sha256:0f:51:(ab:){28}9e:01$/);
  assert.equal(guacdCertFingerprints([HEX, 'cd'.repeat(32)]), `${GUACD},sha256:${'cd:'.repeat(31)}cd`);
  assert.equal(guacdCertFingerprints([]), '');
});

test('a stored value in any form gives the same guacd value; guacd form round-trips', () => {
  const stored = `${CLI}, ${HEX}`;
  const parsed = parseCertFingerprints(stored);
  assert.deepEqual(parsed, { fingerprints: [HEX, HEX], problems: [] });
  assert.deepEqual(parseCertFingerprints(guacdCertFingerprints(parsed.fingerprints)).fingerprints, [HEX, HEX]);
  assert.deepEqual(parseCertFingerprints(''), { fingerprints: [], problems: [] });
  assert.deepEqual(parseCertFingerprints(' , '), { fingerprints: [], problems: [] });
});

test('anything but a SHA-256 fingerprint is named in a problem that shows both accepted forms', () => {
  const { fingerprints, problems } = parseCertFingerprints(`abcd,${CLI},sha1:${'ab:'.repeat(19)}ab,${'zz'.repeat(32)}`);
  assert.deepEqual(fingerprints, [HEX]);
  assert.equal(problems.length, 3);
  assert.match(problems[0]!, /"abcd" is not a SHA-256 fingerprint \(64 hex digits, as in sha256:0f:51:\.\.\. or 0F:51:\.\.\.\)/);
  assert.match(problems[1]!, /^"sha1:/);
});
