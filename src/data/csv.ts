import path from 'node:path';
import { KilnError, checkInputFile, readTextFile } from '../core/index.js';
import type { Dataset } from './dataset.js';

export interface CsvOptions {
  /** Name of the label column; default: the last column. */
  target?: string;
  /** Dataset name; default: the file name without extension. */
  name?: string;
}

/** One CSV record: its cells (trimmed) and the 1-based line it starts on, for error messages. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/**
 * RFC 4180 CSV: commas, double-quoted fields (which may hold commas, "" escapes and line breaks),
 * \n or \r\n line ends. Blank lines are skipped; cells are trimmed.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  if (!text.includes('"')) {
    // Fast path for the common unquoted file.
    text.split(/\r?\n/).forEach((l, i) => {
      if (l.trim() !== '') records.push({ line: i + 1, cells: l.split(',').map((c) => c.trim()) });
    });
    return records;
  }
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  const endRecord = () => {
    cells.push(cell.trim());
    if (cells.length > 1 || cells[0] !== '') records.push({ line: start, cells });
    cells = [];
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '\n') line++;
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell.trim());
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else cell += ch;
  }
  if (cell !== '' || cells.length) endRecord();
  return records;
}

const MISSING = /^(|nan|na|n\/a|null|\?)$/i;

/** The number in a cell, or undefined when the cell is a missing-value marker or not numeric. */
function parseNumber(cell: string): { value?: number; missing: boolean } {
  if (MISSING.test(cell)) return { missing: true };
  const value = Number(cell);
  return Number.isFinite(value) ? { value, missing: false } : { missing: false };
}

/**
 * Loads a classification CSV: a header row, numeric feature columns and one target column whose
 * values (numbers or strings) become classes, sorted (numerically when all are numbers).
 * Every malformed input is a one-line KilnError naming the file, line and column.
 */
export function loadCsv(file: string, opts: CsvOptions = {}): Dataset {
  checkInputFile(file, 'CSV file');
  const text = readTextFile(file, 'CSV file').replace(/^\uFEFF/, '');
  const rows = parseCsv(text);
  if (rows.length === 0) throw new KilnError(`CSV file is empty: ${file}`);
  const header = rows[0].cells;
  const body = rows.slice(1);
  if (body.length === 0) throw new KilnError(`CSV file ${file} has a header but no data rows`);
  if (header.length < 2) {
    throw new KilnError(`CSV file ${file} needs at least one feature column and a target column (header: ${header.join(',')})`);
  }
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) throw new KilnError(`CSV file ${file} has the column '${dup}' twice in its header`);

  const target = opts.target ?? header[header.length - 1];
  const targetCol = header.indexOf(target);
  if (targetCol < 0) {
    throw new KilnError(`CSV file ${file} has no target column '${target}' (columns: ${header.join(', ')})`);
  }
  const featureCols = header.map((_, i) => i).filter((i) => i !== targetCol);

  const x = new Float32Array(body.length * featureCols.length);
  const labels: string[] = [];
  body.forEach(({ line, cells }, r) => {
    if (cells.length !== header.length) {
      throw new KilnError(`CSV file ${file} line ${line}: expected ${header.length} columns like the header, found ${cells.length}`);
    }
    featureCols.forEach((c, k) => {
      const { value, missing } = parseNumber(cells[c]);
      if (missing) {
        throw new KilnError(`CSV file ${file} line ${line}, column '${header[c]}': missing value (NaN) '${cells[c]}'`);
      }
      if (value === undefined) {
        throw new KilnError(`CSV file ${file} line ${line}, column '${header[c]}': '${cells[c]}' is not a number`);
      }
      x[r * featureCols.length + k] = value;
    });
    const label = cells[targetCol];
    if (MISSING.test(label)) {
      throw new KilnError(`CSV file ${file} line ${line}, target column '${target}': missing label '${label}'`);
    }
    labels.push(label);
  });

  const classNames = sortClasses([...new Set(labels)]);
  if (classNames.length < 2) {
    throw new KilnError(`CSV file ${file}: target column '${target}' has only one class ('${classNames[0]}')`);
  }
  const index = new Map(classNames.map((c, i) => [c, i]));
  return {
    name: opts.name ?? path.basename(file).replace(/\.csv$/i, ''),
    x,
    shape: [featureCols.length],
    y: Int32Array.from(labels, (l) => index.get(l)!),
    classNames,
    featureNames: featureCols.map((c) => header[c]),
  };
}

function sortClasses(names: string[]): string[] {
  const numeric = names.every((n) => Number.isFinite(Number(n)));
  return numeric ? names.sort((a, b) => Number(a) - Number(b)) : names.sort();
}
