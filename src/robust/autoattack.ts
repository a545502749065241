import { tf } from '../backend/index.js';
import { KilnError, type OptionSpec } from '../core/index.js';
import { EPS_OPTION, NORM_NAMES, SEED_OPTION, attackRobustRows, attacks, fooled, type Attack, type AttackOptions, type AttackStage, type Classifier, type ThreatNorm } from './attacks.js';
import { checkEps } from './pgd.js';

/**
 * AutoAttack (Croce & Hein 2020): a fixed, parameter-free sequence of attacks, each run only on the
 * points the previous ones left robust, so its robust accuracy is at most any component's. The
 * versions and their settings are the reference code's (fra31/auto-attack, autoattack.py):
 * - standard: APGD-CE, APGD-T (DLR, top 9 targets), FAB-T (top 9 targets), Square (5,000 queries);
 * - plus: APGD-CE and APGD-DLR with 5 restarts, FAB with 5 restarts, Square, APGD-T, FAB-T;
 * - rand (randomized models): APGD-CE and APGD-DLR averaging 20 gradient samples per step (EoT);
 * - custom: the attacks the user names.
 * Each attack runs in the version's norm (Square as square-l2 in L2). In L1 (Croce & Hein 2021, "Mind
 * the box"), standard runs L1-APGD-CE with 5 restarts and L1-APGD-T over the top 5 targets, both with
 * the 3 eps / 2 eps / eps schedule (apgd-l1.ts), then FAB-T-L1 and Square-L1, as the reference does.
 */

export const AUTOATTACK_VERSIONS = ['standard', 'plus', 'rand', 'custom'] as const;
export type AutoAttackVersion = typeof AUTOATTACK_VERSIONS[number];

/** One attack of a sequence: its registry name and the options the version sets. */
export interface AutoAttackStep {
  attack: string;
  options: Record<string, number>;
}

const SUFFIX: Record<ThreatNorm, string> = { linf: '', l2: '-l2', l1: '-l1' };
export { NORM_NAMES };

const VERSIONS: Record<Exclude<AutoAttackVersion, 'custom'>, [string, Record<string, number>][]> = {
  standard: [['apgd-ce', { restarts: 1 }], ['apgd-t', { targets: 9 }], ['fab-t', { targets: 9 }], ['square', { steps: 5000 }]],
  plus: [['apgd-ce', { restarts: 5 }], ['apgd-dlr', { restarts: 5 }], ['fab', { restarts: 5 }], ['square', { steps: 5000 }],
    ['apgd-t', { targets: 9 }], ['fab-t', { targets: 9 }]],
  rand: [['apgd-ce', { eot: 20 }], ['apgd-dlr', { eot: 20 }]],
};
/** The reference's standard version in L1: more APGD restarts, fewer APGD-T targets. */
const STANDARD_L1: [string, Record<string, number>][] =
  [['apgd-ce', { restarts: 5 }], ['apgd-t', { targets: 5 }], ['fab-t', { targets: 9 }], ['square', { steps: 5000 }]];

/**
 * The registered attack `name` in the norm: itself when its norm matches, else its `-l2`/`-l1`/`-linf` form
 * (so `apgd-ce` with L2 is `apgd-ce-l2`, `pgd` with Linf `pgd-linf`); undefined when there is none.
 */
export function attackInNorm(name: string, norm: ThreatNorm): string | undefined {
  // pgd-linf and pgd-l2 name both norms; the AutoAttack family leaves Linf unsuffixed.
  return [name, name + SUFFIX[norm], `${name}-${norm}`].find((n) => attacks.has(n) && attacks.get(n).norm === norm);
}

/** The sequence a version runs in a norm; `custom` lists the attack names (base or norm forms). */
export function autoAttackPlan(version: AutoAttackVersion, norm: ThreatNorm, custom: readonly string[] = []): AutoAttackStep[] {
  if (version === 'custom') {
    if (custom.length === 0) throw new KilnError("AutoAttack's custom version needs the attacks to run (--attacks a,b,c)");
    return custom.map((name) => {
      const resolved = attackInNorm(name, norm);
      if (!resolved) throw new KilnError(`attack '${name}' has no ${NORM_NAMES[norm]} form (see kiln attack --list)`);
      const a = attacks.get(resolved);
      if (a.needsManifold || resolved.startsWith('autoattack')) throw new KilnError(`attack '${name}' cannot be part of AutoAttack`);
      return { attack: resolved, options: {} };
    });
  }
  if (custom.length) throw new KilnError(`--attacks is for AutoAttack's custom version; the ${version} version fixes its attacks`);
  const sequence = version === 'standard' && norm === 'l1' ? STANDARD_L1 : VERSIONS[version];
  return sequence.map(([name, options]) => {
    const resolved = attackInNorm(name, norm);
    if (!resolved) throw new Error(`AutoAttack's ${version} version needs ${name} in ${NORM_NAMES[norm]}, which is not registered`);
    return { attack: resolved, options };
  });
}

