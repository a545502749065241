import { check, createRng } from '../core/index.js';

/**
 * A labelled classification dataset held in one flat Float32Array, row-major: example i occupies
 * x[i * size .. (i + 1) * size) where size is the product of `shape`.
 */
export interface Dataset {
  name: string;
  x: Float32Array;
  /** Shape of one example: [features] for tabular sets, [height, width, channels] for images. */
  shape: number[];
  /** Class index of each example, in [0, classNames.length). */
  y: Int32Array;
  classNames: string[];
  /** Column names of a tabular set; empty for images. */
  featureNames: string[];
}

export interface Splits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
}

export interface SplitOptions {
  /** Fractions of each class held out for validation and test. */
  val?: number;
  test?: number;
  seed?: number;
}

export function exampleSize(ds: Dataset): number {
  return ds.shape.reduce((a, b) => a * b, 1);
}

export function numExamples(ds: Dataset): number {
  return ds.y.length;
}

/** The examples at `indices`, in that order. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const size = exampleSize(ds);
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    x.set(ds.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = ds.y[i];
  }
  return { ...ds, name, x, y };
}

/**
 * Seeded, stratified split: each class is shuffled and cut in the same proportions, so small
 * sets keep every class in every part. Each part is then shuffled so classes are interleaved.
 */
export function splitDataset(ds: Dataset, opts: SplitOptions = {}): Splits {
  const valFrac = opts.val ?? 0.15;
  const testFrac = opts.test ?? 0.15;
  check(valFrac >= 0 && testFrac >= 0 && valFrac + testFrac < 1,
    `split fractions must be >= 0 and sum below 1 (val ${valFrac}, test ${testFrac})`);
  const rng = createRng(opts.seed ?? 0);
  const byClass: number[][] = ds.classNames.map(() => []);
  ds.y.forEach((c, i) => byClass[c].push(i));
  const parts: Record<keyof Splits, number[]> = { train: [], val: [], test: [] };
  for (const members of byClass) {
    rng.shuffle(members);
    const nTest = Math.round(members.length * testFrac);
    const nVal = Math.round(members.length * valFrac);
    parts.test.push(...members.slice(0, nTest));
    parts.val.push(...members.slice(nTest, nTest + nVal));
    parts.train.push(...members.slice(nTest + nVal));
  }
  return {
    train: subset(ds, rng.shuffle(parts.train), `${ds.name}/train`),
    val: subset(ds, rng.shuffle(parts.val), `${ds.name}/val`),
    test: subset(ds, rng.shuffle(parts.test), `${ds.name}/test`),
  };
}

/** A seeded stratified sample of about `n` examples (all of them when n >= size). */
export function sample(ds: Dataset, n: number, seed = 0, opts: { exact?: boolean } = {}): Dataset {
  if (n >= numExamples(ds)) return ds;
  check(n > 0, `sample size must be positive (got ${n})`);
  const keep = n / numExamples(ds);
  const stratified = { ...splitDataset(ds, { val: 0, test: keep, seed }).test, name: ds.name };
  if (!opts.exact || numExamples(stratified) === n) return stratified;
  // Per-class rounding misses n (4 of 10 classes round to 0 each): take exactly n, seeded, in class
  // rotation, so every class is represented as evenly as n allows.
  const rng = createRng(seed);
  const byClass = new Map<number, number[]>();
  for (const i of rng.shuffle(Array.from({ length: numExamples(ds) }, (_, i) => i))) {
    const members = byClass.get(ds.y[i]) ?? [];
    members.push(i);
    byClass.set(ds.y[i], members);
  }
  const queues = [...byClass.values()];
  const picked: number[] = [];
  for (let round = 0; picked.length < n; round++) {
    for (const q of queues) if (round < q.length && picked.length < n) picked.push(q[round]);
  }
  return subset(ds, picked);
}

/** Per-feature mean and standard deviation, fitted on a training set and applied to every split. */
export interface Standardizer {
  mean: number[];
  std: number[];
}

/**
 * Per-feature mean and standard deviation of `train` (a constant feature gets scale 1). Fit it on the
 * training split only, then `standardize` every split with it.
 */
export function fitStandardizer(train: Dataset): Standardizer {
  const size = exampleSize(train);
  const n = numExamples(train);
  check(n > 0, `cannot fit a standardizer on the empty dataset '${train.name}'`);
  const mean = new Array<number>(size).fill(0);
  const sq = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < size; j++) mean[j] += train.x[i * size + j];
  }
  for (let j = 0; j < size; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < size; j++) sq[j] += (train.x[i * size + j] - mean[j]) ** 2;
  }
  // A constant feature (a border pixel that is always 0) keeps scale 1 instead of dividing by 0.
  const std = sq.map((s) => Math.sqrt(s / n) || 1);
  return { mean, std };
}

/** A copy of `ds` with every feature mapped to (x - mean) / std. */
export function standardize(ds: Dataset, s: Standardizer): Dataset {
  const size = exampleSize(ds);
  check(s.mean.length === size && s.std.length === size,
    `standardizer has ${s.mean.length} features but '${ds.name}' has ${size}`);
  const x = new Float32Array(ds.x.length);
  for (let i = 0; i < ds.x.length; i++) {
    const j = i % size;
    x[i] = (ds.x[i] - s.mean[j]) / s.std[j];
  }
  return { ...ds, x };
}

/**
 * Tabular splits standardized with the training split's statistics, which are returned so a saved
 * model can be fed the same way later; image splits are left as they are (standardizer null).
 */
export function standardizeSplits(sp: Splits): { splits: Splits; standardizer: Standardizer | null } {
  if (sp.train.shape.length > 1) return { splits: sp, standardizer: null };
  const s = fitStandardizer(sp.train);
  return { splits: { train: standardize(sp.train, s), val: standardize(sp.val, s), test: standardize(sp.test, s) }, standardizer: s };
}

/** The seeded stratified split searches train and score on, standardized as `standardizeSplits` does. */
export function searchSplits(ds: Dataset, seed: number): Splits {
  return standardizeSplits(splitDataset(ds, { seed })).splits;
}
