import fs from 'node:fs';
import path from 'node:path';
import { datasets, fashionMnistDir, loadDataset, sample, splitDataset, type Splits } from '../src/data/index.js';

/** Seeded train/val/test splits of a Fashion-MNIST subsample, or MNIST when Debian's package is absent. */
export function imageBenchSplits(subsample: number): { name: string; splits: Splits } {
  const fashion = fs.existsSync(path.join(fashionMnistDir(), 'train-images-idx3-ubyte.gz')) && datasets.has('fashion-mnist');
  const name = fashion ? 'fashion-mnist' : 'mnist';
  return { name, splits: splitDataset(sample(loadDataset(name), subsample, 0), { seed: 0 }) };
}
