import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../backend/index.js';
import { KilnError } from '../core/index.js';
import { loadDataset, sample } from '../data/index.js';
import { MODEL_FILE, loadModel, logitsModel } from '../nn/index.js';
import { type AttackOptions, type Classifier, type ThreatNorm, attacks, perturbationNorms } from './attacks.js';
import './registry.js';

/** The pre-softmax scores of a Kiln (or any tfjs) classifier, as attacks need them. */
export function classifierOf(model: tf.LayersModel): Classifier {
  const logits = logitsModel(model);
  return (x) => logits.apply(x) as tf.Tensor2D;
}

export interface AttackEvaluation {
  n: number;
  cleanAccuracy: number;
  robustAccuracy: number;
  /** Largest perturbation norm seen (in the attack's norm), a check that the budget held. */
  maxNorm: number;
  /**
   * `keep` clean and adversarial images, flattened, for figures, with their labels and predictions: the first
   * the attack fooled, then (if fewer) the first others.
   */
  clean: Float32Array[];
  adversarial: Float32Array[];
  labels: number[];
  cleanPredictions: number[];
  adversarialPredictions: number[];
  /** A sequence's attacks in order (AutoAttack), over all batches: robust accuracy after each. */
  stages: { attack: string; robustAccuracy: number; seconds: number }[];
  seconds: number;
  /** The attack's warnings, once each, over all batches. */
  warnings: string[];
}

/**
 * Runs `attackName` over a dataset in batches. Robust accuracy counts an example as correct only
 * if it is classified correctly both clean and after the attack (the usual convention).
 */
export function evaluateAttack(model: Classifier, x: Float32Array, y: Int32Array, shape: number[], attackName: string,
  opts: AttackOptions, batchSize = 64, keep = 8, onBatch?: (done: number) => void): AttackEvaluation {
  const attack = attacks.get(attackName);
  const size = shape.reduce((a, b) => a * b, 1);
  const n = y.length;
  let cleanCorrect = 0;
  let robustCorrect = 0;
  let maxNorm = 0;
  // Examples for figures: those the attack fooled first (what a reader wants to see), then the others.
  type Example = { clean: Float32Array; adversarial: Float32Array; label: number; cleanPrediction: number; adversarialPrediction: number };
  const fooledExamples: Example[] = [];
  const otherExamples: Example[] = [];
  const stages = new Map<string, { robust: number; seconds: number }>();
  // Keyed by the warning's first clause: batches repeat a warning with their own figures; the last is kept.
  const warnings = new Map<string, string>();
  const t0 = performance.now();
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const xb = tf.tensor4d(x.subarray(start * size, end * size), [end - start, ...shape] as [number, number, number, number]);
    const yb = tf.tensor1d(y.subarray(start, end), 'int32');
    const { x: adv, z, warnings: said, stages: sequence } = attack.run(model, xb, yb, { ...opts, seed: (opts.seed ?? 0) + start });
    for (const w of said ?? []) warnings.set(w.split(':')[0], w);
    for (const st of sequence ?? []) {
      const sum = stages.get(st.attack) ?? { robust: 0, seconds: 0 };
      stages.set(st.attack, { robust: sum.robust + st.robust, seconds: sum.seconds + st.seconds });
    }
    const [cleanPred, advPred, norm] = tf.tidy(() => {
      const norms = perturbationNorms(adv.sub(xb) as tf.Tensor4D, attack.norm);
      return [model(xb).argMax(1), model(adv).argMax(1), norms.max()];
    });
    const c = cleanPred.dataSync();
    const a = advPred.dataSync();
    for (let i = 0; i < c.length; i++) {
      const ok = c[i] === y[start + i];
      cleanCorrect += ok ? 1 : 0;
      robustCorrect += ok && a[i] === y[start + i] ? 1 : 0;
    }
    maxNorm = Math.max(maxNorm, norm.dataSync()[0]);
    if (fooledExamples.length < keep) {
      const xs = xb.dataSync() as Float32Array;
      const as = adv.dataSync() as Float32Array;
      for (let i = 0; i < end - start; i++) {
        const wasFooled = c[i] === y[start + i] && a[i] !== y[start + i];
        const into = wasFooled ? fooledExamples : otherExamples;
        if (into.length >= keep) continue;
        into.push({ clean: xs.slice(i * size, (i + 1) * size), adversarial: as.slice(i * size, (i + 1) * size),
          label: y[start + i], cleanPrediction: c[i], adversarialPrediction: a[i] });
      }
    }
    tf.dispose([xb, yb, adv, z, cleanPred, advPred, norm].filter((t): t is tf.Tensor => t !== undefined));
    onBatch?.(end);
  }
  const examples = [...fooledExamples, ...otherExamples].slice(0, keep);
  return { n, cleanAccuracy: cleanCorrect / n, robustAccuracy: robustCorrect / n, maxNorm,
    clean: examples.map((e) => e.clean), adversarial: examples.map((e) => e.adversarial), labels: examples.map((e) => e.label),
    cleanPredictions: examples.map((e) => e.cleanPrediction), adversarialPredictions: examples.map((e) => e.adversarialPrediction),
    stages: [...stages].map(([attack, st]) => ({ attack, robustAccuracy: st.robust / n, seconds: st.seconds })),
    seconds: (performance.now() - t0) / 1000, warnings: [...warnings.values()] };
}

