/**
 * QR codes of TOTP provisioning URIs: drawn with text for the terminal (qrcode-terminal), and as a
 * small SVG for the admin page, from the QR encoder qrcode-terminal vendors (no second library).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const qrcode = require('qrcode-terminal') as { generate(text: string, o: { small: boolean }, cb: (qr: string) => void): void };

interface QrMatrix {
  addData(text: string): void;
  make(): void;
  getModuleCount(): number;
  isDark(row: number, col: number): boolean;
}
const QRCode = require('qrcode-terminal/vendor/QRCode') as new (typeNumber: number, level: number) => QrMatrix;
const LEVEL = require('qrcode-terminal/vendor/QRCode/QRErrorCorrectLevel') as Record<'L' | 'M' | 'Q' | 'H', number>;

export function terminalQr(text: string): string {
  let out = '';
  qrcode.generate(text, { small: true }, (qr) => {
    out = qr;
  });
  return out;
}

/** The quiet zone the QR specification asks for around the code, in modules. */
const QUIET = 4;

/**
 * The QR code as an SVG document: one path of unit squares (one module = one user unit, scaled by
 * the page), dark on white, with the quiet zone, so any authenticator app's camera reads it.
 */
export function svgQr(text: string): string {
  const qr = new QRCode(-1, LEVEL.M);
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  let d = '';
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) if (qr.isDark(row, col)) d += `M${col + QUIET} ${row + QUIET}h1v1h-1z`;
  }
  const size = n + 2 * QUIET;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"><rect width="${size}" height="${size}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`;
}
