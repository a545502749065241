import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createProgress, KilnError } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import {
  deviceSetMetric, openStorage, PRESET_NAMES, PRESETS, runNasExperiment, spaces, type DeviceAggregate, type Direction,
  curvesCsv, experimentSummary, nasExperimentReport, runsCsv,
} from '../../nas/index.js';
import { writeFigure, writeReport } from '../../report/index.js';
import { backendOption, collect, intFlag, interruptSignal, numberFlag } from '../flags.js';

interface NasFlags {
  table: string;
  space: string;
  archColumn: string;
  objective: string;
  direction: string;
  controllers: string;
  seeds: string;
  budget: string;
  constraint: string[];
  devices?: string;
  deviceMetric: string;
  deviceLimit?: string;
  within: string;
  stopAtTarget?: boolean;
  out: string;
  backend?: string;
}


export function register(program: Command): void {
  const experiment = program.commands.find((c) => c.name() === 'experiment') ??
    program.command('experiment').description('reproduce a paper\'s experiment and write a report');
  experiment
    .command('nas')
    .description('compare search controllers (random, evolution, REINFORCE with TuNAS rewards, TabNAS rejection, Neural Predictor) ' +
      'on a benchmark table over many seeds, with constraints on one device or a device set; HTML + Markdown report')
    .requiredOption('--table <file>', 'benchmark table CSV: an architecture column plus numeric columns (objective, latency_ms_<device>, ...)')
    .addOption(new Option('--space <name>', `search space of the table's architectures (${spaces.names().join(', ')})`).default('nb201'))
    .option('--arch-column <name>', 'name of the table\'s architecture column', 'arch')
    .requiredOption('--objective <column>', 'table column to optimize, e.g. cifar10_test_acc')
    .option('--direction <dir>', 'max or min', 'max')
    .option('--controllers <list>', `comma-separated, from: ${PRESET_NAMES.join(', ')}`, 'random,evolution,reinforce,tabnas,predictor')
    .option('--seeds <n>', 'runs (seeds 1..n) per controller', '30')
    .option('--budget <n>', 'evaluated architectures per run', '300')
    .option('--constraint <expr>', 'limit METRIC<=N (>=, <, >) on a table column, params, or a device-set metric such as ' +
      '\'worst_latency(pixel3,raspi4,gold_6226)<=1.2\'; repeatable. One upper limit is also the reward target of reinforce_*', collect, [])
    .option('--devices <list>', 'device set (names of latency_ms_<device> columns): adds the constraint DEVICE_METRIC(list)<=--device-limit')
    .addOption(new Option('--device-metric <name>', 'aggregate over --devices: avg_latency (mean) or worst_latency (max) of per-device normalized latency').choices(['avg_latency', 'worst_latency']).default('worst_latency'))
    .option('--device-limit <x>', 'bound for the --devices metric (1 = the table\'s median cell on each device)', '1')
    .option('--within <d>', 'distance to the feasible optimum counted as reaching it', '0.2')
    .option('--stop-at-target', 'end each run once it is within --within of the feasible optimum (for evaluations-to-reach figures)')
    .requiredOption('--out <dir>', 'folder for report.html, report.md, runs.csv, curves.csv, figures and studies.db (resume by re-running)')
    .addOption(backendOption())
    .addHelpText('after', `
Controllers: ${PRESET_NAMES.map((n) => n).join(', ')}.
random, evolution, tabnas*, predictor* run with the constraints as hard limits (infeasible proposals are
never evaluated). reinforce_abs / reinforce_mnas / reinforce_mnas_hard (and reinforce, = reinforce_abs when
there is one upper limit) put the limit METRIC<=T0 into TuNAS's reward as target T0 and evaluate every sample;
their final picks (the final policy's most likely cell) are judged against the same limit.
Device-set metrics: n_d(a) = latency_d(a) / median over the table of latency_d; avg_latency = mean over
devices of n_d, worst_latency = max over devices of n_d.

Example:
  kiln experiment nas --table data/nb201/nb201-cifar10.csv --objective cifar10_test_acc \\
    --controllers tabnas,reinforce_abs,reinforce_mnas --constraint 'latency_ms_pixel3<=6' --seeds 30 --out out/pixel3`)
    .action(async (flags: NasFlags) => {
      if (flags.direction !== 'max' && flags.direction !== 'min') throw new KilnError(`--direction must be max or min, got '${flags.direction}'`);
      const controllers = flags.controllers.split(',').map((s) => s.trim()).filter(Boolean);
      for (const c of controllers) if (!PRESETS[c]) throw new KilnError(`unknown controller '${c}' (known: ${PRESET_NAMES.join(', ')})`);
      const constraints = [...flags.constraint];
      if (flags.devices) {
        const devices = flags.devices.split(',').map((d) => d.trim()).filter(Boolean);
        constraints.push(`${deviceSetMetric(flags.deviceMetric as DeviceAggregate, devices)}<=${numberFlag(flags.deviceLimit ?? '1', '--device-limit', 0)}`);
      }
      const config = {
        table: flags.table, space: flags.space, archColumn: flags.archColumn, objective: flags.objective,
        direction: flags.direction as Direction, constraints, controllers,
        seeds: intFlag(flags.seeds, '--seeds', 1), budget: intFlag(flags.budget, '--budget', 1),
        within: numberFlag(flags.within, '--within', 0), stopAtTarget: Boolean(flags.stopAtTarget),
      };
      if (controllers.some((c) => c === 'predictor_gcn')) await initBackend(flags.backend);
      fs.mkdirSync(flags.out, { recursive: true });
      const storage = openStorage(`sqlite:${path.join(flags.out, 'studies.db')}`);
      const stop = interruptSignal('stopping after the current trial; run the same command to resume');
      const total = controllers.length * config.seeds;
      const progress = createProgress({ label: 'experiment nas', total });
      let finished = 0;
      try {
        const result = await runNasExperiment(config, {
          storage, signal: stop.signal,
          onTrial: (c, seed, done) => progress.update(finished, `${c} seed ${seed}: ${done}/${config.budget}`),
          onRun: (r, n) => { finished = n; progress.update(n, `${r.controller} seed ${r.seed} done`); },
        });
        if (stop.signal.aborted) {
          process.stderr.write(`kiln: stopped after ${finished}/${total} runs; re-run the same command to resume\n`);
          process.exitCode = 130;
          return;
        }
        progress.done();
        const { doc, figures } = nasExperimentReport(result);
        for (const [file, svg] of Object.entries(figures)) writeFigure(flags.out, file, svg);
        fs.writeFileSync(path.join(flags.out, 'runs.csv'), runsCsv(result));
        fs.writeFileSync(path.join(flags.out, 'curves.csv'), curvesCsv(result));
        const { html, md } = writeReport(flags.out, doc);
        const lines = experimentSummary(result).map((r) =>
          `${r.controller.padEnd(20)} within ${config.within}: ${r.reached}/${r.runs} runs` +
          (r.reached ? ` (evaluations: mean ${r.reachCensored ? '>= ' : ''}${r.reachMean.toFixed(0)}, median ${Number.isFinite(r.reachMedian) ? r.reachMedian.toFixed(0) : 'not reached'})` : '') +
          `; pick feasible ${r.pickFeasible}/${r.runs}` +
          (r.pickGaps.length ? `, mean distance ${(r.pickGaps.reduce((s, g) => s + g, 0) / r.pickGaps.length).toFixed(2)}` : ''));
        process.stdout.write(`feasible optimum ${result.optimum.value}\n${lines.join('\n')}\nreport: ${html}\n        ${md}\n`);
      } finally {
        stop.dispose();
        storage.close();
      }
    });
}
