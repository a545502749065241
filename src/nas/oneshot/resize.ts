import { tf } from '../../backend/index.js';
import { numExamples, type Dataset, type Splits } from '../../data/index.js';

/**
 * Image datasets at another input resolution (bilinear, in chunks). A BigNAS child built for
 * r x r inputs must also be scored on r x r images: its layers accept any size (global pooling),
 * so feeding it full-size images would silently evaluate a different network.
 */
export function atResolution(ds: Dataset, side: number, chunk = 512): Dataset {
  const [h, w, c] = ds.shape;
  if (ds.shape.length !== 3 || (h === side && w === side)) return ds;
  const n = numExamples(ds);
  const x = new Float32Array(n * side * side * c);
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const out = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(ds.x.subarray(start * h * w * c, end * h * w * c), [end - start, h, w, c]), [side, side]));
    x.set(out.dataSync() as Float32Array, start * side * side * c);
    out.dispose();
  }
  return { ...ds, name: `${ds.name}@${side}`, x, shape: [side, side, c] };
}

const cache = new WeakMap<Splits, Map<number, Splits>>();

/** Every split at `side` x `side`, memoized per side for a given splits object. */
export function splitsAtResolution(splits: Splits, side: number): Splits {
  let bySide = cache.get(splits);
  if (!bySide) cache.set(splits, (bySide = new Map()));
  let s = bySide.get(side);
  if (!s) bySide.set(side, (s = { train: atResolution(splits.train, side), val: atResolution(splits.val, side), test: atResolution(splits.test, side) }));
  return s;
}

/** The input side a model was built for. */
export function inputSide(model: tf.LayersModel): number {
  return model.inputs[0].shape[1]!;
}
