import { Command, Option } from 'commander';
import { createProgress, KilnError } from '../../core/index.js';
import { ARTIFACTS_HELP, collect, intFlag, interruptSignal, optionFlags, optionsHelp, outputDirParser } from '../flags.js';
import {
  controllerOptions, controllers, evaluatorOptions, evaluators, getSpace, isNotEvaluable, loadTable, openStorage, openStudy, spaces, bestTrial, type BenchmarkTable, type ControllerOptions, type StudyConfig, type StudyRun, type Trial,
} from '../../nas/index.js';

export interface SearchFlags {
  space: string;
  table?: string;
  archColumn: string;
  evaluator: string;
  evaluatorOption: string[];
  objective?: string;
  direction: string;
  constraint: string[];
  controller: string;
  population?: string;
  sampleSize?: string;
  option: string[];
  budget: string;
  seed: string;
  storage: string;
  study?: string;
  artifacts?: string;
  json?: boolean;
}


/** Shell-quotes argv so the printed resume command can be pasted back. */
function shellLine(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function describeTrial(t: Trial, objective: string): string {
  const costs = Object.entries(t.metrics).filter(([k]) => k !== objective).map(([k, v]) => `${k}=${v}`).join(' ');
  return `trial ${t.number}: ${objective} ${t.value} ${t.arch}${costs ? `\n  ${costs}` : ''}`;
}

function printSummary(run: StudyRun, budget: number, storage: string): void {
  const complete = run.trials.filter((t) => t.state === 'complete');
  const infeasible = complete.filter((t) => !t.feasible && !isNotEvaluable(t)).length;
  const notEvaluable = complete.filter(isNotEvaluable).length;
  const lines = [
    `study ${run.spec.name}: ${run.done}/${budget} trials evaluated` +
      (infeasible ? ` (${infeasible} more were infeasible and skipped)` : '') +
      (notEvaluable ? ` (${notEvaluable} not evaluable: outside the table)` : '') +
      (run.interrupted ? `; ${run.interrupted} interrupted trial(s) marked failed` : ''),
    run.best ? `best ${describeTrial(run.best, run.spec.objective)}` : 'no feasible trial yet',
    `storage ${storage}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Says when a table's cells collapse into fewer networks (unpruned NAS-Bench-101 cells). */
function tableNote(table: BenchmarkTable): void {
  if (table.listed > table.size) process.stderr.write(`kiln: table ${table.source}: ${table.listed} cells, ${table.size} distinct models\n`);
}

/** The flags that define a study (shared by `kiln search` and `kiln study create`). */
export function addStudyOptions(command: Command): Command {
  return command
    .addOption(new Option('--space <name>', `search space (${spaces.names().join(', ')})`).default('nb201'))
    .option('--table <file>', 'benchmark table CSV (an architecture column plus numeric metric columns) or JSON (.json: records, e.g. NAS-Bench-101 cells); it may cover part of the space')
    .option('--arch-column <name>', 'name of the table\'s architecture column', 'arch')
    .addOption(new Option('--evaluator <name>', `evaluator (table: look the architecture up in --table; train: train each candidate of an MLP width space, ` +
      `e.g. --space mlp2, on a dataset and score it)`).choices(evaluators.names()).default('table'))
    .option('--evaluator-option <key=value>', 'evaluator option, repeatable, stored in the study so every worker evaluates alike: ' +
      'e.g. dataset=digits, steps=200, batch=32, lr=0.01, seed=0 for train (see the evaluator list below)', collect, [])
    .option('--objective <metric>', 'metric to optimize (required), a table column such as cifar10_test_acc')
    .option('--direction <dir>', 'max or min: maximize or minimize the objective', 'max')
    .option('--constraint <expr>', 'hard limit METRIC<=N (>=, <, >); repeatable or a ,/; list; METRIC is a table column or params (nb201)', collect, [])
    .addOption(new Option('--controller <name>', `controller (${controllers.names().join(', ')})`).default('evolution'))
    .option('--option <key=value>', 'controller option, repeatable: e.g. reward=abs, costMetric=latency_ms_pixel3, target=6, ' +
      'lr=0.1, mcSamples=5, correction=false, model=gcn (see the controller list above for each one\'s options)', collect, [])
    .option('--population <n>', 'evolution: population size P (default 20)')
    .option('--sample-size <n>', 'evolution: tournament sample size S (default 5)')
    .option('--budget <n>', 'stop when this many trials are evaluated (infeasible ones are recorded but free)', '200')
    .option('--seed <n>', 'random seed of the controller', '0')
    .option('--storage <uri>', 'where trials live: sqlite:FILE.db, postgresql://USER:PASSWORD@HOST:PORT/DB or memory', 'sqlite:kiln.db')
    .option('--study <name>', 'study name; re-running the same command resumes it (default: SPACE-CONTROLLER-seedSEED)')
    .option('--artifacts <dir>', ARTIFACTS_HELP, outputDirParser('--artifacts'));
}

/** The study config and budget a command's study flags describe; bad values are KilnErrors. */
export function studyFromFlags(flags: SearchFlags): { config: StudyConfig; budget: number } {
  if (!flags.objective) throw new KilnError('--objective is required (a metric of the evaluator: a table column such as cifar10_test_acc, or val_acc for train)');
  if (flags.direction !== 'max' && flags.direction !== 'min') throw new KilnError(`--direction must be max or min, got '${flags.direction}'`);
  const budget = intFlag(flags.budget, '--budget', 1);
  const seed = intFlag(flags.seed, '--seed');
  const options = optionFlags(flags.option, `controller '${flags.controller}'`, controllerOptions(flags.controller));
  const evaluatorOpts = optionFlags(flags.evaluatorOption, `evaluator '${flags.evaluator}'`, evaluatorOptions(flags.evaluator), '--evaluator-option');
  if (flags.population !== undefined) options.population = intFlag(flags.population, '--population', 1);
  if (flags.sampleSize !== undefined) options.sampleSize = intFlag(flags.sampleSize, '--sample-size', 1);
  const config: StudyConfig = {
    name: flags.study ?? `${flags.space}-${flags.controller}-seed${seed}`, space: flags.space, objective: flags.objective,
    direction: flags.direction, constraints: flags.constraint, controller: flags.controller, controllerOptions: options as ControllerOptions,
    evaluator: flags.evaluator, evaluatorOptions: evaluatorOpts, table: flags.table, archColumn: flags.archColumn, seed,
  };
  return { config, budget };
}

export function register(program: Command): void {
  addStudyOptions(program
    .command('search')
    .description('architecture search on a benchmark table: ask/tell controller, constraints, resumable study'))
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', () => `
Controllers and their options:
${controllers.names().map((c) => `  ${c}\n${optionsHelp(controllerOptions(c))}`).join('\n')}

Evaluators and their options:
${evaluators.names().map((e) => `  ${e}\n${optionsHelp(evaluatorOptions(e), '    ', '--evaluator-option')}`).join('\n')}

Each trial: the controller proposes an architecture; constrained costs are checked first
(infeasible trials are recorded with their costs, never evaluated, not counted in --budget), then the evaluator
gives its metrics. Controllers propose only architectures in the table; any other is recorded as not evaluable,
also free. Ctrl-C stops after the current trial; re-running the same command resumes. The study can be shared:
\`kiln worker --storage URI --study NAME\` processes (here or, with PostgreSQL, on other machines) join it, and
together they stop at exactly --budget evaluated trials.

Examples:
  kiln search --space nb201 --table data/nb201/nb201-cifar10.csv --objective cifar10_test_acc \\
    --constraint 'latency_ms_pixel3<=6' --controller evolution --budget 200 --seed 1 --study s1
  kiln search --space mlp2 --evaluator train --evaluator-option dataset=digits --evaluator-option steps=200 \\
    --objective val_acc --controller random --budget 20 --study m1`)
    .action(async (flags: SearchFlags) => {
      const { config, budget } = studyFromFlags(flags);
      const { name } = config;
      const storage = openStorage(flags.storage);
      const stop = interruptSignal('stopping after the current trial');
      const progress = createProgress({ label: `search ${name}`, total: budget, quiet: flags.json });
      let best: number | undefined;
      try {
        const study = openStudy({ study: config, storage, artifacts: flags.artifacts });
        if (flags.table && !flags.json) tableNote(loadTable(flags.table, getSpace(flags.space), { archColumn: flags.archColumn }));
        const run = await study.run({
          budget,
          signal: stop.signal,
          onTrial(trial, done) {
            if (trial.feasible && trial.value !== null && (best === undefined || (flags.direction === 'max' ? trial.value > best : trial.value < best))) best = trial.value;
            progress.update(done, best === undefined ? 'no feasible yet' : `best ${best}`);
          },
        });
        progress.done(`${run.stopped ? 'stopped, ' : ''}${run.best ? `best ${run.best.value}` : 'no feasible trial'}`);
        if (flags.json) {
          const complete = run.trials.filter((t) => t.state === 'complete');
          process.stdout.write(JSON.stringify({
            study: run.spec, storage: storage.uri, budget, done: run.done, stopped: run.stopped, resumed: run.resumed,
            interrupted: run.interrupted, infeasible: complete.filter((t) => !t.feasible && !isNotEvaluable(t)).length,
            notEvaluable: complete.filter(isNotEvaluable).length,
            best: bestTrial(run.trials, run.spec.direction) ?? null,
          }, null, 2) + '\n');
        } else {
          printSummary(run, budget, storage.uri);
        }
        if (run.stopped) {
          process.stderr.write(`kiln: stopped at ${run.done}/${budget} trials; resume with the same command:\n  kiln ${shellLine(process.argv.slice(2))}\n`);
          process.exitCode = 130;
        }
      } finally {
        stop.dispose();
        storage.close();
      }
    });
}
