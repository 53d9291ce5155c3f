/**
 * Plots as hand-written SVG: the ROC curve of each row (left) and the genuine and impostor score
 * distributions of the first row (right). No dependency, reviewable as text.
 */
import type { ScoredRow } from './summary.js';

const W = 900;
const H = 420;
const PAD = 50;
const PANEL = 340;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/** ROC points (genuine rejected, impostors rejected) as the threshold sweeps, at most ~200 of them. */
export function rocPoints(genuine: readonly number[], impostor: readonly number[]): [number, number][] {
  const g = genuine.filter(Number.isFinite);
  const im = impostor.filter(Number.isFinite);
  if (g.length === 0 || im.length === 0) return [];
  const all = [...g.map((s) => ({ s, imp: 0 })), ...im.map((s) => ({ s, imp: 1 }))].sort((a, b) => b.s - a.s);
  // Sweep from the highest score down: everything above the threshold is rejected.
  const pts: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  const step = Math.max(1, Math.floor(all.length / 200));
  for (let i = 0; i < all.length; i++) {
    const a = all[i] as { s: number; imp: number };
    if (a.imp) tp++;
    else fp++;
    const next = all[i + 1];
    if ((i % step === 0 || i === all.length - 1) && (next === undefined || next.s !== a.s)) pts.push([fp / g.length, tp / im.length]);
  }
  return pts;
}

function histogram(values: readonly number[], lo: number, hi: number, bins: number): number[] {
  const h = new Array<number>(bins).fill(0);
  const f = values.filter(Number.isFinite);
  for (const v of f) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)));
    h[b] = (h[b] as number) + 1 / f.length;
  }
  return h;
}

/** Text for SVG: the three characters XML needs escaped. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function plotSvg(title: string, rows: readonly ScoredRow[], aucs: readonly number[]): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  // ROC panel.
  const x0 = PAD;
  const y0 = PAD;
  out.push(`<rect x="${x0}" y="${y0}" width="${PANEL}" height="${PANEL}" fill="none" stroke="#333"/>`);
  out.push(`<line x1="${x0}" y1="${y0 + PANEL}" x2="${x0 + PANEL}" y2="${y0}" stroke="#bbb" stroke-dasharray="4"/>`);
  out.push(`<text x="${x0 + PANEL / 2}" y="${y0 + PANEL + 30}" text-anchor="middle">genuine rejected (false reject rate)</text>`);
  out.push(`<text x="${x0 - 30}" y="${y0 + PANEL / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 30} ${y0 + PANEL / 2})">impostors rejected</text>`);
  rows.forEach((r, i) => {
    const pts = rocPoints(r.genuine, r.impostor).map(([x, y]) => `${(x0 + x * PANEL).toFixed(1)},${(y0 + PANEL - y * PANEL).toFixed(1)}`);
    const c = COLOURS[i % COLOURS.length] as string;
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>`);
    out.push(`<text x="${x0 + PANEL - 10}" y="${y0 + PANEL - 15 - 16 * i}" text-anchor="end" fill="${c}">${esc(`${r.row} (${r.model}) AUC ${(aucs[i] ?? Number.NaN).toFixed(3)}`)}</text>`);
  });
  // Score distributions of the first row.
  const r = rows[0];
  const x1 = PAD * 2 + PANEL + 60;
  out.push(`<rect x="${x1}" y="${y0}" width="${PANEL}" height="${PANEL}" fill="none" stroke="#333"/>`);
  if (r) {
    const lo = -4;
    const hi = 8;
    const bins = 48;
    const hg = histogram(r.genuine.map((v) => Math.max(lo, Math.min(hi, v))), lo, hi, bins);
    const hi2 = histogram(r.impostor.map((v) => Math.max(lo, Math.min(hi, v))), lo, hi, bins);
    const top = Math.max(...hg, ...hi2, 1e-9);
    const bw = PANEL / bins;
    const bar = (h: number[], colour: string): void => {
      h.forEach((v, b) => {
        const bh = (v / top) * (PANEL - 20);
        out.push(`<rect x="${(x1 + b * bw).toFixed(1)}" y="${(y0 + PANEL - bh).toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="${colour}" fill-opacity="0.45"/>`);
      });
    };
    bar(hg, '#1f77b4');
    bar(hi2, '#d62728');
    for (let v = lo; v <= hi; v += 2) {
      const x = x1 + ((v - lo) / (hi - lo)) * PANEL;
      out.push(`<text x="${x.toFixed(1)}" y="${y0 + PANEL + 15}" text-anchor="middle">${v}</text>`);
    }
    out.push(`<text x="${x1 + PANEL / 2}" y="${y0 + PANEL + 30}" text-anchor="middle">calibrated score (${esc(r.row)}), clipped to [${lo}, ${hi}]</text>`);
    out.push(`<text x="${x1 + 10}" y="${y0 + 18}" fill="#1f77b4">genuine (${r.genuine.length})</text>`);
    out.push(`<text x="${x1 + 10}" y="${y0 + 34}" fill="#d62728">impostor (${r.impostor.length})</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
