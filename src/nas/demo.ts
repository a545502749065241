import fs from 'node:fs';
import path from 'node:path';
import { dataPath, KilnError } from '../core/index.js';
import { writeFigure, writeReport } from '../report/index.js';
import { parseConstraints } from './cost/index.js';
import { searchComparison, type ControllerRuns } from './search-report.js';
import { controllers as controllerRegistry } from './controllers/index.js';
import { getSpace } from './space/index.js';
import { openStorage, type Trial } from './storage/index.js';
import { bestTrial, runStudy } from './study.js';
import { loadTable } from './table.js';

/** The shipped NAS-Bench-201 CIFAR-10 table the demo searches unless given another. */
export const DEMO_TABLE = dataPath('nb201', 'nb201-cifar10.csv');

/** Controllers the demo never runs by default: REINFORCE needs a reward preset, coarse-to-fine is BigNAS's finite selection. */
const NOT_DEMO = new Set(['reinforce', 'coarse-to-fine']);

/**
 * The demo's default comparison: random, evolution, predictor and tabnas, then every other
 * controller registered at run time (e.g. local-search) that searches a table on its own.
 */
export function demoControllers(): string[] {
  const first = ['random', 'evolution', 'predictor', 'tabnas'].filter((n) => controllerRegistry.has(n));
  return [...first, ...controllerRegistry.names().filter((n) => !first.includes(n) && !NOT_DEMO.has(n))];
}

/** Kiln's main job: a constrained search of a NAS-Bench-201-shaped table with each controller over several seeds. */
export interface DemoOptions {
  /** Output folder: report, figures and the SQLite store (`kiln.db`; re-running resumes). */
  out: string;
  /** A table of NAS-Bench-201 cells (default: the shipped CIFAR-10 table). */
  table?: string;
  /** Its architecture column (default `arch`). */
  archColumn?: string;
  seeds: number;
  budget: number;
  objective: string;
  /** One upper limit on a table column, e.g. 'latency_ms_pixel3<=6'. */
  constraint: string;
  controllers: string[];
  signal?: AbortSignal;
  /** Evaluations finished so far out of `total`, and which run is going. */
  onProgress?: (done: number, total: number, run: string) => void;
}

export interface DemoResult {
  storageUri: string;
  /** The constrained column. */
  limitMetric: string;
  /** True when `signal` stopped it: finished trials are kept, no report is written. */
  stopped: boolean;
  evaluations: number;
  report: { html: string; md: string } | null;
  /** The report's opening sentence: the strongest controller and how the others compare (Markdown). */
  lead: string;
  best: Trial | null;
}

/** Runs the demo's searches (resuming stored ones) and writes its HTML and Markdown report. */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const constraints = parseConstraints(o.constraint);
  if (constraints.length !== 1 || !constraints[0].op.startsWith('<')) {
    throw new KilnError(`the demo's constraint must be one upper limit such as latency_ms_pixel3<=6, got '${o.constraint}'`);
  }
  const [limit] = constraints;
  const tablePath = o.table ?? DEMO_TABLE;
  const archColumn = o.archColumn ?? 'arch';
  if (!fs.existsSync(tablePath)) throw new KilnError(`table '${tablePath}' not found`);
  for (const c of o.controllers) {
    if (!controllerRegistry.has(c)) throw new KilnError(`unknown controller '${c}' (known: ${controllerRegistry.names().join(', ')})`);
  }
  const table = loadTable(tablePath, getSpace('nb201'), { archColumn });
  for (const col of [o.objective, limit.metric]) {
    if (!table.hasColumn(col)) throw new KilnError(`unknown column '${col}' (columns: ${table.columns.join(', ')})`);
  }
  fs.mkdirSync(o.out, { recursive: true });
  const storageUri = `sqlite:${path.join(o.out, 'kiln.db')}`;
  const storage = openStorage(storageUri);
  const total = o.controllers.length * o.seeds * o.budget;
  const results: ControllerRuns[] = [];
  let finished = 0;
  try {
    for (const controller of o.controllers) {
      const runs: Trial[][] = [];
      for (let seed = 1; seed <= o.seeds && !o.signal?.aborted; seed++) {
        const run = await runStudy({
          study: {
            name: `demo-${controller}-seed${seed}`, space: 'nb201', objective: o.objective,
            constraints: [o.constraint], controller, table: tablePath, archColumn, seed,
          },
          budget: o.budget,
          storage,
          signal: o.signal,
          onTrial: (_t, done) => o.onProgress?.(finished + done, total, `${controller} seed ${seed}`),
        });
        finished += run.done;
        runs.push(run.trials);
      }
      results.push({ controller, runs });
    }
  } finally {
    storage.close();
  }
  if (o.signal?.aborted) return { storageUri, limitMetric: limit.metric, stopped: true, evaluations: finished, report: null, lead: '', best: null };

  const { blocks, figures, lead } = searchComparison({
    objective: o.objective, direction: 'max', costMetric: limit.metric, limit: limit.bound,
    table, budget: o.budget, controllers: results, within: 0.2,
  });
  for (const [file, svg] of Object.entries(figures)) writeFigure(o.out, file, svg);
  const best = bestTrial(results.flatMap((r) => r.runs.flat())) ?? null;
  const source = o.table ? `table \`${path.basename(tablePath)}\`` : 'the shipped NAS-Bench-201 CIFAR-10 table';
  const report = writeReport(o.out, {
    title: `Kiln: constrained search of ${o.table ? path.basename(tablePath) : 'NAS-Bench-201'} (${o.controllers.join(', ')})`,
    blocks: [
      ...blocks,
      ...(best ? [{ kind: 'text' as const, text: `Best architecture found: \`${best.arch}\` with ${o.objective} ${best.value} and ${limit.metric} ${best.metrics[limit.metric]}.` }] : []),
      { kind: 'heading', text: 'Setup' },
      {
        kind: 'text',
        text: `Search space NAS-Bench-201 (${table.size.toLocaleString('en')} cells in ${source}); objective \`${o.objective}\` (maximized); constraint \`${o.constraint}\`; ` +
          `${o.seeds} seeds per controller, ${o.budget} evaluated architectures per run (infeasible proposals are recorded but not evaluated). ` +
          `Trials are stored in \`${storageUri}\`; re-running resumes.`,
      },
      { kind: 'text', text: `Reproduce: \`kiln demo${o.table ? ` --table ${tablePath}` : ''} --objective ${o.objective} --constraint '${o.constraint}' --controllers ${o.controllers.join(',')} --seeds ${o.seeds} --budget ${o.budget}\`.` },
    ],
  });
  return { storageUri, limitMetric: limit.metric, stopped: false, evaluations: finished, report, lead, best };
}
