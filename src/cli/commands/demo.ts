import path from 'node:path';
import fs from 'node:fs';
import { Command } from 'commander';
import { createProgress, dataPath, KilnError } from '../../core/index.js';
import { getSpace, loadTable, openStorage, parseConstraints, runStudy, bestTrial, searchComparison, type ControllerRuns, type Trial } from '../../nas/index.js';
import { writeFigure, writeReport } from '../../report/index.js';
import { intFlag, interruptSignal, listFlag } from '../flags.js';

interface DemoFlags {
  out: string;
  seeds: string;
  budget: string;
  constraint: string;
  objective: string;
  controllers: string;
}

/**
 * Kiln's main job (`npm start`): a constrained NAS-Bench-201 search with every listed controller
 * over several seeds, stored in SQLite (re-running resumes), summarized in an HTML + Markdown report.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description("Kiln's main job: constrained NAS-Bench-201 search, random search vs regularized evolution, with a report")
    .option('--out <dir>', 'output folder (report, figures, SQLite study store)', 'kiln-out')
    .option('--seeds <n>', 'seeds per controller', '20')
    .option('--budget <n>', 'evaluated architectures per run', '200')
    .option('--objective <metric>', 'table column to maximize', 'cifar10_test_acc')
    .option('--constraint <expr>', 'one limit METRIC<=N on a table column', 'latency_ms_pixel3<=6')
    .option('--controllers <list>', 'comma-separated controllers to compare', 'random,evolution')
    .action(async (flags: DemoFlags) => {
      const seeds = intFlag(flags.seeds, '--seeds', 1);
      const budget = intFlag(flags.budget, '--budget', 1);
      const constraints = parseConstraints(flags.constraint);
      if (constraints.length !== 1 || !constraints[0].op.startsWith('<')) {
        throw new KilnError(`--constraint must be one upper limit such as latency_ms_pixel3<=6, got '${flags.constraint}'`);
      }
      const [limit] = constraints;
      const tablePath = dataPath('nb201', 'nb201-cifar10.csv');
      const table = loadTable(tablePath, getSpace('nb201'));
      for (const col of [flags.objective, limit.metric]) {
        if (!table.hasColumn(col)) throw new KilnError(`unknown column '${col}' (columns: ${table.columns.join(', ')})`);
      }
      const names = listFlag(flags.controllers);
      fs.mkdirSync(flags.out, { recursive: true });
      const storageUri = `sqlite:${path.join(flags.out, 'kiln.db')}`;
      const storage = openStorage(storageUri);
      const stop = interruptSignal('stopping after the current trial; run the same command to resume');
      const progress = createProgress({ label: 'demo search', total: names.length * seeds * budget });
      const results: ControllerRuns[] = [];
      let finished = 0;
      try {
        for (const controller of names) {
          const runs: Trial[][] = [];
          for (let seed = 1; seed <= seeds && !stop.signal.aborted; seed++) {
            const run = await runStudy({
              study: {
                name: `demo-${controller}-seed${seed}`, space: 'nb201', objective: flags.objective,
                constraints: [flags.constraint], controller, table: tablePath, seed,
              },
              budget,
              storage,
              signal: stop.signal,
              onTrial: (_t, done) => progress.update(finished + done, `${controller} seed ${seed}`),
            });
            finished += run.done;
            runs.push(run.trials);
          }
          results.push({ controller, runs });
        }
      } finally {
        stop.dispose();
        storage.close();
      }
      if (stop.signal.aborted) {
        process.stderr.write(`kiln: interrupted at ${finished} evaluations; finished trials are kept in ${storageUri}\n`);
        process.exitCode = 130;
        return;
      }
      progress.done();

      const { blocks, figures } = searchComparison({
        objective: flags.objective, direction: 'max', costMetric: limit.metric, limit: limit.bound,
        table, budget, controllers: results,
      });
      for (const [file, svg] of Object.entries(figures)) writeFigure(flags.out, file, svg);
      const overall = bestTrial(results.flatMap((r) => r.runs.flat()));
      const report = writeReport(flags.out, {
        title: 'Kiln: constrained NAS-Bench-201 search',
        blocks: [
          {
            kind: 'text',
            text: `Search space NAS-Bench-201 (15,625 cells); objective \`${flags.objective}\` from the shipped table; constraint \`${flags.constraint}\`; ` +
              `${seeds} seeds per controller, ${budget} evaluated architectures per run (infeasible proposals are recorded but not evaluated). ` +
              `Trials are stored in \`${storageUri}\`; re-running resumes.`,
          },
          ...blocks,
          ...(overall ? [{ kind: 'text' as const, text: `Best architecture found: \`${overall.arch}\` with ${flags.objective} ${overall.value} and ${limit.metric} ${overall.metrics[limit.metric]}.` }] : []),
          { kind: 'text', text: 'Reproduce: `npm start` (or `kiln demo --seeds ' + seeds + ' --budget ' + budget + '`).' },
        ],
      });
      process.stdout.write(`report: ${path.resolve(report.html)}\n        ${path.resolve(report.md)}\n`);
      if (overall) process.stdout.write(`best architecture: ${overall.arch}\n  ${flags.objective} ${overall.value}, ${limit.metric} ${overall.metrics[limit.metric]}\n`);
    });
}
