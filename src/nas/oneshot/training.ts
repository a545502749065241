import { createRng, type Rng } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import { numExamples, type Dataset } from '../../data/index.js';
import { batchTensors, classificationLoss, countCorrect } from '../../train/index.js';
import type { Architecture } from '../space/index.js';
import type { ForwardOptions, Supernet } from './supernet.js';

/** Endless seeded mini-batches: reshuffles after every pass; its state makes a resume exact. */
export interface BatchStream {
  next(size: number): { x: tf.Tensor; y: tf.Tensor1D };
  state(): { rng: number; order: number[]; at: number };
  restore(s: { rng: number; order: number[]; at: number }): void;
}

export function batchStream(ds: Dataset, seed: number): BatchStream {
  const rng: Rng = createRng(seed);
  const n = numExamples(ds);
  let order: number[] = [];
  let at = n;
  return {
    next(size) {
      const idx: number[] = [];
      while (idx.length < size) {
        if (at >= n) {
          order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
          at = 0;
        }
        idx.push(order[at++]);
      }
      return batchTensors(ds, idx, 0, idx.length);
    },
    state: () => ({ rng: rng.state(), order: [...order], at }),
    restore(s) {
      rng.restore(s.rng);
      order = [...s.order];
      at = s.at;
    },
  };
}

/** How a child's quality is read from a batch: accuracy, or exp(-cross-entropy) (smooth, also in [0, 1]). */
export type Quality = 'accuracy' | 'likelihood';
export const QUALITIES: readonly Quality[] = ['accuracy', 'likelihood'];

export function childQuality(net: Supernet, a: Architecture, x: tf.Tensor, y: tf.Tensor1D, kind: Quality, opts: ForwardOptions = {}): number {
  const v = tf.tidy(() => {
    const logits = net.logits(x, a, opts);
    return kind === 'accuracy' ? tf.div(countCorrect(logits, y), y.shape[0]) : tf.exp(tf.neg(classificationLoss(logits, y)));
  });
  const q = v.dataSync()[0];
  v.dispose();
  return q;
}

/** The training loss of the shared weights through child `a` on a batch (forward in training mode). */
export function supernetLoss(net: Supernet, a: Architecture, x: tf.Tensor, y: tf.Tensor1D, opts: ForwardOptions = {}): tf.Scalar {
  return classificationLoss(net.logits(x, a, { training: true, ...opts }), y);
}

/** One SGD step of the shared weights on child `a`; returns the batch loss. */
export function supernetStep(net: Supernet, optimizer: tf.Optimizer, a: Architecture, x: tf.Tensor, y: tf.Tensor1D, opts: ForwardOptions = {}): number {
  const loss = optimizer.minimize(() => supernetLoss(net, a, x, y, opts), true, net.variables)!;
  const v = loss.dataSync()[0];
  loss.dispose();
  return v;
}
