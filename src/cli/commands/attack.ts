import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { backendOption, num } from '../flags.js';
import { KilnError, createProgress } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import { loadDataset, sample } from '../../data/index.js';
import { loadModel } from '../../nn/index.js';
import { attacks, classifierOf, evaluateAttack, imageGridPng } from '../../robust/index.js';

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
  out?: string;
  backend?: string;
}

function listAttacks(): string {
  return attacks.names().map((name) => {
    const a = attacks.get(name);
    return `${name} (${a.norm}): ${attacks.describe(name)}\n${a.options.map((o) => `    ${o}`).join('\n')}`;
  }).join('\n');
}

async function run(flags: AttackFlags): Promise<void> {
  if (flags.list) {
    process.stdout.write(listAttacks() + '\n');
    return;
  }
  if (!flags.model) throw new KilnError('--model <path to model.json> is required (or --list)');
  const attack = attacks.get(flags.attack);
  if (attack.needsManifold) {
    throw new KilnError(`'${flags.attack}' needs a latent model of the data; use it through 'kiln experiment excusable'`);
  }
  const eps = num(flags.eps, '--eps', { min: 0 });
  const n = num(flags.n, '--n', { int: true, min: 1 });
  const batchSize = num(flags.batchSize, '--batch-size', { int: true, min: 1 });
  const seed = num(flags.seed, '--seed', { int: true, min: 0 });
  await initBackend(flags.backend);
  const model = await loadModel(flags.model);
  let data = loadDataset(flags.dataset);
  if (data.shape.length !== 3) throw new KilnError(`attacks need an image dataset with pixels in [0, 1]; '${flags.dataset}' is tabular`);
  const inputShape = model.inputs[0].shape.slice(1);
  if (inputShape.join('x') !== data.shape.join('x')) {
    throw new KilnError(`the model takes inputs of shape ${inputShape.join('x')} but ${flags.dataset} images are ${data.shape.join('x')}`);
  }
  data = sample(data, n, seed);
  const count = data.y.length;
  const progress = createProgress({ label: flags.attack, total: count });
  const result = evaluateAttack(classifierOf(model), data.x, data.y, data.shape, flags.attack, {
    eps,
    steps: flags.steps === undefined ? undefined : num(flags.steps, '--steps', { int: true, min: 1 }),
    stepSize: flags.stepSize === undefined ? undefined : num(flags.stepSize, '--step-size', { min: 0 }),
    randomStart: flags.randomStart,
    seed,
  }, batchSize, 8, (done) => progress.update(done));
  progress.done();
  const summary = {
    model: flags.model, dataset: flags.dataset, attack: flags.attack, norm: attack.norm, eps, n: result.n,
    cleanAccuracy: result.cleanAccuracy, robustAccuracy: result.robustAccuracy, maxPerturbation: result.maxNorm,
    imagesPerSecond: result.n / result.seconds,
  };
  process.stdout.write(
    `${flags.attack} (${attack.norm}, eps ${eps}) on ${result.n} ${flags.dataset} images\n` +
    `  clean accuracy   ${(100 * result.cleanAccuracy).toFixed(1)}%\n` +
    `  robust accuracy  ${(100 * result.robustAccuracy).toFixed(1)}%\n` +
    `  largest perturbation ${result.maxNorm.toFixed(4)} (${attack.norm}); ${summary.imagesPerSecond.toFixed(1)} images/s\n`);
  if (flags.out) {
    fs.mkdirSync(flags.out, { recursive: true });
    const side = data.shape[0];
    if (data.shape[2] === 1) {
      fs.writeFileSync(path.join(flags.out, 'examples.png'), imageGridPng([result.clean, result.adversarial], side, 3));
    }
    fs.writeFileSync(path.join(flags.out, 'attack.json'), JSON.stringify(summary, null, 1) + '\n');
    process.stdout.write(`  wrote ${path.join(flags.out, 'attack.json')}${data.shape[2] === 1 ? ' and examples.png (clean top, adversarial bottom)' : ''}\n`);
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
    .option('--out <dir>', 'write attack.json and examples.png (clean and adversarial images) here')
    .addOption(backendOption())
    .action(run);
}
