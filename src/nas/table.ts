import fs from 'node:fs';
import path from 'node:path';
import { KilnError, checkInputFile, readTextFile } from '../core/index.js';
import { parseCsv } from '../data/index.js';
import type { Architecture, SearchSpace } from './space/index.js';

/**
 * A benchmark table: one row per architecture, an architecture column and numeric metric
 * columns (accuracy, per-device latency, ...). Rows are found by the space's key, so any
 * table of this shape (another dataset, other devices) works without code changes.
 */
export interface BenchmarkTable {
  readonly source: string;
  readonly archColumn: string;
  /** Numeric columns, in file order. */
  readonly columns: readonly string[];
  /** Rows: distinct networks (by the space's key). */
  readonly size: number;
  /** Cells the file lists; more than `size` when several are one network (unpruned NAS-Bench-101 cells). */
  readonly listed: number;
  /** Parsed architecture of each row. */
  readonly archs: readonly Architecture[];
  hasColumn(column: string): boolean;
  /** One numeric column for every row. */
  column(column: string): Float64Array;
  /** Row index of `a`, or -1 when the table lacks it. */
  rowOf(a: Architecture): number;
  /** Every numeric column of row `row`. */
  row(row: number): Record<string, number>;
}

/** Columns that number the rows (as pandas writes them) rather than measure anything. */
const ROW_ID_COLUMNS = new Set(['index', '']);

export interface TableOptions {
  /** Name of the architecture column (default 'arch'). */
  archColumn?: string;
}

/** Builds a table from CSV text; every architecture string must parse in `space`. */
export function tableFromCsv(text: string, space: SearchSpace, source: string, opts: TableOptions = {}): BenchmarkTable {
  const archColumn = opts.archColumn ?? 'arch';
  const [header, ...body] = parseCsv(text).map((r) => r.cells);
  if (!header || body.length === 0) throw new KilnError(`table ${source} is empty`);
  const twice = header.find((name, i) => header.indexOf(name) !== i);
  if (twice !== undefined) throw new KilnError(`table ${source} has the column '${twice}' twice in its header`);
  const archAt = header.indexOf(archColumn);
  if (archAt < 0) throw new KilnError(`table ${source} has no architecture column '${archColumn}' (columns: ${header.join(', ')}); set it with --arch-column`);
  body.forEach((r, i) => {
    if (r.length !== header.length) throw new KilnError(`table ${source} line ${i + 2} has ${r.length} fields, header has ${header.length}`);
  });
  // A column is a metric when every row holds a finite number in it; a row-id column is not one.
  const numeric = header.filter((name, c) => c !== archAt && !ROW_ID_COLUMNS.has(name) && body.every((r) => r[c].trim() !== '' && Number.isFinite(Number(r[c]))));
  const data = new Map(numeric.map((name) => {
    const c = header.indexOf(name);
    return [name, Float64Array.from(body, (r) => Number(r[c]))] as const;
  }));
  const archs: Architecture[] = [];
  const byKey = new Map<string, number>();
  body.forEach((r, i) => {
    let a: Architecture;
    try {
      a = space.parse(r[archAt]);
    } catch (e) {
      throw new KilnError(`table ${source} line ${i + 2}: ${(e as Error).message}`);
    }
    const key = space.key(a);
    const seen = byKey.get(key);
    if (seen !== undefined) throw new KilnError(`table ${source} lists one architecture twice (lines ${seen + 2} and ${i + 2})`);
    byKey.set(key, i);
    archs.push(a);
  });
  return tableOf(source, archColumn, space, archs, byKey, data, header, body.length);
}

