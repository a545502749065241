import { check } from '../../core/index.js';

/**
 * SSD's anchor grid (Liu et al. 2016; the TF Object Detection API's multiple-grid anchor
 * generator): feature map k of m gets scale s_k = min + (max - min) k / (m - 1); each cell gets
 * one anchor per aspect ratio r (width s sqrt(r), height s / sqrt(r)) plus one of scale
 * sqrt(s_k s_{k+1}) at ratio 1 (s_m = 1). Anchors are centre-size and normalized to the image,
 * ordered map by map, then row, column, anchor: the order of the heads' reshaped outputs.
 */
export interface AnchorOptions {
  minScale: number;
  maxScale: number;
  aspectRatios: number[];
}

export const DEFAULT_ANCHORS: AnchorOptions = { minScale: 0.2, maxScale: 0.9, aspectRatios: [1, 2, 0.5] };

export function checkAnchorOptions(o: AnchorOptions): void {
  check(o.minScale > 0 && o.minScale <= o.maxScale && o.maxScale <= 1, `anchor scales must satisfy 0 < min <= max <= 1 (got ${o.minScale}, ${o.maxScale})`);
  check(o.aspectRatios.length > 0 && o.aspectRatios.every((r) => r > 0 && Number.isFinite(r)), `anchor aspect ratios must be positive numbers (got ${o.aspectRatios.join(',')})`);
}

export function anchorsPerCell(o: AnchorOptions): number {
  return o.aspectRatios.length + 1;
}

/** Anchors of feature maps of `sizes` ([rows, columns] each), centre-size, 4 floats per anchor. */
export function generateAnchors(sizes: readonly (readonly [number, number])[], o: AnchorOptions): Float32Array {
  checkAnchorOptions(o);
  const m = sizes.length;
  const scale = (k: number) => (k >= m ? 1 : m === 1 ? o.minScale : o.minScale + ((o.maxScale - o.minScale) * k) / (m - 1));
  const out: number[] = [];
  sizes.forEach(([rows, cols], k) => {
    const s = scale(k);
    const shapes = [...o.aspectRatios.map((r) => [s * Math.sqrt(r), s / Math.sqrt(r)]), [Math.sqrt(s * scale(k + 1)), Math.sqrt(s * scale(k + 1))]];
    for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) for (const [w, h] of shapes) out.push((x + 0.5) / cols, (y + 0.5) / rows, w, h);
  });
  return Float32Array.from(out);
}
