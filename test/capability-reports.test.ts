import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { excusableReport, readExcusableResults, writeExcusableReport } from '../src/robust/index.js';
import { videoEvalReport, writeVideoEvalReport } from '../src/video/index.js';
import { leaderboardMarkdown, writeLeaderboard } from '../src/storybench/index.js';
import { excusableFixture, leaderboardFixture, videoEvalFixture } from './report-fixtures.js';
import { launchChromium, noChromium } from './browser.js';
import { tempDir } from './temp-dir.js';

before(async () => {
  await initBackend('cpu');
});

const tmp = () => tempDir('kiln-reports-');

test('the excusable report has the headline table, a histogram and image grid per trained model, five verdicts, PGD training and AutoAttack; results.json reloads', () => {
  const r = excusableFixture();
  const { doc, figures } = excusableReport(r);
  const table = doc.blocks.find((b) => b.kind === 'table');
  assert.ok(table && table.kind === 'table');
  assert.equal(table.rows.length, 3 * r.config.eps.length, 'one row per model (standard, noise, PGD) and eps');
  assert.deepEqual(table.rows.map((row) => row[0]), ['standard', 'standard', 'noise sigma 0.3', 'noise sigma 0.3', 'PGD-L2 eps 1', 'PGD-L2 eps 1']);
  const columns = table.columns;
  // Fixture: AutoAttack fools 45 - 12k of 50 for the k-th model, PGD 40 - 12k; "any" is AutoAttack's.
  const pgdRate = columns.indexOf('adv. error off manifold, PGD-L2');
  const autoRate = columns.indexOf('adv. error off manifold, AutoAttack-L2');
  assert.ok(pgdRate > 0 && autoRate > 0, columns.join(' | '));
  assert.deepEqual(table.rows.map((row) => row[pgdRate]), ['80.0% ± 0.0', '80.0% ± 0.0', '56.0% ± 0.0', '56.0% ± 0.0', '32.0% ± 0.0', '32.0% ± 0.0']);
  assert.deepEqual(table.rows.map((row) => row[autoRate]), ['90.0% ± 0.0', '90.0% ± 0.0', '66.0% ± 0.0', '66.0% ± 0.0', '42.0% ± 0.0', '42.0% ± 0.0']);
  assert.deepEqual(Object.keys(figures).sort(), ['distances-pgd.svg', 'distances-sigma0.3.svg', 'distances-sigma0.svg',
    'examples-pgd.png', 'examples-sigma0.3.png', 'examples-sigma0.png']);
  const texts = doc.blocks.flatMap((b) => (b.kind === 'text' ? [b.text] : []));
  const verdicts = texts.filter((t) => /^\d\. .*\*\*(Agrees|Does not agree)\.\*\*/.test(t));
  assert.equal(verdicts.length, 5, 'claims 1-5 each get a verdict');
  assert.ok(texts.some((t) => /PGD-L2 training at eps 1 the off-manifold error rate at eps 2 is 42\.0% \(standard: 90\.0%, a reduction of 53\.3%\), at a test error of 6\.0%/.test(t)),
    'the PGD-training paragraph states its off-manifold rate and its test-error cost');
  assert.ok(texts.some((t) => /at eps 2 PGD-L2 fools 56\.0%, AutoAttack-L2 fools 66\.0%/.test(t)), 'AutoAttack is compared with PGD');
  const dir = tmp();
  const files = writeExcusableReport(dir, r);
  for (const f of Object.keys(figures)) assert.ok(fs.existsSync(path.join(dir, f)), f);
  const back = readExcusableResults(files.results);
  assert.deepEqual(back.examples[0].clean[0], r.examples[0].clean[0], 'example images survive the round trip as Float32Arrays');
  assert.deepEqual(back.runs, r.runs);
  // A results.json from before PGD training and AutoAttack (no trainings, offAttacks, training, offByAttack) still reloads.
  const old = JSON.parse(fs.readFileSync(files.results, 'utf8'));
  delete old.config.trainings;
  delete old.config.offAttacks;
  old.runs = old.runs.filter((m: { training: string }) => m.training !== 'pgd').map(({ training: _, ...m }: { training: string }) =>
    ({ ...m, attacks: (m as { attacks: { offByAttack: unknown }[] }).attacks.map(({ offByAttack: __, ...a }) => a) }));
  fs.writeFileSync(files.results, JSON.stringify(old));
  const reloaded = readExcusableResults(files.results);
  assert.deepEqual(reloaded.runs.map((m) => m.training), ['standard', 'standard', 'noise', 'noise']);
  assert.deepEqual(reloaded.runs[0].attacks[0].offByAttack, { pgd: 45 });
  assert.equal(excusableReport(reloaded).doc.blocks.find((b) => b.kind === 'table')?.kind, 'table');
  assert.equal(fs.readFileSync(files.md, 'utf8').split('\n')[0], '# When adversarial examples are excusable: Kiln reproduction');
});