/** The table view over parsed rows; `header` names every column the file has, for messages. */
function tableOf(
  source: string, archColumn: string, space: SearchSpace, archs: Architecture[], byKey: Map<string, number>,
  data: Map<string, Float64Array>, header: readonly string[], listed: number,
): BenchmarkTable {
  const numeric = [...data.keys()];
  const known = () => `known numeric columns: ${numeric.join(', ')}`;
  return {
    source,
    archColumn,
    columns: numeric,
    size: archs.length,
    listed,
    archs,
    hasColumn: (name) => data.has(name),
    column(name) {
      const col = data.get(name);
      if (!col) {
        const why = header.includes(name) ? 'is not numeric' : 'does not exist';
        throw new KilnError(`column '${name}' of table ${source} ${why} (${known()})`);
      }
      return col;
    },
    rowOf: (a) => byKey.get(space.key(a)) ?? -1,
    row: (i) => Object.fromEntries(numeric.map((name) => [name, data.get(name)![i]])),
  };
}

/**
 * Builds a table from JSON: `{"cells": [...]}` or a bare array of records, each naming its
 * architecture by the string in `archColumn` or, for a space with `fromRecord`, in the
 * space's cell form (NAS-Bench-101's adjacency + ops). Records of one network (equal keys:
 * NAS-Bench-101's graph hash of the pruned cell) become one row whose metrics are their mean,
 * as NAS-Bench-101 averages its repeated trainings of one model.
 */
export function tableFromJson(text: string, space: SearchSpace, source: string, opts: TableOptions = {}): BenchmarkTable {
  const archColumn = opts.archColumn ?? 'arch';
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new KilnError(`table ${source} is not valid JSON: ${(e as Error).message}`);
  }
  const records = Array.isArray(doc) ? doc : (doc as { cells?: unknown } | null)?.cells;
  if (!Array.isArray(records)) throw new KilnError(`table ${source} must be a JSON array of records or an object with a 'cells' array`);
  if (records.length === 0) throw new KilnError(`table ${source} is empty`);
  const isRecord = (r: unknown): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r);
  const header = [...new Set(records.flatMap((r) => (isRecord(r) ? Object.keys(r) : [])))];
  const numeric = header.filter((name) => name !== archColumn && !ROW_ID_COLUMNS.has(name) &&
    records.every((r) => isRecord(r) && typeof r[name] === 'number' && Number.isFinite(r[name])));
  const archs: Architecture[] = [];
  const byKey = new Map<string, number>();
  const members: number[][] = [];
  records.forEach((r, i) => {
    let a: Architecture;
    try {
      if (!isRecord(r)) throw new KilnError('not an object');
      const named = r[archColumn];
      if (typeof named === 'string') a = space.parse(named);
      else if (space.fromRecord) a = space.fromRecord(r);
      else throw new KilnError(`no architecture string '${archColumn}' (space ${space.name} reads no other form); set it with --arch-column`);
    } catch (e) {
      throw new KilnError(`table ${source} record ${i + 1}: ${(e as Error).message}`);
    }
    const key = space.key(a);
    let row = byKey.get(key);
    if (row === undefined) {
      row = archs.push(a) - 1;
      byKey.set(key, row);
      members.push([]);
    }
    members[row].push(i);
  });
  const mean = (name: string, rows: number[]) => rows.reduce((s, i) => s + (records[i] as Record<string, number>)[name], 0) / rows.length;
  const data = new Map(numeric.map((name) => [name, Float64Array.from(members, (rows) => mean(name, rows))] as const));
  return tableOf(source, archColumn, space, archs, byKey, data, header, records.length);
}

const cache = new Map<string, BenchmarkTable>();

/** Reads a CSV table, or a JSON one (`.json`), from disk; repeated loads of an unchanged file reuse the parsed table. */
export function loadTable(file: string, space: SearchSpace, opts: TableOptions = {}): BenchmarkTable {
  const abs = path.resolve(file);
  checkInputFile(abs, 'table file');
  const stat = fs.statSync(abs);
  const id = `${abs}\0${stat.mtimeMs}\0${stat.size}\0${space.name}\0${opts.archColumn ?? 'arch'}`;
  let table = cache.get(id);
  if (!table) {
    const read = path.extname(abs).toLowerCase() === '.json' ? tableFromJson : tableFromCsv;
    table = read(readTextFile(abs, 'table file'), space, file, opts);
    cache.set(id, table);
  }
  return table;
}
