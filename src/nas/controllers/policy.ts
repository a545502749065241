import { KilnError, type OptionSpec, type Rng } from '../../core/index.js';
import type { Architecture, Decision } from '../space/index.js';
import type { ControllerOptions } from './types.js';

/**
 * The policy of TuNAS and TabNAS: one independent categorical distribution per decision,
 * parameterized by logits. Plain float64 JS: the policy is a few dozen numbers, so this is
 * faster than tensors and exactly reproducible; gradients are analytic
 * (d log softmax(l)[k] / d l = onehot(k) - softmax(l)).
 *
 * @inline
 */
export interface PolicyParams {
  logits: number[][];
}

/** Gradient with the logits' shape. */
export type LogitGrad = number[][];

export function initialPolicy(decisions: readonly Decision[]): PolicyParams {
  return { logits: decisions.map((d) => new Array<number>(d.choices.length).fill(0)) };
}

export function softmax(logits: readonly number[]): number[] {
  const top = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - top));
  const z = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / z);
}

export function policyProbs(p: PolicyParams): number[][] {
  return p.logits.map(softmax);
}

export function samplePolicy(probs: readonly (readonly number[])[], rng: Rng): Architecture {
  return { values: probs.map((row) => rng.categorical(row)) };
}

export function logProb(probs: readonly (readonly number[])[], a: Architecture): number {
  return probs.reduce((s, row, i) => s + Math.log(row[a.values[i]]), 0);
}

export function zeroGrad(p: PolicyParams): LogitGrad {
  return p.logits.map((row) => row.map(() => 0));
}

/** Adds `scale * d log pi(a) / d logits` into `g`. */
export function addLogProbGrad(g: LogitGrad, probs: readonly (readonly number[])[], a: Architecture, scale: number): void {
  probs.forEach((row, i) => {
    for (let k = 0; k < row.length; k++) g[i][k] += scale * ((a.values[i] === k ? 1 : 0) - row[k]);
  });
}

/** The most likely architecture (per-decision argmax). */
export function policyMode(probs: readonly (readonly number[])[]): Architecture {
  return { values: probs.map((row) => row.indexOf(Math.max(...row))) };
}

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * Adam's first and second moments of the policy's logits and its step count.
 *
 * @inline
 */
export interface AdamState {
  m: number[][];
  v: number[][];
  t: number;
}

export function initialAdam(p: PolicyParams): AdamState {
  return { m: zeroGrad(p), v: zeroGrad(p), t: 0 };
}

/** One bias-corrected Adam step that *ascends* `g` (the gradient of the objective to maximize). */
export function adamAscend(p: PolicyParams, s: AdamState, g: LogitGrad, c: AdamConfig): void {
  s.t++;
  const c1 = 1 - c.beta1 ** s.t;
  const c2 = 1 - c.beta2 ** s.t;
  g.forEach((row, i) => row.forEach((gi, k) => {
    s.m[i][k] = c.beta1 * s.m[i][k] + (1 - c.beta1) * gi;
    s.v[i][k] = c.beta2 * s.v[i][k] + (1 - c.beta2) * gi * gi;
    p.logits[i][k] += (c.lr * (s.m[i][k] / c1)) / (Math.sqrt(s.v[i][k] / c2) + c.eps);
  }));
}

/**
 * Moving-average reward baseline with bias correction (Adam-style), so the first rewards
 * are not pulled towards an arbitrary initial value: value = ema / (1 - momentum^steps).
 *
 * @inline
 */
export interface Baseline {
  ema: number;
  steps: number;
}

export function updateBaseline(b: Baseline, reward: number, momentum: number): number {
  b.ema = momentum * b.ema + (1 - momentum) * reward;
  b.steps++;
  return b.ema / (1 - momentum ** b.steps);
}

