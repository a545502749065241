import { PNG } from 'pngjs';

/**
 * A PNG grid of images in [0, 1] (grey, or RGB with `channels` 3, channels last): one row per entry
 * of `rows`, images side by side with a 2-pixel gap, each pixel scaled up `zoom` times so 28x28
 * digits stay readable in a report.
 */
export function imageGridPng(rows: Float32Array[][], size: number, zoom = 3, channels = 1): Buffer {
  const cols = Math.max(...rows.map((r) => r.length));
  const gap = 2;
  const cell = size * zoom + gap;
  const png = new PNG({ width: cols * cell + gap, height: rows.length * cell + gap });
  png.data.fill(255);
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  rows.forEach((row, r) => {
    row.forEach((img, c) => {
      for (let i = 0; i < size * zoom; i++) {
        for (let j = 0; j < size * zoom; j++) {
          const px = (Math.floor(i / zoom) * size + Math.floor(j / zoom)) * channels;
          const at = ((r * cell + gap + i) * png.width + c * cell + gap + j) * 4;
          for (let k = 0; k < 3; k++) png.data[at + k] = byte(img[px + (channels === 3 ? k : 0)]);
          png.data[at + 3] = 255;
        }
      }
    });
  });
  return PNG.sync.write(png);
}

/** A perturbation as an image: grey is no change, white and black the largest change up and down. */
export function perturbationImage(clean: Float32Array, adversarial: Float32Array): Float32Array {
  let largest = 0;
  for (let i = 0; i < clean.length; i++) largest = Math.max(largest, Math.abs(adversarial[i] - clean[i]));
  return Float32Array.from(clean, (v, i) => 0.5 + (largest > 0 ? (0.5 * (adversarial[i] - v)) / largest : 0));
}
