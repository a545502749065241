import path from 'node:path';
import { Command } from 'commander';
import { createProgress } from '../../core/index.js';
import { demoControllers, runDemo } from '../../nas/index.js';
import { intFlag, interruptSignal, listFlag } from '../flags.js';

interface DemoFlags {
  out: string;
  table?: string;
  archColumn: string;
  seeds: string;
  budget: string;
  constraint: string;
  objective: string;
  controllers?: string;
}

/**
 * Kiln's main job (`npm start`): a constrained NAS-Bench-201 search with every listed controller
 * over several seeds, stored in SQLite (re-running resumes), summarized in an HTML + Markdown report
 * that opens with the strongest method.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description("Kiln's main job: constrained NAS-Bench-201 search comparing every controller over seeds, with a report that leads with the strongest")
    .option('--out <dir>', 'output folder (report, figures, SQLite study store)', 'kiln-out')
    .option('--table <file>', 'a benchmark table of NAS-Bench-201 cells (default: the shipped CIFAR-10 table)')
    .option('--arch-column <name>', "name of the table's architecture column", 'arch')
    .option('--seeds <n>', 'seeds per controller', '10')
    .option('--budget <n>', 'evaluated architectures per run', '300')
    .option('--objective <metric>', 'table column to maximize', 'cifar10_test_acc')
    .option('--constraint <expr>', 'one limit METRIC<=N on a table column', 'latency_ms_pixel3<=6')
    .option('--controllers <list>', `comma-separated controllers to compare (default: ${demoControllers().join(',')})`)
    .action(async (flags: DemoFlags) => {
      const seeds = intFlag(flags.seeds, '--seeds', 1);
      const budget = intFlag(flags.budget, '--budget', 1);
      const controllers = flags.controllers ? listFlag(flags.controllers) : demoControllers();
      const stop = interruptSignal('stopping after the current trial; run the same command to resume');
      const progress = createProgress({ label: 'demo search', total: controllers.length * seeds * budget });
      const run = await runDemo({
        out: flags.out, table: flags.table, archColumn: flags.archColumn, seeds, budget,
        objective: flags.objective, constraint: flags.constraint, controllers,
        signal: stop.signal, onProgress: (done, _total, what) => progress.update(done, what),
      }).finally(() => stop.dispose());
      if (run.stopped) {
        process.stderr.write(`kiln: interrupted at ${run.evaluations} evaluations; finished trials are kept in ${run.storageUri}\n`);
        process.exitCode = 130;
        return;
      }
      progress.done();
      process.stdout.write(`report: ${path.resolve(run.report!.html)}\n        ${path.resolve(run.report!.md)}\n`);
      if (run.lead) process.stdout.write(`${run.lead.replace(/\*\*/g, '')}\n`);
      const best = run.best;
      if (best) process.stdout.write(`best architecture: ${best.arch}\n  ${flags.objective} ${best.value}, ${run.limitMetric} ${best.metrics[run.limitMetric]}\n`);
    });
}
