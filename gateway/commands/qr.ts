/** A QR code drawn with text, for the terminal (qrcode-terminal). */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const qrcode = require('qrcode-terminal') as { generate(text: string, o: { small: boolean }, cb: (qr: string) => void): void };

export function terminalQr(text: string): string {
  let out = '';
  qrcode.generate(text, { small: true }, (qr) => {
    out = qr;
  });
  return out;
}
