/**
 * `cert-fingerprints`, the pinned certificates of a desktop, meaning the same on both engines.
 *
 * guacd 1.6 hands the value unchanged to FreeRDP 2.11 (CertificateAcceptedFingerprints), which
 * splits it at commas, reads each entry as `<hash>:<digest>` and compares the digest, ignoring case,
 * with its own rendering of the certificate's: hex pairs joined by colons. So guacd needs
 * `sha256:0f:51:...`; the form the CLI was given and Node prints (`0F:51:...`) never matches there,
 * and the connection waits without an error. The built-in bridge takes either. Every stored form
 * stays valid: the gateway parses it here and hands either engine guacd's form.
 */

/** SHA-256 fingerprints as lower-case hex without separators, and what was not one. */
export interface CertFingerprints {
  readonly fingerprints: readonly string[];
  readonly problems: readonly string[];
}

/** Lower-case hex of one fingerprint: `sha256:` prefix optional, pairs with or without colons, any case. */
export function normalizeFingerprint(text: string): string {
  return text.trim().replace(/^sha-?256:/i, '').replace(/:/g, '').toLowerCase();
}

/** Parses a comma-separated list of SHA-256 fingerprints, in guacd's form, the CLI's, or bare hex. */
export function parseCertFingerprints(text: string): CertFingerprints {
  const fingerprints: string[] = [];
  const problems: string[] = [];
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const hex = normalizeFingerprint(entry);
    if (/^[0-9a-f]{64}$/.test(hex)) fingerprints.push(hex);
    else problems.push(`${JSON.stringify(entry.trim().slice(0, 100))} is not a SHA-256 fingerprint (64 hex digits, as in sha256:0f:51:... or 0F:51:...)`);
  }
  return { fingerprints, problems };
}

/** The fingerprints as guacd (FreeRDP) takes them: `sha256:0f:51:...`, comma separated. */
export function guacdCertFingerprints(fingerprints: readonly string[]): string {
  return fingerprints.map((hex) => `sha256:${hex.replace(/(..)(?!$)/g, '$1:')}`).join(',');
}
