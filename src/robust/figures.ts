import { PNG } from 'pngjs';

/**
 * A PNG grid of grayscale images in [0, 1]: one row per entry of `rows`, images side by side with
 * a 2-pixel gap, each pixel scaled up `zoom` times so 28x28 digits stay readable in a report.
 */
export function imageGridPng(rows: Float32Array[][], size: number, zoom = 3): Buffer {
  const cols = Math.max(...rows.map((r) => r.length));
  const gap = 2;
  const cell = size * zoom + gap;
  const png = new PNG({ width: cols * cell + gap, height: rows.length * cell + gap });
  png.data.fill(255);
  rows.forEach((row, r) => {
    row.forEach((img, c) => {
      for (let i = 0; i < size * zoom; i++) {
        for (let j = 0; j < size * zoom; j++) {
          const v = img[Math.floor(i / zoom) * size + Math.floor(j / zoom)];
          const g = Math.round(255 * Math.min(1, Math.max(0, v)));
          const at = ((r * cell + gap + i) * png.width + c * cell + gap + j) * 4;
          png.data[at] = png.data[at + 1] = png.data[at + 2] = g;
          png.data[at + 3] = 255;
        }
      }
    });
  });
  return PNG.sync.write(png);
}
