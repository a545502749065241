import { toHtml, toMarkdown, writeReport, type Block, type ReportDoc } from '../report/index.js';
import { metricAgreement, type Agreement } from './agreement.js';
import { winRates, type Judgement, type WinRate } from './ratings.js';
import type { ScoreFile } from './score.js';

/**
 * The leaderboard as Markdown and as one self-contained HTML page: one table per task and dataset
 * (mean +- std over samples and a 95% bootstrap interval over items, per metric), then, when ratings
 * exist, human win rates and each metric's agreement with people, built on the shared report layer.
 */
export interface HumanSection {
  raters: number;
  judgements: number;
  winRates: WinRate[];
  agreement: Agreement[];
}

/** The human section of a leaderboard: win rates and each scored metric's agreement with the judgements. */
export function humanSection(scores: ScoreFile, judgements: readonly Judgement[]): HumanSection {
  return {
    raters: new Set(judgements.map((j) => j.rater)).size,
    judgements: judgements.length,
    winRates: winRates(judgements),
    agreement: metricAgreement(scores, judgements),
  };
}

type Table = { title: string; head: string[]; rows: string[][]; note?: string };

const fmt = (v: number | null | undefined, digits = 2): string => {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  const s = v.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s; // no "-0.00" from rounding noise
};
/**
 * Decimals (2 to 10) that print every different value of a column differently, so two systems never
 * show the same figure unless they scored the same (a near-static baseline's FVD of 0.004 is not 0.00).
 */
export function distinctDigits(values: readonly (number | undefined)[]): number {
  const finite = [...new Set(values.filter((v): v is number => v !== undefined && Number.isFinite(v)))];
  for (let d = 2; d < 10; d++) {
    if (new Set(finite.map((v) => fmt(v, d))).size === finite.length) return d;
  }
  return 10;
}

const pct = (v: number): string => (Number.isNaN(v) ? 'n/a' : `${(100 * v).toFixed(1)}%`);

function tables(scores: ScoreFile, human?: HumanSection): Table[] {
  const out: Table[] = [];
  const groups = new Map<string, ScoreFile['rows']>();
  for (const r of scores.rows) groups.set(`${r.task} / ${r.dataset}`, [...(groups.get(`${r.task} / ${r.dataset}`) ?? []), r]);
  for (const [title, rows] of groups) {
    const first = scores.metrics[0];
    const sorted = first
      ? [...rows].sort((a, b) => (first.better === 'lower' ? 1 : -1) * ((a.scores[first.name]?.mean ?? 0) - (b.scores[first.name]?.mean ?? 0)))
      : rows;
    out.push({
      title: `Leaderboard: ${title}`,
      head: ['model', 'items', 'samples', ...scores.metrics.map((m) => `${m.name} ${m.better === 'lower' ? '(lower is better)' : '(higher is better)'}`)],
      rows: sorted.map((r) => [r.model, String(r.items), String(r.samples), ...scores.metrics.map((m) => {
        const s = r.scores[m.name];
        if (!s) return 'n/a';
        const digits = distinctDigits(rows.map((x) => x.scores[m.name]?.mean));
        if (s.note) return `n/a (${s.note})`;
        const interval = s.low === undefined || s.high === undefined ? '' : ` [${fmt(s.low, digits)}, ${fmt(s.high, digits)}]`;
        return `${fmt(s.mean, digits)} ± ${fmt(s.std, digits)}${interval}`;
      })]),
    });
  }
  if (human) {
    out.push({
      title: 'Human preference (overall)',
      head: ['task', 'dataset', 'system', 'vs', 'wins', 'losses', 'ties', 'win rate [95% Wilson]'],
      rows: human.winRates.map((w) => [w.task, w.dataset, w.system, w.opponent, String(w.wins), String(w.losses), String(w.ties),
        `${pct(w.rate)} [${pct(w.low)}, ${pct(w.high)}]`]),
      note: `${human.judgements} judgements by ${human.raters} rater(s); win rate over decisive judgements (ties excluded).`,
    });
    out.push({
      title: 'Which metric to trust: agreement with people',
      head: ['metric', 'judgements', 'pairwise agreement [95% CI]', 'systems', 'Spearman rho [95% CI]'],
      rows: human.agreement.map((a) => [a.metric, String(a.judgements),
        `${pct(a.agreement)} [${pct(a.agreementLow)}, ${pct(a.agreementHigh)}]`, String(a.systems),
        a.spearman === null ? 'n/a (needs 3+ systems)' : `${fmt(a.spearman)} [${fmt(a.spearmanLow)}, ${fmt(a.spearmanHigh)}]`]),
      note: 'Pairwise agreement: share of decisive human judgements where the metric prefers the same video (chance = 50%). ' +
        'Rank correlation: systems ranked by human win rate vs by metric. Intervals: bootstrap over judgements.',
    });
  }
  return out;
}

const extractorLine = (s: ScoreFile) => {
  const boots = Number(s.extractors.bootstraps ?? 0);
  return `Features: frames ${s.extractors.frameFeatures}, clips ${s.extractors.videoFeatures}, video-text ${s.extractors.dualEncoder}. Values are mean ± std over the samples generated per item` +
    (boots > 0 ? `, then [95% interval]: percentile bootstrap over items (${boots} resamples of the items, seeded; each recomputes the figure).` : '.');
};

/** The leaderboard as a report document: the features used, then a heading, table and note per table. */
export function leaderboardReport(scores: ScoreFile, human?: HumanSection): ReportDoc {
  const blocks: Block[] = [{ kind: 'text', text: extractorLine(scores) }];
  for (const t of tables(scores, human)) {
    blocks.push({ kind: 'heading', text: t.title }, { kind: 'table', columns: t.head, rows: t.rows });
    if (t.note) blocks.push({ kind: 'text', text: t.note });
  }
  return { title: 'StoryBench leaderboard', blocks };
}

export function leaderboardMarkdown(scores: ScoreFile, human?: HumanSection): string {
  return toMarkdown(leaderboardReport(scores, human));
}

export function leaderboardHtml(scores: ScoreFile, human?: HumanSection): string {
  return toHtml(leaderboardReport(scores, human));
}

/**
 * Writes the leaderboard of `scores` (with win rates and metric-human agreement when `human` is given)
 * as DIR/leaderboard.md and DIR/leaderboard.html; returns both paths.
 */
export function writeLeaderboard(dir: string, scores: ScoreFile, human?: HumanSection): { markdown: string; html: string } {
  const { html, md } = writeReport(dir, leaderboardReport(scores, human), 'leaderboard');
  return { markdown: md, html };
}
