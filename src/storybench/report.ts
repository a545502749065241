import fs from 'node:fs';
import path from 'node:path';
import type { Agreement } from './agreement.js';
import type { WinRate } from './ratings.js';
import type { ScoreFile } from './score.js';

/**
 * The leaderboard as Markdown and as one self-contained HTML page: one table per task and dataset
 * (mean +- std over samples per metric), then, when ratings exist, human win rates and each
 * metric's agreement with people. Kept small and local to StoryBench.
 */
export interface HumanSection {
  raters: number;
  judgements: number;
  winRates: WinRate[];
  agreement: Agreement[];
}

type Table = { title: string; head: string[]; rows: string[][]; note?: string };

const fmt = (v: number | null | undefined, digits = 2): string => {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  const s = v.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s; // no "-0.00" from rounding noise
};
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
        return s.note ? `n/a (${s.note})` : `${fmt(s.mean)} ± ${fmt(s.std)}`;
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

const extractorLine = (s: ScoreFile) =>
  `Features: frames ${s.extractors.frameFeatures}, clips ${s.extractors.videoFeatures}, video-text ${s.extractors.dualEncoder}. Values are mean ± std over the samples generated per item.`;

export function leaderboardMarkdown(scores: ScoreFile, human?: HumanSection): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const parts = ['# StoryBench leaderboard', '', extractorLine(scores), ''];
  for (const t of tables(scores, human)) {
    parts.push(`## ${t.title}`, '', `| ${t.head.map(cell).join(' | ')} |`, `|${t.head.map(() => ' --- ').join('|')}|`);
    for (const r of t.rows) parts.push(`| ${r.map(cell).join(' | ')} |`);
    if (t.note) parts.push('', t.note);
    parts.push('');
  }
  return parts.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function leaderboardHtml(scores: ScoreFile, human?: HumanSection): string {
  const body = tables(scores, human)
    .map((t) => `<h2>${esc(t.title)}</h2>\n<table><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n` +
      t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n') +
      `</tbody></table>${t.note ? `<p class="note">${esc(t.note)}</p>` : ''}`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StoryBench leaderboard</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}.note{color:#555;font-size:90%}
</style></head><body>
<h1>StoryBench leaderboard</h1>
<p>${esc(extractorLine(scores))}</p>
${body}
</body></html>
`;
}

/**
 * Writes the leaderboard of `scores` (with win rates and metric-human agreement when `human` is given)
 * as DIR/leaderboard.md and DIR/leaderboard.html; returns both paths.
 */
export function writeLeaderboard(dir: string, scores: ScoreFile, human?: HumanSection): { markdown: string; html: string } {
  const markdown = path.join(dir, 'leaderboard.md');
  const html = path.join(dir, 'leaderboard.html');
  fs.writeFileSync(markdown, leaderboardMarkdown(scores, human));
  fs.writeFileSync(html, leaderboardHtml(scores, human));
  return { markdown, html };
}