export interface SavedModelAttack {
  /** model.json (or its folder) of a saved tfjs classifier. */
  model: string;
  /** A registered image dataset with pixels in [0, 1]. */
  dataset: string;
  attack: string;
  options: AttackOptions;
  /** Images attacked: a seeded sample of the dataset (seed `options.seed`). */
  n: number;
  batchSize: number;
  /** Further budgets to run the same attack at, on the same images, for the robust-accuracy curve. */
  curve?: number[];
  /** `stage` names the run in progress: 'eps 0.1' for the main budget and each budget of the curve. */
  onProgress?: (done: number, total: number, stage: string) => void;
}

/**
 * The claim record of a robustness evaluation (attack.json): what was attacked, under which threat
 * model and attack settings, and what came out, so that others can compare or rerun it.
 */
export interface AttackRecord {
  model: string;
  /** SHA-256 of model.json followed by its weight files: names the exact model evaluated. */
  modelSha256: string;
  dataset: string;
  /** Images attacked: a seeded sample of the dataset's images. */
  n: number;
  sampleSeed: number;
  threatModel: { norm: ThreatNorm; eps: number; pixelRange: [number, number] };
  attack: string;
  /** The options the attack ran with, given or at their defaults (its settings listed by kiln attack --list). */
  options: Record<string, unknown>;
  cleanAccuracy: number;
  robustAccuracy: number;
  /** A sequence's attacks in order (AutoAttack), robust accuracy after each. */
  stages: { attack: string; robustAccuracy: number; seconds: number }[];
  /** Robust accuracy at each budget run, eps 0 being clean accuracy. */
  curve: { eps: number; robustAccuracy: number }[];
  maxPerturbation: number;
  seconds: number;
  imagesPerSecond: number;
  backend: string;
  warnings: string[];
  date: string;
}

export interface SavedModelAttackResult {
  summary: AttackRecord;
  evaluation: AttackEvaluation;
  /** Image shape [h, w, c] of the dataset. */
  shape: number[];
}

/** SHA-256 of a saved model: model.json (architecture) then the weight files its manifest lists, in order. */
export function modelSha256(model: string): string {
  const file = fs.statSync(model).isDirectory() ? path.join(model, MODEL_FILE) : model;
  const hash = crypto.createHash('sha256').update(fs.readFileSync(file));
  const manifest = (JSON.parse(fs.readFileSync(file, 'utf8')) as { weightsManifest?: { paths: string[] }[] }).weightsManifest ?? [];
  for (const group of manifest) for (const p of group.paths) hash.update(fs.readFileSync(path.join(path.dirname(file), p)));
  return hash.digest('hex');
}

/** `kiln attack`: loads a saved classifier and a dataset sample, checks they fit, and evaluates the attack. */
export async function attackSavedModel(job: SavedModelAttack): Promise<SavedModelAttackResult> {
  const attack = attacks.get(job.attack);
  if (attack.needsManifold) {
    throw new KilnError(`'${job.attack}' needs a latent model of the data; use it through 'kiln experiment excusable'`);
  }
  const model = await loadModel(job.model);
  let data = loadDataset(job.dataset);
  if (data.shape.length !== 3) throw new KilnError(`attacks need an image dataset with pixels in [0, 1]; '${job.dataset}' is tabular`);
  const inputShape = model.inputs[0].shape.slice(1);
  if (inputShape.join('x') !== data.shape.join('x')) {
    throw new KilnError(`the model takes inputs of shape ${inputShape.join('x')} but ${job.dataset} images are ${data.shape.join('x')}`);
  }
  const sampleSeed = job.options.seed ?? 0;
  data = sample(data, job.n, sampleSeed, { exact: true });
  const total = data.y.length;
  const classifier = classifierOf(model);
  const run = (eps: number, keep: number) => evaluateAttack(classifier, data.x, data.y, data.shape, job.attack, { ...job.options, eps }, job.batchSize, keep,
    (done) => job.onProgress?.(done, total, `eps ${eps}`));
  const evaluation = run(job.options.eps, 8);
  const curve = [{ eps: 0, robustAccuracy: evaluation.cleanAccuracy }, { eps: job.options.eps, robustAccuracy: evaluation.robustAccuracy }];
  for (const eps of job.curve ?? []) {
    if (eps === 0 || eps === job.options.eps) continue;
    curve.push({ eps, robustAccuracy: run(eps, 0).robustAccuracy });
  }
  curve.sort((a, b) => a.eps - b.eps);
  // The settings the attack reads, given or defaulted: the record must say what ran.
  const given = job.options as unknown as Record<string, unknown>;
  const options = Object.fromEntries(attack.options.map((o) => [o.name, given[o.name] ?? o.default]).filter(([, v]) => v !== undefined));
  return {
    summary: {
      model: job.model, modelSha256: modelSha256(job.model), dataset: job.dataset, n: evaluation.n, sampleSeed,
      threatModel: { norm: attack.norm, eps: job.options.eps, pixelRange: [0, 1] }, attack: job.attack,
      options,
      cleanAccuracy: evaluation.cleanAccuracy, robustAccuracy: evaluation.robustAccuracy, stages: evaluation.stages, curve,
      maxPerturbation: evaluation.maxNorm, seconds: evaluation.seconds, imagesPerSecond: evaluation.n / evaluation.seconds,
      backend: tf.getBackend(), warnings: evaluation.warnings, date: new Date().toISOString(),
    },
    evaluation,
    shape: data.shape,
  };
}
