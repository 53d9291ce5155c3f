/**
 * Where a model stands per window: enrol each user, score the user's own held-out windows
 * (genuine) and other users' windows (impostors), pool the calibrated scores, report ROC AUC and
 * EER. The evaluation harness of the models issue builds the full protocols; this is the quick
 * check that a feature or model change helps.
 */
import type { ModalityModel, JsonValue } from './types.js';
import { equalErrorRate, rocAuc } from './metrics.js';

export interface UserWindows {
  id: string;
  /** Windows the template is fitted on. */
  enrol: number[][];
  /** Held-out windows: genuine for this user, impostor probes for the others. */
  test: number[][];
}

export interface WindowMeasure {
  /** Pooled ROC AUC over all users' genuine and impostor scores. */
  auc: number;
  /** Pooled EER (one global threshold on calibrated scores). */
  eer: number;
  /** Mean of the per-user EERs (a threshold per user). */
  meanUserEer: number;
  users: number;
  genuine: number;
  impostor: number;
}

/**
 * `impostorWindows`: how many test windows of each other user probe a template (default 1, the
 * TypeNet protocol's one sequence per other participant).
 */
export function measureWindows<T extends JsonValue>(users: readonly UserWindows[], model: ModalityModel<T>, impostorWindows = 1): WindowMeasure {
  const genuine: number[] = [];
  const impostor: number[] = [];
  const userEers: number[] = [];
  let n = 0;
  for (const u of users) {
    if (u.test.length === 0) continue;
    const t = model.fit(u.enrol);
    n += 1;
    const g = u.test.map((v) => model.score(t, v));
    const im: number[] = [];
    for (const o of users) {
      if (o === u) continue;
      for (const v of o.test.slice(0, impostorWindows)) im.push(model.score(t, v));
    }
    genuine.push(...g);
    impostor.push(...im);
    const e = equalErrorRate(g, im);
    if (Number.isFinite(e)) userEers.push(e);
  }
  return {
    auc: rocAuc(genuine, impostor),
    eer: equalErrorRate(genuine, impostor),
    meanUserEer: userEers.reduce((a, b) => a + b, 0) / userEers.length,
    users: n,
    genuine: genuine.length,
    impostor: impostor.length,
  };
}
