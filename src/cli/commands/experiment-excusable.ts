import { Command } from 'commander';
import { backendOption, listFlag, num, type NumberBounds } from '../flags.js';
import { KilnError } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import {
  DEFAULT_CONFIG, EXCUSABLE_TRAININGS, OFF_MANIFOLD_ATTACKS, QUICK_CONFIG, excusableSummaryTable, readExcusableResults, runExcusable, writeExcusableReport,
  type ExcusableConfig, type ExcusableResult,
} from '../../robust/index.js';

interface ExcusableFlags {
  quick?: boolean;
  seeds?: string;
  steps?: string;
  sigmas?: string;
  training?: string;
  advEps?: string;
  advSteps?: string;
  attacks?: string;
  eps?: string;
  delta?: string;
  filters?: string;
  dense?: string;
  testSize?: string;
  attackSize?: string;
  attackSteps?: string;
  restarts?: string;
  out: string;
  reportFrom?: string;
  backend?: string;
}

const list = (value: string, flag: string, o: NumberBounds = {}) => listFlag(value).map((v) => num(v, flag, o));

/** A comma-separated list of names from `choices`, each once. */
function names<T extends string>(value: string, flag: string, choices: readonly T[]): T[] {
  const items = listFlag(value);
  if (items.length === 0) throw new KilnError(`${flag} needs at least one of ${choices.join(', ')}`);
  for (const item of items) {
    if (!(choices as readonly string[]).includes(item)) throw new KilnError(`${flag}: unknown '${item}' (choose from ${choices.join(', ')})`);
  }
  return [...new Set(items)] as T[];
}

/** Flags over the default (or --quick) configuration, validated here once. */
function configOf(flags: ExcusableFlags): ExcusableConfig {
  const c = { ...(flags.quick ? QUICK_CONFIG : DEFAULT_CONFIG) };
  if (flags.seeds) c.seeds = num(flags.seeds, '--seeds', { int: true, min: 1 });
  if (flags.steps) c.steps = num(flags.steps, '--steps', { int: true, min: 1 });
  if (flags.sigmas) c.sigmas = list(flags.sigmas, '--sigmas', { min: 0 });
  if (flags.training) c.trainings = names(flags.training, '--training', EXCUSABLE_TRAININGS);
  if (flags.advEps) c.adversarialEps = num(flags.advEps, '--adv-eps', { min: 0 });
  if (c.adversarialEps <= 0) throw new KilnError(`--adv-eps must be above 0 (got ${c.adversarialEps})`);
  if (flags.advSteps) c.adversarialSteps = num(flags.advSteps, '--adv-steps', { int: true, min: 1 });
  if (flags.attacks) c.offAttacks = names(flags.attacks, '--attacks', OFF_MANIFOLD_ATTACKS);
  if (c.trainings.includes('noise') && !c.sigmas.some((s) => s > 0)) throw new KilnError('--training noise needs a sigma above 0 (--sigmas)');
  if (flags.eps) c.eps = list(flags.eps, '--eps', { min: 0 });
  if (flags.delta) c.delta = num(flags.delta, '--delta', { min: 0 });
  if (flags.filters) {
    const f = list(flags.filters, '--filters', { int: true, min: 1 });
    if (f.length !== 2) throw new KilnError(`--filters needs two channel counts, e.g. 16,32 (got '${flags.filters}')`);
    c.filters = [f[0], f[1]];
  }
  if (flags.dense) c.dense = num(flags.dense, '--dense', { int: true, min: 1 });
  if (flags.testSize) c.testSize = num(flags.testSize, '--test-size', { int: true, min: 10 });
  if (flags.attackSize) c.attackSize = num(flags.attackSize, '--attack-size', { int: true, min: 1 });
  if (flags.attackSteps) c.attackSteps = num(flags.attackSteps, '--attack-steps', { int: true, min: 1 });
  if (flags.restarts) c.onManifoldRestarts = num(flags.restarts, '--restarts', { int: true, min: 1 });
  return c;
}

export function register(program: Command): void {
  const experiment = program.commands.find((c) => c.name() === 'experiment') ??
    program.command('experiment').description('reproduce a paper\'s experiment and write a report');
  experiment
    .command('excusable')
    .description('when adversarial examples are excusable: test errors and adversarial errors on and off a known ' +
      'data manifold, with standard, Gaussian-noise and adversarial (PGD) training, attacked with PGD and AutoAttack')
    .option('--quick', 'smoke-test configuration (one seed, 100 steps, small test and attack sets, one sigma and eps)')
    .option('--seeds <n>', `seeds per configuration (default ${DEFAULT_CONFIG.seeds})`)
    .option('--steps <n>', `training steps, each on a fresh batch (default ${DEFAULT_CONFIG.steps})`)
    .option('--training <list>', `trainings to compare: ${EXCUSABLE_TRAININGS.join(', ')} (noise: one model per sigma; pgd: Madry PGD-L2 training) (default ${DEFAULT_CONFIG.trainings})`)
    .option('--sigmas <list>', `Gaussian-noise training levels (default ${DEFAULT_CONFIG.sigmas})`)
    .option('--adv-eps <e>', `image-space L2 budget of PGD training (default ${DEFAULT_CONFIG.adversarialEps})`)
    .option('--adv-steps <n>', `PGD-L2 steps per training batch (default ${DEFAULT_CONFIG.adversarialSteps})`)
    .option('--attacks <list>', `off-manifold attacks: ${OFF_MANIFOLD_ATTACKS.join(', ')} (autoattack: AutoAttack-L2's standard version; a point is an error when any fools it) (default ${DEFAULT_CONFIG.offAttacks})`)
    .option('--eps <list>', `image-space L2 budgets of the off- and on-manifold attacks (default ${DEFAULT_CONFIG.eps})`)
    .option('--delta <d>', `latent distance counted as "close to the boundary" (default ${DEFAULT_CONFIG.delta})`)
    .option('--filters <a,b>', `channels of the CNN's two stride-2 conv layers (default ${DEFAULT_CONFIG.filters})`)
    .option('--dense <n>', `width of the CNN's dense layer (default ${DEFAULT_CONFIG.dense})`)
    .option('--test-size <n>', `test points per seed (default ${DEFAULT_CONFIG.testSize})`)
    .option('--attack-size <n>', `correctly classified test points attacked per model (default ${DEFAULT_CONFIG.attackSize})`)
    .option('--attack-steps <n>', `iterations of PGD off and on the manifold, per restart (default ${DEFAULT_CONFIG.attackSteps})`)
    .option('--restarts <n>', `on-manifold attack runs per point, the first from the point, others from random starts (default ${DEFAULT_CONFIG.onManifoldRestarts})`)
    .requiredOption('--out <dir>', 'folder for report.html, report.md, results.json and figures')
    .option('--report-from <file>', 'rebuild the report from a results.json of an earlier run instead of running')
    .addOption(backendOption())
    .action(async (flags: ExcusableFlags) => {
      let result: ExcusableResult;
      if (flags.reportFrom) {
        result = readExcusableResults(flags.reportFrom);
      } else {
        const config = configOf(flags);
        await initBackend(flags.backend);
        result = runExcusable(config, (line) => process.stderr.write(line + '\n'));
      }
      const { html, md } = writeExcusableReport(flags.out, result);
      process.stdout.write(excusableSummaryTable(result) + `\nreport: ${html}\n        ${md}\n`);
    });
}

