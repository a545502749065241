import type { BoxXywh } from '../types.js';

/**
 * Box arithmetic on flat Float32Arrays, four numbers per box. Inside the detector boxes are
 * normalized to the image (0..1): corners `[x1, y1, x2, y2]` for IoU and NMS, centre-size
 * `[cx, cy, w, h]` for anchors and the regression targets.
 */

/** The SSD / TF Object Detection API box coder scale factors for (x, y, w, h): offsets x10, log-sizes x5. */
export const BOX_SCALES: readonly [number, number, number, number] = [10, 10, 5, 5];

export function cornerIou(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const [ax1, ay1, ax2, ay2] = [a[ai * 4], a[ai * 4 + 1], a[ai * 4 + 2], a[ai * 4 + 3]];
  const [bx1, by1, bx2, by2] = [b[bi * 4], b[bi * 4 + 1], b[bi * 4 + 2], b[bi * 4 + 3]];
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Centre-size boxes to corners. */
export function toCorners(cs: Float32Array): Float32Array {
  const out = new Float32Array(cs.length);
  for (let i = 0; i < cs.length; i += 4) {
    out[i] = cs[i] - cs[i + 2] / 2;
    out[i + 1] = cs[i + 1] - cs[i + 3] / 2;
    out[i + 2] = cs[i] + cs[i + 2] / 2;
    out[i + 3] = cs[i + 1] + cs[i + 3] / 2;
  }
  return out;
}

/**
 * Regression target of a corner box against a centre-size anchor:
 * `[10 (cx - acx) / aw, 10 (cy - acy) / ah, 5 log(w / aw), 5 log(h / ah)]`.
 */
export function encodeBox(box: ArrayLike<number>, bi: number, anchors: Float32Array, ai: number, out: Float32Array, oi: number): void {
  const w = box[bi * 4 + 2] - box[bi * 4];
  const h = box[bi * 4 + 3] - box[bi * 4 + 1];
  const cx = box[bi * 4] + w / 2;
  const cy = box[bi * 4 + 1] + h / 2;
  const [acx, acy, aw, ah] = [anchors[ai * 4], anchors[ai * 4 + 1], anchors[ai * 4 + 2], anchors[ai * 4 + 3]];
  out[oi * 4] = (BOX_SCALES[0] * (cx - acx)) / aw;
  out[oi * 4 + 1] = (BOX_SCALES[1] * (cy - acy)) / ah;
  out[oi * 4 + 2] = BOX_SCALES[2] * Math.log(w / aw);
  out[oi * 4 + 3] = BOX_SCALES[3] * Math.log(h / ah);
}

/** The corner box that regression `code` (at `stride` floats per anchor) makes of each anchor: encodeBox's inverse. */
export function decodeBoxes(code: ArrayLike<number>, stride: number, anchors: Float32Array): Float32Array {
  const n = anchors.length / 4;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const [acx, acy, aw, ah] = [anchors[i * 4], anchors[i * 4 + 1], anchors[i * 4 + 2], anchors[i * 4 + 3]];
    const cx = acx + (code[i * stride] / BOX_SCALES[0]) * aw;
    const cy = acy + (code[i * stride + 1] / BOX_SCALES[1]) * ah;
    const w = aw * Math.exp(code[i * stride + 2] / BOX_SCALES[2]);
    const h = ah * Math.exp(code[i * stride + 3] / BOX_SCALES[3]);
    out.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], i * 4);
  }
  return out;
}

/** COCO pixel boxes of an image to normalized corners. */
export function normalizedCorners(boxes: readonly BoxXywh[], width: number, height: number): Float32Array {
  const out = new Float32Array(boxes.length * 4);
  boxes.forEach(([x, y, w, h], i) => out.set([x / width, y / height, (x + w) / width, (y + h) / height], i * 4));
  return out;
}

/** A normalized corner box, clipped to the image, as a COCO pixel box. */
export function pixelBox(c: ArrayLike<number>, i: number, width: number, height: number): BoxXywh {
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  const x1 = clip(c[i * 4]) * width;
  const y1 = clip(c[i * 4 + 1]) * height;
  return [x1, y1, clip(c[i * 4 + 2]) * width - x1, clip(c[i * 4 + 3]) * height - y1];
}
