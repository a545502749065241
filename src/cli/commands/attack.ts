import { Command } from 'commander';
import { backendOption, collect, listFlag, num, optionFlags, optionsHelp } from '../flags.js';
import { KilnError, checkOutputDir } from '../../core/index.js';
import { progressBars } from '../run.js';
import { initBackend } from '../../backend/index.js';
import {
  AUTOATTACK_VERSIONS, NORM_NAMES, attackInNorm, attackList, attackSavedModel, autoAttackPlan, attacks, writeAttackReport, type AttackOptions, type AutoAttackVersion, type ThreatNorm,
} from '../../robust/index.js';

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
  norm?: string;
  version?: string;
  attacks?: string;
  curve?: string;
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
  const name = attackName(flags);
  const attack = attacks.get(name);
  const options: AttackOptions = {
    eps: num(flags.eps, '--eps', { min: 0 }),
    steps: flags.steps === undefined ? undefined : num(flags.steps, '--steps', { int: true, min: 1 }),
    stepSize: flags.stepSize === undefined ? undefined : num(flags.stepSize, '--step-size', { min: 0 }),
    randomStart: flags.randomStart,
    seed: num(flags.seed, '--seed', { int: true, min: 0 }),
    ...(optionFlags([...autoAttackFlags(flags, name), ...flags.option], `attack '${name}'`, attack.options) as Partial<AttackOptions>),
  };
  if (name.startsWith('autoattack')) {
    // The sequence is checked now, not after the model and data are loaded.
    const chosen = options as AttackOptions & { version?: AutoAttackVersion; attacks?: string };
    autoAttackPlan(chosen.version ?? 'standard', attack.norm, attackList(chosen.attacks));
  }
  const curve = flags.curve === undefined ? [] : listFlag(flags.curve).map((e) => num(e, '--curve', { min: 0 }));
  const n = num(flags.n, '--n', { int: true, min: 1 });
  const batchSize = num(flags.batchSize, '--batch-size', { int: true, min: 1 });
  if (flags.out) checkOutputDir(flags.out, '--out');
  await initBackend(flags.backend);
  const bars = progressBars(name);
  const r = await attackSavedModel({ model: flags.model, dataset: flags.dataset, attack: name, options, n, batchSize, curve,
    onProgress: (done, total, stage) => bars.update(done, total, stage) });
  bars.done();
  const s = r.summary;
  const norm = NORM_NAMES[s.threatModel.norm];
  process.stdout.write(
    `${s.attack} (${norm}, eps ${s.threatModel.eps}) on ${s.n} ${s.dataset} images\n` +
    `  clean accuracy   ${(100 * s.cleanAccuracy).toFixed(1)}%\n` +
    s.stages.map((st) => `  after ${st.attack.padEnd(10)} ${(100 * st.robustAccuracy).toFixed(1)}% (${st.seconds.toFixed(1)} s)\n`).join('') +
    `  robust accuracy  ${(100 * s.robustAccuracy).toFixed(1)}%\n` +
    s.curve.filter((c) => c.eps !== 0 && c.eps !== s.threatModel.eps).map((c) => `  at eps ${c.eps}: ${(100 * c.robustAccuracy).toFixed(1)}%\n`).join('') +
    `  largest perturbation ${s.maxPerturbation.toFixed(4)} (${norm}); ${s.imagesPerSecond.toFixed(2)} images/s\n` +
    s.warnings.map((w) => `  warning: ${w}\n`).join(''));
  if (flags.out) {
    const files = writeAttackReport(flags.out, r);
    process.stdout.write(`  wrote ${files.html} (report), ${files.json} (record)\n`);
  }
}

const NORMS: Record<string, ThreatNorm> = { linf: 'linf', l2: 'l2', l1: 'l1' };

/** --attack in the --norm: `apgd-ce` with --norm L2 is `apgd-ce-l2`. */
function attackName(flags: AttackFlags): string {
  attacks.get(flags.attack); // unknown names fail here, with the list
  if (flags.norm === undefined) return flags.attack;
  const norm = NORMS[flags.norm.toLowerCase()];
  if (!norm) throw new KilnError(`--norm must be Linf, L2 or L1 (got '${flags.norm}')`);
  const base = flags.attack.replace(/-(linf|l2|l1)$/, '');
  const resolved = attackInNorm(base, norm);
  if (!resolved) throw new KilnError(`attack '${flags.attack}' has no ${NORM_NAMES[norm]} form (see kiln attack --list)`);
  return resolved;
}

/** --version and --attacks as the AutoAttack options they stand for. */
function autoAttackFlags(flags: AttackFlags, name: string): string[] {
  const given = [flags.version === undefined ? '' : `version=${flags.version}`, flags.attacks === undefined ? '' : `attacks=${flags.attacks}`].filter(Boolean);
  if (given.length && !name.startsWith('autoattack')) throw new KilnError(`--version and --attacks are AutoAttack's (--attack autoattack), not for '${name}'`);
  if (flags.attacks !== undefined && flags.version !== 'custom') throw new KilnError('--attacks needs --version custom (the other versions fix their attacks)');
  return given;
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
    .option('--norm <norm>', 'threat model Linf, L2 or L1: picks the attack\'s form in that norm (apgd-ce -> apgd-ce-l2)')
    .option('--version <v>', `AutoAttack version: ${AUTOATTACK_VERSIONS.join('|')} (default standard)`)
    .option('--attacks <a,b,c>', 'AutoAttack\'s custom version: the attacks to run in sequence, e.g. apgd-ce,fab-t')
    .option('--curve <e1,e2,...>', 'further budgets for the robust-accuracy curve (each a full run of the attack on the same images)')
    .option('--out <dir>', 'write the robustness report here: report.html, report.md, attack.json (the record), curve.svg, examples.png')
    .addOption(backendOption())
    .addHelpText('after', () => `\nAttacks and their options:\n${listAttacks()}`)
    .action(run);
}
