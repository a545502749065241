import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { linePlot, scatterPlot, barPlot, ticks, tickLabel, toMarkdown, toHtml, writeReport } from '../src/report/index.js';
import { projectRoot } from '../src/core/index.js';
import { launchChromium, noChromium } from './browser.js';
import { tempDir } from './temp-dir.js';

const CLI = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

/** Every number in a path or coordinate attribute must be finite, or the plot is broken. */
function assertFiniteSvg(svg: string): void {
  assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
  assert.ok(!/NaN|Infinity/.test(svg), 'no NaN or Infinity in the SVG');
}

test('ticks are round numbers covering the range', () => {
  assert.deepEqual(ticks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(ticks(90.2, 92.9, 6), [90.5, 91, 91.5, 92, 92.5]);
});

test('tick labels are plain numbers, never exponent notation', () => {
  assert.deepEqual([1000, 2500, 25000, 1.5e6, 0.005, 92.5, 0, -3].map(tickLabel), ['1000', '2500', '25k', '1.5M', '0.005', '92.5', '0', '-3']);
  const svg = linePlot([{ name: 'a', x: [1, 10, 100, 1000, 5000], y: [0.001, 2000, 15000, 30000, 31000] }], { title: 't', xLabel: 'k', yLabel: 'v', logX: true });
  const labels = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="(?:end|middle)">([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.ok(labels.includes('1000') && labels.some((l) => /^\d+k$/.test(l)), `plain ticks: ${labels.join(' ')}`);
  assert.ok(!/>[-\d.]+e[+-]\d+</.test(svg), 'no 1.00e+3 tick');
});

/** Category labels of a bar plot: anchor x, angle and the text. */
function xTickLabels(svg: string) {
  return [...svg.matchAll(/<text class="xtick" x="([\d.]+)" y="[\d.]+" text-anchor="\w+"(?: transform="rotate\(-(\d+) [^"]*")?>(?:<title>[^<]*<\/title>)?([^<]+)<\/text>/g)]
    .map((m) => ({ x: Number(m[1]), angle: Number(m[2] ?? 0), text: m[3] }));
}

test('bar plot category labels never overlap, whatever their number and length', () => {
  const names = ['random', 'evolution', 'predictor', 'tabnas', 'tabnas_nocorr', 'reinforce_abs', 'reinforce_mnas', 'reinforce_mnas_hard', 'predictor_gcn', 'local-search'];
  for (const n of [2, 4, 10, 40]) {
    const bars = Array.from({ length: n }, (_, i) => ({ label: `${names[i % names.length]}${i >= names.length ? `-${i}` : ''}`, values: [i / n] }));
    const svg = barPlot(bars, ['v'], { title: 't', xLabel: 'controller', yLabel: 'fraction' });
    assertFiniteSvg(svg);
    const labels = xTickLabels(svg);
    assert.equal(labels.length, n, `${n} labels`);
    for (let i = 1; i < n; i++) {
      const [a, b] = [labels[i - 1], labels[i]];
      const gap = b.x - a.x;
      if (a.angle === 0) {
        // Level labels: half of each width (about 6.5 px a character) must fit between the anchors.
        assert.ok(gap >= (6.5 * (a.text.length + b.text.length)) / 2, `${n} bars: '${a.text}' and '${b.text}' overlap`);
      } else {
        // Parallel rotated labels: the distance between their baselines must hold a 12 px line.
        assert.ok(gap * Math.sin((a.angle * Math.PI) / 180) >= 12, `${n} bars: rotated labels ${gap.toFixed(1)} px apart at ${a.angle} degrees`);
      }
    }
    // Rotated labels stay inside the picture, above the x-axis title.
    const height = Number(svg.match(/<svg [^>]*height="([\d.]+)"/)![1]);
    const [, top, , plotHeight] = plotBox(svg);
    const titleY = Number(svg.match(/<text x="[\d.]+" y="([\d.]+)" text-anchor="middle">controller<\/text>/)![1]);
    const longest = Math.max(...labels.map((l) => 6.5 * l.text.length * Math.sin((l.angle * Math.PI) / 180)));
    assert.ok(top + plotHeight + 10 + longest <= titleY && titleY < height, `${n} bars: labels end above the axis title`);
  }
  assert.equal(xTickLabels(barPlot([{ label: 'a', values: [1] }, { label: 'b', values: [2] }], ['v'], { title: 't', xLabel: 'x', yLabel: 'y' }))[0].angle, 0, 'short labels stay level');
});

test('line plots with more series than colours tell them apart by dash pattern', () => {
  const svg = linePlot(Array.from({ length: 12 }, (_, i) => ({ name: `c${i}`, x: [1, 2], y: [i, i + 1] })), { title: 't', xLabel: 'x', yLabel: 'y' });
  const styles = [...svg.matchAll(/<path d="[^"]*" fill="none" stroke="(#[0-9a-f]+)" stroke-width="2"(?: stroke-dasharray="([^"]+)")?/g)].map((m) => `${m[1]}/${m[2] ?? ''}`);
  assert.equal(styles.length, 12);
  assert.equal(new Set(styles).size, 12, 'every series has its own colour and dash');
  const dots = scatterPlot(Array.from({ length: 12 }, (_, i) => ({ name: `p${i}`, x: [i + 1], y: [i] })), { title: 't', xLabel: 'x', yLabel: 'y' });
  const paints = [...dots.matchAll(/<circle cx="[\d.]+" cy="[\d.]+" r="2" (fill="[^"]+"(?: fill-opacity="[^"]+")?(?: stroke="[^"]+")?)/g)].map((m) => m[1]);
  assert.equal(paints.length, 12);
  assert.equal(new Set(paints).size, 12, 'points past the palette are rings, not copies of the first colours');
});

test('line, scatter and bar plots are finite SVG naming every series', () => {
  const line = linePlot(
    [{ name: 'random', x: [1, 2, 3], y: [1, 2, 2.5], lower: [0.5, 1.5, 2], upper: [1.5, 2.5, 3] }, { name: 'evolution', x: [1, 2, 3], y: [1, 3, 3] }],
    { title: 'curves', xLabel: 'k', yLabel: 'acc', logX: true, guides: [{ axis: 'y', value: 3.2, label: 'optimum' }] },
  );
  assertFiniteSvg(line);
  for (const s of ['random', 'evolution', 'optimum', 'curves']) assert.ok(line.includes(s), s);
  assert.equal((line.match(/<path /g) ?? []).length, 3, 'two lines and one band');

  const scatter = scatterPlot(
    [{ name: 'cells', x: [1, 5, 10], y: [80, 90, 85] }, { name: 'front', x: [1, 5], y: [80, 90], line: true }],
    { title: 't', xLabel: 'latency', yLabel: 'acc', guides: [{ axis: 'x', value: 6, label: 'limit' }] },
  );
  assertFiniteSvg(scatter);
  assert.equal((scatter.match(/<circle /g) ?? []).length, 5 + 1, 'five points plus the dot legend of the point series');

  const bars = barPlot([{ label: 'a', values: [1, 2] }, { label: 'b', values: [3, 0] }], ['x', 'y'], { title: 'h', xLabel: 'bin', yLabel: 'n' });
  assertFiniteSvg(bars);
  assert.ok(bars.includes('>a<') && bars.includes('>b<'), 'category labels on the x axis');
});

/** The plot frame's border rectangle: x, y, width, height. */
function plotBox(svg: string): [number, number, number, number] {
  const m = svg.match(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none" stroke="#333"\/>/);
  assert.ok(m, 'plot frame');
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}

test('legends sit below the plot, never over the data, and wrap into rows when long', () => {
  const names = ['regularized evolution', 'random search', 'REINFORCE', 'BOHB', 'local search', 'predictor-guided evolution'];
  const svg = linePlot(names.map((name, i) => ({ name, x: [1, 2, 3], y: [i, i + 1, i + 2] })), { title: 't', xLabel: 'x', yLabel: 'y' });
  const [, top, , height] = plotBox(svg);
  const xLabelY = Number(svg.match(/<text x="[\d.]+" y="([\d.]+)" text-anchor="middle">x<\/text>/)![1]);
  const legendYs = names.map((n) => Number(svg.match(new RegExp(`<text x="[\\d.]+" y="([\\d.]+)">${n}</text>`))![1]));
  for (const y of legendYs) assert.ok(y > xLabelY && y > top + height, `legend text at y=${y} is below the plot and its x label`);
  assert.ok(new Set(legendYs).size > 1, 'six long names need more than one row at 640 px');
  const svgHeight = Number(svg.match(/<svg [^>]*height="([\d.]+)"/)![1]);
  assert.ok(Math.max(...legendYs) < svgHeight, 'the legend fits in the picture');
});

test('a report with a table wider than the page scrolls the table, not the page (Chromium)', { skip: noChromium }, async () => {
  const dir = tempDir('kiln-report-wide-');
  const columns = Array.from({ length: 24 }, (_, i) => `metric_column_${i}`);
  const { html } = writeReport(dir, {
    title: 'wide',
    blocks: [{ kind: 'table', columns, rows: [columns.map((_, i) => i * 1.5), columns.map(() => 'a-long-unbreakable-architecture-string')] }],
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`file://${html}`);
    // Browser-side expressions as strings: the test compiles without DOM types.
    const pageOverflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    const wrapper = await page.evaluate(`(() => { const s = document.querySelector('div.scroll'); return [s.scrollWidth, s.clientWidth, s.getBoundingClientRect().right]; })()`) as number[];
    assert.equal(pageOverflow, 0, 'the page itself does not scroll sideways');
    assert.ok(wrapper[0] > wrapper[1], 'the table is wider than its wrapper, which scrolls');
    assert.ok(wrapper[2] <= 1000, 'the wrapper ends inside the viewport');
  } finally {
    await browser.close();
  }
});

test('reports are written as HTML and Markdown with the same tables and figure links', () => {
  const dir = tempDir('kiln-report-');
  const doc = {
    title: 'T',
    blocks: [
      { kind: 'text' as const, text: 'uses `code` and **bold** <tags>' },
      { kind: 'table' as const, columns: ['a', 'b'], rows: [[1, 2.5]] },
      { kind: 'figure' as const, file: 'f.svg', caption: 'cap' },
    ],
  };
  const { html, md } = writeReport(dir, doc);
  assert.equal(fs.readFileSync(md, 'utf8'), toMarkdown(doc));
  assert.equal(fs.readFileSync(html, 'utf8'), toHtml(doc));
  assert.match(toMarkdown(doc), /\| 1 \| 2\.500 \|/);
  assert.match(toMarkdown(doc), /!\[cap\]\(f\.svg\)/);
  assert.match(toHtml(doc), /<code>code<\/code> and <strong>bold<\/strong> &lt;tags&gt;/);
  assert.match(toHtml(doc), /<img src="f\.svg"/);
});

test('kiln demo (the main job) writes its report, prints it and the best architecture, and resumes', () => {
  const out = tempDir('kiln-demo-');
  const args = [CLI, 'demo', '--out', out, '--seeds', '2', '--budget', '30'];
  const first = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(first, /report: .*report\.html/);
  assert.match(first, /best architecture: \|[a-z_0-9~|+]+\|/);
  for (const f of ['report.html', 'report.md', 'best-so-far.svg', 'tradeoff.svg', 'kiln.db']) assert.ok(fs.existsSync(path.join(out, f)), f);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /\| random \| 2 \|/);
  assert.match(md, /\| evolution \| 2 \|/);
  // A second run finds every study complete in SQLite and reproduces the same best architecture.
  const again = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(again.split('\n').slice(2).join('\n'), first.split('\n').slice(2).join('\n'));
  const bad = spawnSync(process.execPath, [CLI, 'demo', '--out', out, '--constraint', 'nope<=1'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^kiln: .*nope/);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one-line error');
});

test('numbers and formatted numbers (percent, ± interval, [CI]) are right-aligned table cells; words and n/a are not', () => {
  const html = toHtml({ title: 't', blocks: [{ kind: 'table', columns: ['a', 'b', 'c', 'd', 'e', 'f'],
    rows: [['phenaki-small', '10.00 ± 0.50', '88.9% [76.5%, 95.2%]', 'n/a (needs 3+ systems)', 3, '-']] }] });
  const cells = [...html.matchAll(/<td( class="num")?>([^<]*)<\/td>/g)].map((m) => [m[2], Boolean(m[1])]);
  assert.deepEqual(cells, [['phenaki-small', false], ['10.00 ± 0.50', true], ['88.9% [76.5%, 95.2%]', true],
    ['n/a (needs 3+ systems)', false], ['3', true], ['-', false]]);
  assert.match(toMarkdown({ title: 't', blocks: [{ kind: 'table', columns: ['a|b'], rows: [['x | y']] }] }), /\| a\\\|b \|\n\|---\|\n\| x \\\| y \|/);
});
