import { tf } from '../backend/index.js';
import { logitsModel } from '../nn/index.js';
import { type AttackOptions, type Classifier, attacks } from './attacks.js';
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
  const t0 = performance.now();
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const xb = tf.tensor4d(x.subarray(start * size, end * size), [end - start, ...shape] as [number, number, number, number]);
    const yb = tf.tensor1d(y.subarray(start, end), 'int32');
    const { x: adv, z } = attack.run(model, xb, yb, { ...opts, seed: (opts.seed ?? 0) + start });
    const [cleanOk, advOk, norm] = tf.tidy(() => {
      const delta = adv.sub(xb);
      const norms = attack.norm === 'linf' ? delta.abs().max([1, 2, 3]) : delta.square().sum([1, 2, 3]).sqrt();
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
    seconds: (performance.now() - t0) / 1000 };
}
