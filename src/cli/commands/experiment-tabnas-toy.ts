import { Command } from 'commander';
import { intFlag } from '../flags.js';
import { runTabnasToy, tabnasToyReport, tabnasToyRows, TABNAS_TOY_COLUMNS } from '../../nas/index.js';
import { writeReport } from '../../report/index.js';

interface TabnasToyFlags {
  seeds: string;
  steps: string;
  out: string;
}

export function register(program: Command): void {
  const experiment = program.commands.find((c) => c.name() === 'experiment') ??
    program.command('experiment').description('reproduce a paper\'s experiment and write a report');
  experiment
    .command('tabnas-toy')
    .description('the TabNAS paper\'s toy: how often rejection sampling (with and without the Monte-Carlo P(V) correction) ' +
      'and the TuNAS abs reward end on the best feasible 2-layer MLP; rates with 95% Wilson intervals, HTML + Markdown report')
    .option('--seeds <n>', 'runs (seeds 0..n-1) per reward', '100')
    .option('--steps <n>', 'steps per run, one sampled architecture each (a rejected sample uses a step), as in the paper\'s notebook', '500')
    .option('--out <dir>', 'folder for report.html and report.md', 'out/tabnas-toy')
    .action((flags: TabnasToyFlags) => {
      const result = runTabnasToy({ seeds: intFlag(flags.seeds, '--seeds', 1), steps: intFlag(flags.steps, '--steps', 1) });
      const { html, md } = writeReport(flags.out, tabnasToyReport(result));
      const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
      process.stdout.write([
        `TabNAS toy, ${result.seeds} seeds x ${result.steps} steps`,
        line(TABNAS_TOY_COLUMNS), `|${TABNAS_TOY_COLUMNS.map(() => '---').join('|')}|`, ...tabnasToyRows(result).map(line),
        `report: ${html}`, `        ${md}`, '',
      ].join('\n'));
    });
}
