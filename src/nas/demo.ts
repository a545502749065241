import fs from 'node:fs';
import path from 'node:path';
import { dataPath, KilnError } from '../core/index.js';
import { writeFigure, writeReport } from '../report/index.js';
import { parseConstraints } from './cost/index.js';
import { searchComparison, type ControllerRuns } from './search-report.js';
import { getSpace } from './space/index.js';
import { openStorage, type Trial } from './storage/index.js';
import { bestTrial, runStudy } from './study.js';
import { loadTable } from './table.js';

/** Kiln's main job: a constrained NAS-Bench-201 search with each controller over several seeds. */
export interface DemoOptions {
  /** Output folder: report, figures and the SQLite store (`kiln.db`; re-running resumes). */
  out: string;
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
  best: Trial | null;
}

/** Runs the demo's searches (resuming stored ones) and writes its HTML and Markdown report. */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const constraints = parseConstraints(o.constraint);
  if (constraints.length !== 1 || !constraints[0].op.startsWith('<')) {
    throw new KilnError(`the demo's constraint must be one upper limit such as latency_ms_pixel3<=6, got '${o.constraint}'`);
  }
  const [limit] = constraints;
  const tablePath = dataPath('nb201', 'nb201-cifar10.csv');
  const table = loadTable(tablePath, getSpace('nb201'));
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
            constraints: [o.constraint], controller, table: tablePath, seed,
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
  if (o.signal?.aborted) return { storageUri, limitMetric: limit.metric, stopped: true, evaluations: finished, report: null, best: null };

  const { blocks, figures } = searchComparison({
    objective: o.objective, direction: 'max', costMetric: limit.metric, limit: limit.bound,
    table, budget: o.budget, controllers: results,
  });
  for (const [file, svg] of Object.entries(figures)) writeFigure(o.out, file, svg);
  const best = bestTrial(results.flatMap((r) => r.runs.flat())) ?? null;
  const report = writeReport(o.out, {
    title: 'Kiln: constrained NAS-Bench-201 search',
    blocks: [
      {
        kind: 'text',
        text: `Search space NAS-Bench-201 (15,625 cells); objective \`${o.objective}\` from the shipped table; constraint \`${o.constraint}\`; ` +
          `${o.seeds} seeds per controller, ${o.budget} evaluated architectures per run (infeasible proposals are recorded but not evaluated). ` +
          `Trials are stored in \`${storageUri}\`; re-running resumes.`,
      },
      ...blocks,
      ...(best ? [{ kind: 'text' as const, text: `Best architecture found: \`${best.arch}\` with ${o.objective} ${best.value} and ${limit.metric} ${best.metrics[limit.metric]}.` }] : []),
      { kind: 'text', text: 'Reproduce: `npm start` (or `kiln demo --seeds ' + o.seeds + ' --budget ' + o.budget + '`).' },
    ],
  });
  return { storageUri, limitMetric: limit.metric, stopped: false, evaluations: finished, report, best };
}