/** A number option in [min, max], with a default. */
export function numberOption(options: ControllerOptions, key: string, fallback: number, min = -Infinity, max = Infinity): number {
  const v = options[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new KilnError(`option '${key}' must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export function boolOption(options: ControllerOptions, key: string, fallback: boolean): boolean {
  const v = options[key] ?? fallback;
  if (typeof v !== 'boolean') throw new KilnError(`option '${key}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function choiceOption<T extends string>(options: ControllerOptions, key: string, fallback: T, choices: readonly T[]): T {
  const v = options[key] ?? fallback;
  if (typeof v !== 'string' || !choices.includes(v as T)) {
    throw new KilnError(`option '${key}' must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Adam options shared by the policy-gradient controllers, with per-controller defaults. */
export function adamOptions(options: ControllerOptions, defaults: AdamConfig): AdamConfig {
  return {
    lr: numberOption(options, 'lr', defaults.lr, 0),
    beta1: numberOption(options, 'adamBeta1', defaults.beta1, 0, 0.999999),
    beta2: numberOption(options, 'adamBeta2', defaults.beta2, 0, 0.999999),
    eps: numberOption(options, 'adamEps', defaults.eps, 0),
  };
}

/** The Adam options' declarations with one controller's defaults. */
export function adamOptionSpecs(defaults: AdamConfig): OptionSpec[] {
  return [
    { name: 'lr', type: 'number', default: defaults.lr, min: 0, description: 'Adam learning rate of the policy' },
    { name: 'adamBeta1', type: 'number', default: defaults.beta1, min: 0, max: 0.999999, description: 'Adam first-moment decay' },
    { name: 'adamBeta2', type: 'number', default: defaults.beta2, min: 0, max: 0.999999, description: 'Adam second-moment decay' },
    { name: 'adamEps', type: 'number', default: defaults.eps, min: 0, description: 'Adam epsilon' },
  ];
}

/** Policy-gradient snapshot: JSON-safe, so a resumed study continues exactly. */
export interface PolicySnapshot {
  rng: number;
  logits: number[][];
  adam: AdamState;
  baseline: Baseline;
}

export function isPolicySnapshot(s: unknown): s is PolicySnapshot {
  const st = s as Partial<PolicySnapshot>;
  return typeof st?.rng === 'number' && Array.isArray(st.logits) && typeof st.adam?.t === 'number' && typeof st.baseline?.steps === 'number';
}

/**
 * Draws from the policy until `ok` accepts the sample (NAS-Bench-101 cells can be invalid, a
 * table covers only its rows). After `limit` misses it draws from the policy conditioned on
 * the members of `pool` that pass `ok` (the same law as the rejection loop's), when there are any.
 */
export function sampleValid(
  probs: readonly (readonly number[])[], rng: Rng, ok: (a: Architecture) => boolean, what: string, limit = 100_000,
  pool?: readonly Architecture[],
): { arch: Architecture; tries: number } {
  for (let tries = 1; tries <= limit; tries++) {
    const arch = samplePolicy(probs, rng);
    if (ok(arch)) return { arch, tries };
  }
  const allowed = pool?.filter(ok) ?? [];
  if (allowed.length) return { arch: sampleAmong(probs, allowed, rng), tries: limit + 1 };
  throw new KilnError(`the policy drew ${limit} ${what} architectures in a row; loosen the constraints or lower the learning rate`);
}

/** One of `pool` (non-empty) with probability proportional to the policy's: the policy conditioned on the pool. */
export function sampleAmong(probs: readonly (readonly number[])[], pool: readonly Architecture[], rng: Rng): Architecture {
  const lp = pool.map((a) => logProb(probs, a));
  const top = lp.reduce((m, l) => Math.max(m, l), -Infinity);
  return pool[rng.categorical(lp.map((l) => Math.exp(l - top)))];
}

/**
 * The most likely architecture that passes `ok`: exact over `candidates` when the study
 * knows them (a table's rows), else the policy mode when it passes, else the most likely
 * of `draws` policy samples that pass.
 */
export function mostLikely(
  probs: readonly (readonly number[])[], ok: (a: Architecture) => boolean, rng: Rng,
  candidates?: readonly Architecture[], draws = 2000,
): Architecture | undefined {
  const pool = candidates ?? (() => {
    const mode = policyMode(probs);
    if (ok(mode)) return [mode];
    return Array.from({ length: draws }, () => samplePolicy(probs, rng));
  })();
  let best: Architecture | undefined;
  let bestLp = -Infinity;
  for (const a of pool) {
    const lp = logProb(probs, a);
    if (lp > bestLp && ok(a)) {
      best = a;
      bestLp = lp;
    }
  }
  return best;
}
