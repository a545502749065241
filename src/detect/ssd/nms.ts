import { cornerIou } from './boxes.js';

export interface NmsOptions {
  /** Candidates scoring below this are dropped before NMS. */
  scoreThreshold: number;
  /** A box overlapping a kept box of its class by more than this is suppressed. */
  iouThreshold: number;
  /** Detections kept per image, best first. */
  maxDetections: number;
}

export const DEFAULT_NMS: NmsOptions = { scoreThreshold: 0.05, iouThreshold: 0.5, maxDetections: 100 };

export interface KeptBox {
  /** Index of the box. */
  index: number;
  classIndex: number;
  score: number;
}

/** Greedy NMS of the boxes `order` (sorted by score, best first): indices kept, at most `limit`. */
export function greedyNms(corners: Float32Array, order: readonly number[], iouThreshold: number, limit: number): number[] {
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= limit) break;
    if (kept.every((k) => cornerIou(corners, i, corners, k) <= iouThreshold)) kept.push(i);
  }
  return kept;
}

/**
 * Per-class NMS: `scores[i * classes + c]` is box i's score for class c. Each class is suppressed
 * on its own (boxes of different classes never suppress each other); the union is cut to the
 * best `maxDetections`. Ties keep the lower box index first.
 */
export function perClassNms(corners: Float32Array, scores: ArrayLike<number>, classes: number, o: NmsOptions): KeptBox[] {
  const n = corners.length / 4;
  const out: KeptBox[] = [];
  for (let c = 0; c < classes; c++) {
    const order: number[] = [];
    for (let i = 0; i < n; i++) if (scores[i * classes + c] >= o.scoreThreshold) order.push(i);
    order.sort((a, b) => scores[b * classes + c] - scores[a * classes + c] || a - b);
    for (const index of greedyNms(corners, order, o.iouThreshold, o.maxDetections)) out.push({ index, classIndex: c, score: scores[index * classes + c] });
  }
  out.sort((a, b) => b.score - a.score || a.index - b.index || a.classIndex - b.classIndex);
  return out.slice(0, o.maxDetections);
}
