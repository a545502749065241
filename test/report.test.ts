import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { linePlot, scatterPlot, barPlot, ticks, toMarkdown, toHtml, writeReport } from '../src/report/index.js';
import { projectRoot } from '../src/core/index.js';

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

test('reports are written as HTML and Markdown with the same tables and figure links', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-'));
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
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-demo-'));
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
