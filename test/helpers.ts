/** Helpers several test files share. */
import { Command } from 'commander';
import { createRng } from '../src/core/index.js';
import type { Dataset } from '../src/data/index.js';
import type { DetectionImage } from '../src/detect/index.js';

/** Gaussian blobs, one per class, in `dims` dimensions: learnable in a few dozen steps. */
export function blobs(n: number, dims: number, classes: number, seed: number, shape = [dims]): Dataset {
  const rng = createRng(seed);
  const x = new Float32Array(n * dims);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let d = 0; d < dims; d++) x[i * dims + d] = (d % classes === y[i] ? 1.5 : 0) + rng.normal() * 0.5;
  }
  return { name: 'blobs', x, shape, y, classNames: Array.from({ length: classes }, (_, c) => `c${c}`), featureNames: [] };
}

/** Runs `kiln ...args` in-process on the given command registrations and returns what it printed on stdout. */
export async function runCommands(registers: ((program: Command) => void)[], args: string[]): Promise<string> {
  const program = new Command('kiln').exitOverride();
  for (const register of registers) register(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  // The CLI prints strings; the test runner's own protocol goes through as bytes and must pass.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write(chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'kiln', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

/** `n` black side x side images with one white square of side 8-14 each (category 7), boxed exactly. */
export function squareImages(n: number, seed: number, side = 32): DetectionImage[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const s = 8 + rng.int(7);
    const x = rng.int(side - s + 1);
    const y = rng.int(side - s + 1);
    const pixels = new Float32Array(side * side * 3);
    for (let r = y; r < y + s; r++) for (let c = x; c < x + s; c++) pixels.fill(1, (r * side + c) * 3, (r * side + c) * 3 + 3);
    return { id: i + 1, width: side, height: side, pixels, boxes: [[x, y, s, s]], categoryIds: [7] };
  });
}
