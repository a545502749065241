/**
 * Datasets: the `Dataset` type (examples in one flat Float32Array, integer labels), seeded stratified
 * splits and samples, standardization, CSV loading, the built-in registry (`iris`, `wine`,
 * `breast_cancer`, `digits`, `mnist`, `fashion-mnist`) and StoryBench task files.
 *
 * @module kiln/data
 */
export {
  type Dataset, type Splits, type SplitOptions, type Standardizer,
  exampleSize, numExamples, subset, splitDataset, sample, fitStandardizer, standardize, standardizeSplits, searchSplits,
} from './dataset.js';
export { loadCsv, parseCsv, type CsvOptions, type CsvRecord } from './csv.js';
export { loadMnist, loadFashionMnist, fashionMnistDir } from './images.js';
export { datasets, loadDataset, type DatasetLoader } from './registry.js';
export { TASKS, type TaskName, type TaskItem, type TaskLayout, validateTaskItem, parseTaskFile, loadTaskFile, taskLayout } from './storybench-tasks.js';
