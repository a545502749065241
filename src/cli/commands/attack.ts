import { Command } from 'commander';
import { backendOption, collect, num, optionFlags, optionsHelp } from '../flags.js';
import { KilnError } from '../../core/index.js';
import { progressBars } from '../run.js';
import { initBackend } from '../../backend/index.js';
import { attackSavedModel, attacks, writeAttackFiles, type AttackOptions } from '../../robust/index.js';

interface AttackFlags {
  list?: boolean;
  model?: string;
  dataset: string;
  attack: string;
  eps: string;
  steps?: string;
  stepSize?: string;
  randomStart: boolean;
  n: string;
  batchSize: string;
  seed: string;
  option: string[];
  out?: string;
  backend?: string;
}

function listAttacks(): string {
  return attacks.names().map((name) => {
    const a = attacks.get(name);
    const manifold = a.needsManifold ? ' Needs a latent model of the data (kiln experiment excusable).' : '';
    return `${name} (${a.norm}): ${attacks.describe(name)}.${manifold}\n${optionsHelp(a.options)}`;
  }).join('\n');
}

async function run(flags: AttackFlags): Promise<void> {
  if (flags.list) {
    process.stdout.write(listAttacks() + '\n');
    return;
  }
  if (!flags.model) throw new KilnError('--model <path to model.json> is required (or --list)');
  const attack = attacks.get(flags.attack);
  const options: AttackOptions = {
    eps: num(flags.eps, '--eps', { min: 0 }),
    steps: flags.steps === undefined ? undefined : num(flags.steps, '--steps', { int: true, min: 1 }),
    stepSize: flags.stepSize === undefined ? undefined : num(flags.stepSize, '--step-size', { min: 0 }),
    randomStart: flags.randomStart,
    seed: num(flags.seed, '--seed', { int: true, min: 0 }),
    ...(optionFlags(flags.option, `attack '${flags.attack}'`, attack.options) as Partial<AttackOptions>),
  };
  const n = num(flags.n, '--n', { int: true, min: 1 });
  const batchSize = num(flags.batchSize, '--batch-size', { int: true, min: 1 });
  await initBackend(flags.backend);
  const bars = progressBars(flags.attack);
  const r = await attackSavedModel({ model: flags.model, dataset: flags.dataset, attack: flags.attack, options, n, batchSize,
    onProgress: (done, total) => bars.update(done, total) });
  bars.done();
  const s = r.summary;
  process.stdout.write(
    `${s.attack} (${s.norm}, eps ${s.eps}) on ${s.n} ${s.dataset} images\n` +
    `  clean accuracy   ${(100 * s.cleanAccuracy).toFixed(1)}%\n` +
    `  robust accuracy  ${(100 * s.robustAccuracy).toFixed(1)}%\n` +
    `  largest perturbation ${s.maxPerturbation.toFixed(4)} (${s.norm}); ${s.imagesPerSecond.toFixed(1)} images/s\n` +
    s.warnings.map((w) => `  warning: ${w}\n`).join(''));
  if (flags.out) {
    const [json, png] = writeAttackFiles(flags.out, r);
    process.stdout.write(`  wrote ${json}${png ? ' and examples.png (clean top, adversarial bottom)' : ''}\n`);
  }
}

export function register(program: Command): void {
  program
    .command('attack')
    .description('adversarial robustness of a saved classifier: clean and robust accuracy under an attack')
    .option('--list', 'list the attacks and their options')
    .option('--model <path>', 'model.json (or its folder) saved by kiln train')
    .option('--dataset <name>', 'image dataset with pixels in [0, 1]', 'mnist')
    .option('--attack <name>', 'attack name (see --list)', 'pgd-linf')
    .option('--eps <e>', 'perturbation budget in the attack\'s norm', '0.1')
    .option('--steps <n>', 'iterations for iterative attacks (attack default when omitted)')
    .option('--step-size <s>', 'per-step move (attack default when omitted)')
    .option('--no-random-start', 'start PGD at the clean image instead of a random point of the ball')
    .option('--n <n>', 'number of images attacked (a seeded sample of the dataset)', '256')
    .option('--batch-size <n>', 'images per attack batch', '64')
    .option('--seed <n>', 'seed for the sample and random starts', '0')
    .option('--option <key=value>', 'attack option, repeatable, over the flags above: e.g. overshoot=0.05 for deepfool-l2 ' +
      '(see --list for each attack\'s options and types)', collect, [] as string[])
    .option('--out <dir>', 'write attack.json and examples.png (clean and adversarial images) here')
    .addOption(backendOption())
    .addHelpText('after', () => `\nAttacks and their options:\n${listAttacks()}`)
    .action(run);
}
