import fs from 'node:fs';
import path from 'node:path';

/**
 * A report is a list of blocks written twice: `report.html` (self-contained page linking the
 * figures) and `report.md` (the same content for a terminal or a repository). Figures are files
 * beside the report (SVG plots, PNG heatmaps, GIF videos).
 */
export type Block =
  | { kind: 'heading'; text: string; level?: 2 | 3 }
  | { kind: 'text'; text: string }
  | { kind: 'figure'; file: string; caption: string }
  | { kind: 'table'; columns: string[]; rows: (string | number)[][]; caption?: string };

export interface ReportDoc {
  title: string;
  blocks: Block[];
}

const escHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Inline `code` and **bold** only: enough for generated prose, no Markdown parser needed. */
function inlineHtml(s: string): string {
  return escHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function cell(v: string | number): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v;
}

/**
 * Numbers, and formatted numbers such as `12.5%`, `3.10 ± 0.20` or `88.9% [76.5%, 95.2%]`, are
 * right-aligned and kept on one line.
 */
const NUMERIC = /^[-+]?\d[\d.,]*(e[-+]?\d+)?%?( ± \d[\d.]*%?)?( \[[-+\d.,% ]+\])?$/;
const isNumeric = (v: string | number) => typeof v === 'number' || NUMERIC.test(v);

/** A Markdown table cell: a literal | would end the cell. */
const mdCell = (v: string | number) => cell(v).replace(/\|/g, '\\|');

export function toMarkdown(doc: ReportDoc): string {
  const out = [`# ${doc.title}`, ''];
  for (const b of doc.blocks) {
    if (b.kind === 'heading') out.push(`${'#'.repeat(b.level ?? 2)} ${b.text}`, '');
    else if (b.kind === 'text') out.push(b.text, '');
    else if (b.kind === 'figure') out.push(`![${b.caption}](${b.file})`, '', `*${b.caption}*`, '');
    else {
      if (b.caption) out.push(`*${b.caption}*`, '');
      out.push(`| ${b.columns.map(mdCell).join(' | ')} |`, `|${b.columns.map(() => '---').join('|')}|`);
      for (const r of b.rows) out.push(`| ${r.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  return out.join('\n');
}

export function toHtml(doc: ReportDoc): string {
  const body: string[] = [`<h1>${escHtml(doc.title)}</h1>`];
  for (const b of doc.blocks) {
    if (b.kind === 'heading') body.push(`<h${b.level ?? 2}>${escHtml(b.text)}</h${b.level ?? 2}>`);
    else if (b.kind === 'text') body.push(`<p>${inlineHtml(b.text)}</p>`);
    else if (b.kind === 'figure') {
      body.push(`<figure><img src="${escHtml(b.file)}" alt="${escHtml(b.caption)}"><figcaption>${inlineHtml(b.caption)}</figcaption></figure>`);
    } else {
      const head = b.columns.map((c) => `<th>${escHtml(c)}</th>`).join('');
      const rows = b.rows.map((r) => `<tr>${r.map((v) => `<td${isNumeric(v) ? ' class="num"' : ''}>${inlineHtml(cell(v))}</td>`).join('')}</tr>`).join('\n');
      // The wrapper scrolls a table wider than the page instead of letting it run off the right edge.
      body.push(`<div class="table">${b.caption ? `<p class="caption">${inlineHtml(b.caption)}</p>` : ''}<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div></div>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escHtml(doc.title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
div.table{margin:1em 0}div.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}th{background:#f4f4f4;min-width:3em}
p.caption{font-style:italic;margin:0 0 4px}
figure{margin:1em 0}figcaption{font-style:italic;color:#555}img{max-width:100%}code{background:#f4f4f4;padding:0 3px}
</style></head><body>
${body.join('\n')}
</body></html>
`;
}

/** Writes report.html and report.md into `dir` (created if needed); returns both paths. */
export function writeReport(dir: string, doc: ReportDoc, basename = 'report'): { html: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const html = path.join(dir, `${basename}.html`);
  const md = path.join(dir, `${basename}.md`);
  fs.writeFileSync(html, toHtml(doc));
  fs.writeFileSync(md, toMarkdown(doc));
  return { html, md };
}

/** Writes a figure file (SVG text or PNG/GIF bytes) into `dir` and returns its bare file name for linking. */
export function writeFigure(dir: string, file: string, content: string | Uint8Array): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, file), content);
  return file;
}
