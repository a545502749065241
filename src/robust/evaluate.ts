import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../backend/index.js';
import { KilnError } from '../core/index.js';
import { loadDataset, sample } from '../data/index.js';
import { loadModel, logitsModel } from '../nn/index.js';
import { type AttackOptions, type Classifier, type ThreatNorm, attacks, perturbationNorms } from './attacks.js';
import { imageGridPng } from './figures.js';
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
  /** The first `keep` clean and adversarial images, flattened, for figures. */
  clean: Float32Array[];
  adversarial: Float32Array[];
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
  const clean: Float32Array[] = [];
  const adversarial: Float32Array[] = [];
  // Keyed by the warning's first clause: batches repeat a warning with their own figures; the last is kept.
  const warnings = new Map<string, string>();
  const t0 = performance.now();
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const xb = tf.tensor4d(x.subarray(start * size, end * size), [end - start, ...shape] as [number, number, number, number]);
    const yb = tf.tensor1d(y.subarray(start, end), 'int32');
    const { x: adv, z, warnings: said } = attack.run(model, xb, yb, { ...opts, seed: (opts.seed ?? 0) + start });
    for (const w of said ?? []) warnings.set(w.split(':')[0], w);
    const [cleanOk, advOk, norm] = tf.tidy(() => {
      const norms = perturbationNorms(adv.sub(xb) as tf.Tensor4D, attack.norm);
      return [model(xb).argMax(1).equal(yb), model(adv).argMax(1).equal(yb), norms.max()];
    });
    const c = cleanOk.dataSync();
    const a = advOk.dataSync();
    for (let i = 0; i < c.length; i++) {
      cleanCorrect += c[i];
      robustCorrect += c[i] && a[i] ? 1 : 0;
    }
    maxNorm = Math.max(maxNorm, norm.dataSync()[0]);
    if (clean.length < keep) {
      const xs = xb.dataSync() as Float32Array;
      const as = adv.dataSync() as Float32Array;
      for (let i = 0; i < end - start && clean.length < keep; i++) {
        clean.push(xs.slice(i * size, (i + 1) * size));
        adversarial.push(as.slice(i * size, (i + 1) * size));
      }
    }
    tf.dispose([xb, yb, adv, z, cleanOk, advOk, norm].filter((t): t is tf.Tensor => t !== undefined));
    onBatch?.(end);
  }
  return { n, cleanAccuracy: cleanCorrect / n, robustAccuracy: robustCorrect / n, maxNorm, clean, adversarial,
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
  onProgress?: (done: number, total: number) => void;
}

export interface SavedModelAttackResult {
  summary: {
    model: string; dataset: string; attack: string; norm: ThreatNorm; eps: number; n: number;
    cleanAccuracy: number; robustAccuracy: number; maxPerturbation: number; imagesPerSecond: number; warnings: string[];
  };
  evaluation: AttackEvaluation;
  /** Image shape [h, w, c] of the dataset. */
  shape: number[];
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
  data = sample(data, job.n, job.options.seed ?? 0, { exact: true });
  const total = data.y.length;
  const evaluation = evaluateAttack(classifierOf(model), data.x, data.y, data.shape, job.attack, job.options, job.batchSize, 8,
    (done) => job.onProgress?.(done, total));
  return {
    summary: {
      model: job.model, dataset: job.dataset, attack: job.attack, norm: attack.norm, eps: job.options.eps, n: evaluation.n,
      cleanAccuracy: evaluation.cleanAccuracy, robustAccuracy: evaluation.robustAccuracy, maxPerturbation: evaluation.maxNorm,
      imagesPerSecond: evaluation.n / evaluation.seconds, warnings: evaluation.warnings,
    },
    evaluation,
    shape: data.shape,
  };
}

/** Writes attack.json, and examples.png (clean row over adversarial row) for grey images; returns the files written. */
export function writeAttackFiles(dir: string, r: SavedModelAttackResult): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = [path.join(dir, 'attack.json')];
  fs.writeFileSync(files[0], JSON.stringify(r.summary, null, 1) + '\n');
  if (r.shape[2] === 1) {
    files.push(path.join(dir, 'examples.png'));
    fs.writeFileSync(files[1], imageGridPng([r.evaluation.clean, r.evaluation.adversarial], r.shape[0], 3));
  }
  return files;
}
