import { createRng } from '../core/index.js';
import { mean, percentile, spearman } from '../math/index.js';
import type { Judgement } from './ratings.js';
import type { ScoreFile } from './score.js';

/**
 * How well each automatic metric agrees with people, from the overall-preference judgements:
 * - pairwise agreement: the share of decisive judgements (human ties left out) where the metric
 *   prefers the same video; per-item metrics (sim, vtm) compare the two systems on that item,
 *   distribution metrics (fid, fvd) use the systems' overall values; a metric tie counts one half;
 * - rank correlation: Spearman's rho between systems' human win rates and their metric values
 *   (oriented so that higher = better), over every system of every task/dataset; needs 3 systems.
 * 95% intervals are percentile bootstraps over judgements (seeded).
 */
export interface Agreement {
  metric: string;
  judgements: number;
  agreement: number;
  agreementLow: number;
  agreementHigh: number;
  systems: number;
  spearman: number | null;
  spearmanLow: number | null;
  spearmanHigh: number | null;
}

export function metricAgreement(scores: ScoreFile, judgements: readonly Judgement[], boots = 1000, seed = 7): Agreement[] {
  const decisive = judgements.filter((j) => j.answers.overall !== 'tie');
  const rowOf = new Map(scores.rows.map((r) => [`${r.task}|${r.dataset}|${r.model}`, r]));
  return scores.metrics.map(({ name, better }) => {
    const sign = better === 'higher' ? 1 : -1;
    const value = (j: Judgement, system: string): number | undefined => {
      const s = rowOf.get(`${j.task}|${j.dataset}|${system}`)?.scores[name];
      if (!s || s.note || typeof s.mean !== 'number') return undefined;
      return sign * (s.perItem?.[j.item] ?? s.mean);
    };
    // Per judgement: 1 if the metric agrees with the rater, 0 if not, 0.5 on a metric tie.
    const usable: { j: Judgement; agree: number }[] = [];
    for (const j of decisive) {
      const a = value(j, j.systemA);
      const b = value(j, j.systemB);
      if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b)) continue;
      const metricSays = a === b ? 0 : a > b ? 1 : -1;
      const humanSays = j.answers.overall === 'a' ? 1 : -1;
      usable.push({ j, agree: metricSays === 0 ? 0.5 : metricSays === humanSays ? 1 : 0 });
    }
    const rho = (sample: readonly { j: Judgement }[]): { rho: number; systems: number } => {
      const tally = new Map<string, { w: number; n: number; value: number }>();
      for (const { j } of sample) {
        for (const [system, won] of [[j.systemA, j.answers.overall === 'a'], [j.systemB, j.answers.overall === 'b']] as const) {
          const key = `${j.task}|${j.dataset}|${system}`;
          const s = rowOf.get(key)?.scores[name];
          if (!s || s.note || typeof s.mean !== 'number') continue;
          const t = tally.get(key) ?? { w: 0, n: 0, value: sign * s.mean };
          t.n++;
          if (won) t.w++;
          tally.set(key, t);
        }
      }
      const ts = [...tally.values()];
      return { rho: ts.length >= 3 ? spearman(ts.map((t) => t.w / t.n), ts.map((t) => t.value)) : NaN, systems: ts.length };
    };
    const rng = createRng(seed);
    const bootAgree: number[] = [];
    const bootRho: number[] = [];
    for (let b = 0; b < boots && usable.length; b++) {
      const sample = Array.from({ length: usable.length }, () => usable[rng.int(usable.length)]);
      bootAgree.push(mean(sample.map((u) => u.agree)));
      const r = rho(sample).rho;
      if (!Number.isNaN(r)) bootRho.push(r);
    }
    bootAgree.sort((a, b) => a - b);
    bootRho.sort((a, b) => a - b);
    const full = rho(usable);
    const hasRho = !Number.isNaN(full.rho);
    return {
      metric: name,
      judgements: usable.length,
      agreement: usable.length ? mean(usable.map((u) => u.agree)) : NaN,
      agreementLow: percentile(bootAgree, 0.025),
      agreementHigh: percentile(bootAgree, 0.975),
      systems: full.systems,
      spearman: hasRho ? full.rho : null,
      spearmanLow: hasRho ? percentile(bootRho, 0.025) : null,
      spearmanHigh: hasRho ? percentile(bootRho, 0.975) : null,
    };
  });
}
