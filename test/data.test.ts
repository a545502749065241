import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../src/core/index.js';
import {
  datasets, fashionMnistDir, fitStandardizer, loadCsv, loadDataset, numExamples, sample, parseCsv,
  splitDataset, standardize, type Dataset,
} from '../src/data/index.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-data-');

function csvFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

function assertKilnError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KilnError, `expected a KilnError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'message must be one line');
    return true;
  });
}

test('loadCsv reads numeric features and maps a string target to sorted classes', () => {
  const file = csvFile('ok.csv', 'a,b,kind\n1,2,cat\n3,4.5,dog\n-1,0,cat\n\n');
  const ds = loadCsv(file, { target: 'kind' });
  assert.deepEqual(ds.shape, [2]);
  assert.deepEqual(ds.featureNames, ['a', 'b']);
  assert.deepEqual(ds.classNames, ['cat', 'dog']);
  assert.deepEqual([...ds.y], [0, 1, 0]);
  assert.deepEqual([...ds.x], [1, 2, 3, 4.5, -1, 0]);
});

test('loadCsv takes the last column as target by default, wherever it sits otherwise', () => {
  const file = csvFile('mid.csv', 'label,x,y\n10,1,2\n2,3,4\n');
  assert.deepEqual(loadCsv(file).featureNames, ['label', 'x']);
  const ds = loadCsv(file, { target: 'label' });
  assert.deepEqual(ds.featureNames, ['x', 'y']);
  assert.deepEqual(ds.classNames, ['2', '10'], 'numeric classes sort numerically');
  assert.deepEqual([...ds.y], [1, 0]);
});

test('parseCsv honours quotes, quoted line breaks and line numbers', () => {
  assert.deepEqual(parseCsv('1, "a,b" ,"say ""hi"""')[0].cells, ['1', 'a,b', 'say "hi"']);
  assert.deepEqual(parseCsv('h1,h2\r\n\n"x\ny",2\n3,4\n'), [
    { line: 1, cells: ['h1', 'h2'] },
    { line: 3, cells: ['x\ny', '2'] },
    { line: 5, cells: ['3', '4'] },
  ]);
});

test('loadCsv errors are one-line KilnErrors naming the problem', () => {
  assertKilnError(() => loadCsv(path.join(tmp, 'nope.csv')), /CSV file not found: .*nope\.csv/);
  assertKilnError(() => loadCsv(csvFile('empty.csv', '\n  \n')), /CSV file is empty/);
  assertKilnError(() => loadCsv(csvFile('header.csv', 'a,b,t\n')), /header but no data rows/);
  assertKilnError(() => loadCsv(csvFile('ragged.csv', 'a,b,t\n1,2,x\n1,2,x\n3,y\n')), /line 4: expected 3 columns .* found 2/);
  assertKilnError(() => loadCsv(csvFile('text.csv', 'a,b,t\n1,2,x\n1,abc,y\n')), /line 3, column 'b': 'abc' is not a number/);
  assertKilnError(() => loadCsv(csvFile('nan.csv', 'a,b,t\n1,NaN,x\n')), /line 2, column 'b': missing value \(NaN\)/);
  assertKilnError(() => loadCsv(csvFile('blank.csv', 'a,b,t\n1,,x\n')), /line 2, column 'b': missing value/);
  assertKilnError(() => loadCsv(csvFile('target.csv', 'a,b,t\n1,2,x\n'), { target: 'class' }),
    /no target column 'class' \(columns: a, b, t\)/);
  assertKilnError(() => loadCsv(csvFile('one.csv', 'a,t\n1,x\n2,x\n')), /only one class/);
});

function toyDataset(perClass: number[]): Dataset {
  const y = Int32Array.from(perClass.flatMap((n, c) => Array<number>(n).fill(c)));
  const x = Float32Array.from({ length: y.length * 2 }, (_, i) => (i % 2 ? i : y[i >> 1] * 10));
  return { name: 'toy', x, shape: [2], y, classNames: perClass.map((_, c) => `c${c}`), featureNames: ['p', 'q'] };
}

test('splitDataset is seeded, stratified and disjoint', () => {
  const ds = toyDataset([60, 40]);
  const a = splitDataset(ds, { val: 0.2, test: 0.25, seed: 3 });
  const b = splitDataset(ds, { val: 0.2, test: 0.25, seed: 3 });
  const c = splitDataset(ds, { val: 0.2, test: 0.25, seed: 4 });
  assert.deepEqual([...a.train.x], [...b.train.x]);
  assert.notDeepEqual([...a.train.x], [...c.train.x]);
  const count = (d: Dataset, k: number) => d.y.filter((v) => v === k).length;
  assert.deepEqual([count(a.test, 0), count(a.test, 1)], [15, 10]);
  assert.deepEqual([count(a.val, 0), count(a.val, 1)], [12, 8]);
  assert.equal(numExamples(a.train) + numExamples(a.val) + numExamples(a.test), 100);
  // Feature q holds each example's unique index: no example may appear in two parts.
  const ids = [a.train, a.val, a.test].flatMap((d) => [...d.x].filter((_, i) => i % 2));
  assert.equal(new Set(ids).size, 100);
  assert.equal(numExamples(sample(ds, 20, 1)), 20);
});

test('the standardizer is fitted on train only and applied to other splits', () => {
  const ds = toyDataset([50, 50]);
  const { train, test } = splitDataset(ds, { seed: 1 });
  const s = fitStandardizer(train);
  const z = standardize(train, s);
  for (let j = 0; j < 2; j++) {
    const col = [...z.x].filter((_, i) => i % 2 === j);
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length;
    assert.ok(Math.abs(m) < 1e-5 && Math.abs(v - 1) < 1e-4, `feature ${j}: mean ${m}, var ${v}`);
  }
  const zt = standardize(test, s);
  assert.ok(Math.abs(zt.x[0] - (test.x[0] - s.mean[0]) / s.std[0]) < 1e-6);
  const constant: Dataset = { ...ds, x: new Float32Array(ds.x.length).fill(3) };
  assert.deepEqual(fitStandardizer(constant).std, [1, 1], 'constant features keep scale 1');
});

test('every registered tabular dataset loads with its documented size', () => {
  const expected: Record<string, [number, number, number]> = {
    iris: [150, 4, 3], wine: [178, 13, 3], breast_cancer: [569, 30, 2], digits: [1797, 64, 10],
  };
  for (const [name, [n, f, c]] of Object.entries(expected)) {
    assert.ok(datasets.has(name));
    const ds = loadDataset(name);
    assert.deepEqual([numExamples(ds), ds.shape[0], ds.classNames.length], [n, f, c], name);
    assert.equal(ds.featureNames.length, f);
    assert.ok(ds.x.every(Number.isFinite));
  }
  assert.deepEqual(loadDataset('iris').classNames, ['setosa', 'versicolor', 'virginica']);
});

test('mnist gives 10,000 28x28x1 images in [0, 1] with all ten digits', () => {
  const ds = loadDataset('mnist');
  assert.deepEqual(ds.shape, [28, 28, 1]);
  assert.equal(numExamples(ds), 10000);
  assert.equal(ds.x.length, 10000 * 784);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of ds.x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  assert.equal(lo, 0);
  assert.ok(hi <= 1 && hi > 0.9);
  assert.deepEqual(new Set(ds.y).size, 10);
});

test('fashion-mnist loads when installed and says how to install it when not', () => {
  if (fs.existsSync(path.join(fashionMnistDir(), 't10k-labels-idx1-ubyte.gz'))) {
    const ds = loadDataset('fashion-mnist');
    assert.deepEqual([numExamples(ds), ...ds.shape], [70000, 28, 28, 1]);
    assert.equal(ds.classNames[9], 'Ankle boot');
  }
  const saved = process.env.KILN_FASHION_MNIST_DIR;
  process.env.KILN_FASHION_MNIST_DIR = path.join(tmp, 'absent');
  try {
    assertKilnError(() => loadDataset('fashion-mnist'), /apt-get install dataset-fashion-mnist/);
  } finally {
    if (saved === undefined) delete process.env.KILN_FASHION_MNIST_DIR;
    else process.env.KILN_FASHION_MNIST_DIR = saved;
  }
});

test('loadDataset takes a CSV path and rejects unknown names with the list', () => {
  const file = csvFile('user.csv', 'x,t\n1,a\n2,b\n');
  assert.equal(numExamples(loadDataset(file)), 2);
  assertKilnError(() => loadDataset('imagenet'), /unknown dataset 'imagenet' \(known: iris, .*mnist.*\.csv file\)/);
});
