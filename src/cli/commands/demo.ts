import path from 'node:path';
import { Command } from 'commander';
import { createProgress } from '../../core/index.js';
import { runDemo } from '../../nas/index.js';
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
      const stop = interruptSignal('stopping after the current trial; run the same command to resume');
      const controllers = listFlag(flags.controllers);
      const progress = createProgress({ label: 'demo search', total: controllers.length * seeds * budget });
      const run = await runDemo({
        out: flags.out, seeds, budget, objective: flags.objective, constraint: flags.constraint, controllers,
        signal: stop.signal, onProgress: (done, _total, what) => progress.update(done, what),
      }).finally(() => stop.dispose());
      if (run.stopped) {
        process.stderr.write(`kiln: interrupted at ${run.evaluations} evaluations; finished trials are kept in ${run.storageUri}\n`);
        process.exitCode = 130;
        return;
      }
      progress.done();
      process.stdout.write(`report: ${path.resolve(run.report!.html)}\n        ${path.resolve(run.report!.md)}\n`);
      const best = run.best;
      if (best) process.stdout.write(`best architecture: ${best.arch}\n  ${flags.objective} ${best.value}, ${run.limitMetric} ${best.metrics[run.limitMetric]}\n`);
    });
}