test('the video evaluation report has the scores and measures with intervals, the significant differences, what each row means and one GIF per gallery story', () => {
  const r = videoEvalFixture();
  const { doc, figures } = videoEvalReport(r, 2);
  const tables = doc.blocks.filter((b) => b.kind === 'table');
  assert.equal(tables.length, 3, 'judge scores, judge-free measures, differences');
  const [judged, measures, diffs] = tables.map((t) => (t.kind === 'table' ? t : assert.fail()));
  assert.deepEqual(judged.rows.map((row) => row[0]), ['ground truth', 'reconstruction', 'generated', 'baseline']);
  assert.deepEqual(judged.rows[2], ['generated', '50.0 [45.0, 55.0]', '60.0 [54.0, 66.0]', '55.0 [49.5, 60.5]', '5.0 [4.5, 5.5]', '25.00 [22.50, 27.50]']);
  assert.equal(judged.rows[0][5], '-', 'no PSNR of the truth against itself');
  assert.deepEqual(measures.rows[3].slice(0, 3), ['baseline', '93.0 [83.7, 102.3]', '30.0 [27.0, 33.0]']);
  assert.equal(diffs.rows.length, 10, 'one row per figure');
  assert.equal(diffs.rows[0][1], '10.0 [3.0, 20.0] significant');
  assert.equal(diffs.rows[1][1], '10.0 [-2.0, 20.0]', 'an interval across 0 is not significant');
  assert.equal(Object.keys(figures).length, 2, '--gallery 2 shows two stories');
  const dir = tmp();
  const files = writeVideoEvalReport(dir, r, 2);
  const md = fs.readFileSync(files.md, 'utf8');
  assert.match(md, /Held-out stories: 24 \(61 segments/);
  assert.match(md, /Baseline: repeat the last conditioning frame/);
  assert.match(md, /!\[1\. [^\]]+\]\(gifs\/story0\.gif\)/);
  assert.ok(fs.readFileSync(path.join(dir, 'gifs', 'story0.gif')).subarray(0, 6).toString() === 'GIF89a');
  assert.equal(JSON.parse(fs.readFileSync(files.metrics, 'utf8')).samples, undefined, 'metrics.json holds scores, not videos');
});

test('the StoryBench leaderboard is a report document: a table per task, human win rates, agreement, escaped cells', () => {
  const { scores, human } = leaderboardFixture();
  const md = leaderboardMarkdown(scores, human);
  assert.match(md, /^# StoryBench leaderboard\n\nFeatures: frames grid-color/);
  assert.match(md, /## Leaderboard: story_cont \/ didemo-valid/);
  assert.match(md, /\| oracle \| 120 \| 4 \| 10\.00 ± 0\.50 \| n\/a \(needs 2\+ videos \\\| one given\) \|/);
  assert.ok(md.indexOf('| oracle') < md.indexOf('| phenaki-small'), 'sorted by the first metric (fid, lower is better)');
  assert.match(md, /## Human preference \(overall\)[\s\S]*\| story_cont \| didemo-valid \| oracle \| repeat-last \| 40 \| 5 \| 5 \| 88\.9% \[76\.5%, 95\.2%\] \|/);
  assert.match(md, /90 judgements by 3 rater\(s\)/);
  assert.match(md, /\| fid \| 45 \| 80\.0% \[66\.0%, 90\.0%\] \| 2 \| n\/a \(needs 3\+ systems\) \|/);
});

test('every capability report fits a 1000 px page: wide tables scroll in their box, nothing else overflows (Chromium)', { skip: noChromium }, async () => {
  const dir = tmp();
  const { scores, human } = leaderboardFixture();
  const pages = [
    writeExcusableReport(path.join(dir, 'excusable'), excusableFixture()).html,
    writeVideoEvalReport(path.join(dir, 'video'), videoEvalFixture(), 3).html,
    writeLeaderboard(path.join(dir, 'storybench'), scores, human).html,
  ];
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    for (const html of pages) {
      await page.goto(`file://${html}`);
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      assert.equal(overflow, 0, `${html}: the page does not scroll sideways`);
      const broken = await page.evaluate(`[...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src)`);
      assert.deepEqual(broken, [], `${html}: every figure loads`);
    }
  } finally {
    await browser.close();
  }
});
