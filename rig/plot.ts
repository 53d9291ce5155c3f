/**
 * `vdiguard eval relay --plot FILE`: one bar per stretch, how far the pointer's times were off its
 * path (the path test's measure), against the scale that separates a local device from a relay;
 * beside it the share of intervals off the device's rhythm (the report-rhythm test's measure, which
 * finds relays on a LAN below that scale), and whether and when the scorer suspected remote control.
 */
import { esc } from '../scorer/eval/plot.js';
import type { CellResult } from './relay-eval.js';

const ROW = 28;
const LEFT = 300;
const BAR = 520;
const TOP = 60;

export function relayPlotSvg(title: string, cells: readonly CellResult[], scaleMs: number): string {
  const max = Math.max(scaleMs * 2, ...cells.map((c) => (Number.isFinite(c.shape.disagreementMs) ? c.shape.disagreementMs : 0))) * 1.1;
  const x = (ms: number): number => LEFT + (Math.min(ms, max) / max) * BAR;
  const width = LEFT + BAR + 330;
  const height = TOP + ROW * cells.length + 50;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${LEFT + BAR / 2}" y="44" text-anchor="middle">the pointer's times off its path: robust SD over the stretch (ms)</text>`,
  ];
  cells.forEach((c, i) => {
    const y = TOP + i * ROW;
    const colour = c.path === 'local' ? '#1f77b4' : '#d62728';
    const d = c.shape.disagreementMs;
    out.push(`<text x="${LEFT - 8}" y="${y + 17}" text-anchor="end">${esc(`${c.path}: ${c.setting}${c.run > 0 ? ` (run ${c.run})` : ''}`)}</text>`);
    if (Number.isFinite(d)) out.push(`<rect x="${LEFT}" y="${y + 5}" width="${(x(d) - LEFT).toFixed(1)}" height="${ROW - 10}" fill="${colour}" fill-opacity="0.6"/>`);
    const verdict = c.suspectedAfterS === null ? 'not suspected' : `suspected after ${c.suspectedAfterS.toFixed(1)} s`;
    const rhythm = Number.isFinite(c.shape.offRhythm) ? `${(100 * c.shape.offRhythm).toFixed(0)}%` : '-';
    out.push(`<text x="${(Number.isFinite(d) ? x(d) : LEFT) + 6}" y="${y + 17}">${esc(`${Number.isFinite(d) ? d.toFixed(1) : '-'} ms, ${rhythm} off the rhythm, ${verdict}`)}</text>`);
  });
  const bottom = TOP + ROW * cells.length;
  out.push(`<line x1="${x(scaleMs)}" y1="${TOP}" x2="${x(scaleMs)}" y2="${bottom}" stroke="#333" stroke-dasharray="4"/>`);
  out.push(`<text x="${x(scaleMs)}" y="${bottom + 16}" text-anchor="middle">scale ${scaleMs} ms</text>`);
  out.push(`<line x1="${LEFT}" y1="${bottom}" x2="${LEFT + BAR}" y2="${bottom}" stroke="#333"/>`);
  for (let v = 0; v <= max; v += max > 20 ? 5 : 2) out.push(`<text x="${x(v).toFixed(1)}" y="${bottom + 32}" text-anchor="middle" fill="#555">${v}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