export interface AutoAttackStage extends AttackStage {
  /** Robust accuracy after this attack (over all examples). */
  robustAccuracy: number;
}

export interface AutoAttackResult {
  x: tf.Tensor4D;
  cleanAccuracy: number;
  stages: AutoAttackStage[];
  /**
   * AutoAttack's checks against a flawed evaluation: the model gives different outputs for the same
   * input (randomized: the figures need EoT), or the gradient attacks left robust accuracy near clean
   * accuracy while the gradient-free Square attack still found errors (masked gradients).
   */
  warnings: string[];
}

export interface AutoAttackOptions extends AttackOptions {
  norm?: ThreatNorm;
  version?: AutoAttackVersion;
  /** The custom version's attacks. */
  attacks?: readonly string[];
}

/** Runs the version's sequence; `onStage` hears each attack's robust accuracy as it goes. */
export function autoAttack(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: AutoAttackOptions,
  onStage?: (s: AutoAttackStage) => void): AutoAttackResult {
  checkEps(opts.eps);
  const version = opts.version ?? 'standard';
  const plan = autoAttackPlan(version, opts.norm ?? 'linf', opts.attacks);
  const n = x.shape[0];
  const robustCount = (t: tf.Tensor4D): number => {
    const wrong = tf.tidy(() => fooled(model, t, y).sum());
    const count = wrong.dataSync()[0];
    wrong.dispose();
    return n - count;
  };
  const warnings: string[] = [];
  // The rand version expects a randomized model (the reference skips this check for it too).
  if (version !== 'rand') {
    const twice = tf.tidy(() => model(x).sub(model(x)).abs().max());
    if (twice.dataSync()[0] > 1e-5) warnings.push('the model gives different outputs for the same input (randomized): robust accuracy without EoT overstates robustness; use --version rand');
    twice.dispose();
  }
  let out = x.clone();
  const cleanAccuracy = robustCount(out) / n;
  const stages: AutoAttackStage[] = [];
  for (const step of plan) {
    const started = Date.now();
    // Each attack starts from the clean images of the points still robust; successes are kept.
    out = attackRobustRows(model, x, y, out, (rows, labels) =>
      attacks.get(step.attack).run(model, rows, labels, { eps: opts.eps, seed: opts.seed, ...step.options }).x);
    const robust = robustCount(out);
    const stage = { attack: step.attack, robust, robustAccuracy: robust / n, seconds: (Date.now() - started) / 1000 };
    stages.push(stage);
    onStage?.(stage);
  }
  // Gradient masking: the gradient stages before Square barely moved accuracy, Square did.
  const at = stages.findIndex((s) => s.attack.startsWith('square'));
  if (at > 0) {
    const afterGradients = stages[at - 1].robustAccuracy;
    const afterSquare = stages[at].robustAccuracy;
    if (cleanAccuracy - afterGradients < 0.02 && afterGradients - afterSquare >= 0.05) {
      warnings.push(`gradient masking suspected: the gradient attacks left ${(100 * afterGradients).toFixed(1)}% robust (clean ` +
        `${(100 * cleanAccuracy).toFixed(1)}%) but Square brought it to ${(100 * afterSquare).toFixed(1)}%`);
    }
  }
  return { x: out, cleanAccuracy, stages, warnings };
}

const autoAttackOptions = (norm: ThreatNorm): OptionSpec[] => [
  EPS_OPTION(NORM_NAMES[norm]),
  { name: 'version', type: 'string', default: 'standard', choices: AUTOATTACK_VERSIONS, description: 'standard, plus, rand (EoT for randomized models) or custom' },
  { name: 'attacks', type: 'string', description: 'the custom version\'s attacks, comma-separated, e.g. apgd-ce,fab-t' },
  SEED_OPTION,
];

/** The `attacks` option's text (a,b,c) as names. */
export function attackList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((a) => a.trim()).filter((a) => a !== '');
}

function autoAttackEntry(name: string, norm: ThreatNorm): Attack {
  return {
    name, norm, needsManifold: false,
    options: autoAttackOptions(norm),
    run: (model, x, y, opts: AttackOptions & { version?: AutoAttackVersion; attacks?: string }) => {
      const r = autoAttack(model, x, y, { ...opts, norm, attacks: attackList(opts.attacks) });
      return { x: r.x, warnings: r.warnings, stages: r.stages };
    },
  };
}

export const autoAttackLinf = autoAttackEntry('autoattack', 'linf');
export const autoAttackL2 = autoAttackEntry('autoattack-l2', 'l2');
export const autoAttackL1 = autoAttackEntry('autoattack-l1', 'l1');
