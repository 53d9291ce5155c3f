/**
 * QR codes of TOTP provisioning URIs: drawn with text for the terminal (qrcode-terminal), or as SVG
 * for the admin page, from the same encoder (qrcode-terminal's vendored QRCode).
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
const { L } = require('qrcode-terminal/vendor/QRCode/QRErrorCorrectLevel') as { L: number };

export function terminalQr(text: string): string {
  let out = '';
  qrcode.generate(text, { small: true }, (qr) => {
    out = qr;
  });
  return out;
}

/** An SVG image of the QR code: one path of dark modules inside the 4-module quiet zone readers need. */
export function svgQr(text: string): string {
  const qr = new QRCode(-1, L);
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + 4} ${r + 4}h1v1h-1z`;
  const size = n + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"><rect width="${size}" height="${size}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`;
}
