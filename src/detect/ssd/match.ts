import { encodeBox, cornerIou, toCorners } from './boxes.js';

/**
 * SSD's matching: an anchor is positive for the ground-truth box it overlaps most when that IoU
 * is at least `threshold` (0.5); every ground-truth box also claims its own best anchor, so no
 * object goes without a positive even when no anchor reaches the threshold. Returns the matched
 * box per anchor, -1 for background.
 */
export function matchAnchors(anchorCorners: Float32Array, gt: Float32Array, threshold = 0.5): Int32Array {
  const n = anchorCorners.length / 4;
  const g = gt.length / 4;
  const match = new Int32Array(n).fill(-1);
  if (g === 0) return match;
  for (let a = 0; a < n; a++) {
    let top = 0;
    for (let j = 0; j < g; j++) {
      const v = cornerIou(anchorCorners, a, gt, j);
      if (v > top) {
        top = v;
        if (v >= threshold) match[a] = j;
      }
    }
  }
  for (let j = 0; j < g; j++) {
    let arg = -1;
    let top = 0;
    for (let a = 0; a < n; a++) {
      const v = cornerIou(anchorCorners, a, gt, j);
      if (v > top) {
        top = v;
        arg = a;
      }
    }
    if (arg >= 0) match[arg] = j;
  }
  return match;
}

/** Training targets of one image: encoded boxes and class indices (-1 = background) per anchor. */
export interface AnchorTargets {
  boxes: Float32Array;
  classes: Int32Array;
}

/** Targets of ground-truth corner boxes `gt` with class indices `labels` against centre-size `anchors`. */
export function anchorTargets(anchors: Float32Array, gt: Float32Array, labels: ArrayLike<number>, threshold = 0.5): AnchorTargets {
  const n = anchors.length / 4;
  const match = matchAnchors(toCorners(anchors), gt, threshold);
  const boxes = new Float32Array(n * 4);
  const classes = new Int32Array(n).fill(-1);
  for (let a = 0; a < n; a++) {
    if (match[a] < 0) continue;
    encodeBox(gt, match[a], anchors, a, boxes, a);
    classes[a] = labels[match[a]];
  }
  return { boxes, classes };
}
