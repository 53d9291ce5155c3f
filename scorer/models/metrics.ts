/** Verification metrics over scores where larger means "less like the claimed agent". */

/** ROC AUC: the probability that an impostor scores above a genuine attempt (ties count half). */
export function rocAuc(genuine: readonly number[], impostor: readonly number[]): number {
  const g = genuine.filter(Number.isFinite);
  const im = impostor.filter(Number.isFinite);
  if (g.length === 0 || im.length === 0) return Number.NaN;
  const all = [...g.map((s) => ({ s, imp: false })), ...im.map((s) => ({ s, imp: true }))].sort((a, b) => a.s - b.s);
  // Mann-Whitney U with average ranks for ties.
  let rankSumImp = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && (all[j] as { s: number }).s === (all[i] as { s: number }).s) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if ((all[k] as { imp: boolean }).imp) rankSumImp += avgRank;
    i = j;
  }
  return (rankSumImp - (im.length * (im.length + 1)) / 2) / (im.length * g.length);
}

/** Equal error rate: where the false reject rate of genuine meets the false accept rate of impostors. */
export function equalErrorRate(genuine: readonly number[], impostor: readonly number[]): number {
  const g = genuine.filter(Number.isFinite).sort((a, b) => a - b);
  const im = impostor.filter(Number.isFinite).sort((a, b) => a - b);
  if (g.length === 0 || im.length === 0) return Number.NaN;
  const thresholds = [...new Set([...g, ...im])].sort((a, b) => a - b);
  let best = 1;
  let bestGap = Infinity;
  let gi = 0;
  let ii = 0;
  for (const t of [-Infinity, ...thresholds]) {
    // Reject when score > t.
    while (gi < g.length && (g[gi] as number) <= t) gi++;
    while (ii < im.length && (im[ii] as number) <= t) ii++;
    const frr = (g.length - gi) / g.length;
    const far = ii / im.length;
    const gap = Math.abs(frr - far);
    if (gap < bestGap) {
      bestGap = gap;
      best = (frr + far) / 2;
    }
  }
  return best;
}
