/**
 * COCO-protocol bbox evaluation, a line-by-line port of pycocotools' `COCOeval` (cocodataset/cocoapi,
 * PythonAPI/pycocotools/cocoeval.py, `evaluate` + `accumulate` + `summarize`, and common/maskApi.c `bbIou`):
 * IoU thresholds .50:.05:.95, 101 recall points, greedy matching of detections in descending score order per image
 * and category, crowd regions that absorb any number of detections, ground truth outside an area range ignored,
 * maxDets 1/10/100, and the twelve numbers of `COCOeval.stats` (-1 where no ground truth defines one).
 *
 * Same arithmetic as the reference, so the numbers agree to the last bit: thresholds built like numpy's `linspace`,
 * stable (merge-sort) score order, `tp / (tp + fp + eps)` with numpy's `np.spacing(1)`, and means summed pairwise as
 * numpy does. One deliberate difference: pycocotools marks a match by the ground truth's annotation id, so a box whose
 * id is 0 counts as never matched; here a match is a match whatever the id.
 */
import type { BoxXywh, CocoGroundTruth, Detection } from '../types.js';

/** numpy's `linspace(start, stop, n)`: `i * step + start`, the last point exactly `stop`. */
function linspace(start: number, stop: number, n: number): number[] {
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start));
}

export const IOU_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, 10);
export const RECALL_THRESHOLDS: readonly number[] = linspace(0, 1, 101);
export const MAX_DETECTIONS: readonly number[] = [1, 10, 100];
/** COCO's area ranges (pixels²), bounds inclusive on both sides as in pycocotools. */
export const AREA_RANGES: readonly { name: 'all' | 'small' | 'medium' | 'large'; min: number; max: number }[] = [
  { name: 'all', min: 0, max: 1e10 },
  { name: 'small', min: 0, max: 32 ** 2 },
  { name: 'medium', min: 32 ** 2, max: 96 ** 2 },
  { name: 'large', min: 96 ** 2, max: 1e10 },
];
/** Names of `stats`, in pycocotools' `COCOeval.stats` order. */
export const COCO_STAT_NAMES: readonly string[] = [
  'AP', 'AP50', 'AP75', 'APsmall', 'APmedium', 'APlarge', 'AR1', 'AR10', 'AR100', 'ARsmall', 'ARmedium', 'ARlarge',
];

/** numpy's `np.spacing(1)`: keeps precision finite when a point has neither true nor false positives. */
const EPS = 2 ** -52;

export interface CocoEvaluation {
  /** The twelve summary numbers, `COCO_STAT_NAMES` order; -1 where undefined (no ground truth in that setting). */
  stats: number[];
  /** AP@[.50:.95] of each category (area all, 100 detections); -1 for a category without ground truth. */
  perCategory: { categoryId: number; ap: number }[];
}

interface GtBox { box: BoxXywh; area: number; crowd: boolean }
interface DtBox { box: BoxXywh; area: number; score: number }

/** One image and category at one area range, as `COCOeval.evaluateImg` returns it. */
interface ImageEval {
  /** Scores of the (at most 100) detections, highest first. */
  scores: number[];
  /** `[t][d]`: detection d matched some ground truth at IoU threshold t. */
  matched: Uint8Array[];
  /** `[t][d]`: detection d is ignored at threshold t (matched an ignored box, or unmatched and outside the range). */
  ignored: Uint8Array[];
  /** Number of ground-truth boxes that count (not crowd, inside the area range). */
  counted: number;
}

/** maskApi.c `bbIou`: intersection over union, or over the detection's area when the ground truth is a crowd. */
function boxIou(d: BoxXywh, g: BoxXywh, crowd: boolean): number {
  const w = Math.min(d[2] + d[0], g[2] + g[0]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3] + d[1], g[3] + g[1]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d[2] * d[3];
  return i / (crowd ? da : da + g[2] * g[3] - i);
}

/** Indices of `items` in a stable order by `key` ascending (numpy's `argsort(kind='mergesort')`). */
function stableOrder<T>(items: readonly T[], key: (x: T) => number): number[] {
  return items.map((_, i) => i).sort((a, b) => key(items[a]) - key(items[b]));
}

/** numpy's pairwise summation (`np.add.reduce` on a contiguous float64 array), so means match it to the bit. */
function pairwiseSum(a: readonly number[], lo: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[lo + i];
    return s;
  }
  if (n <= 128) {
    const r = a.slice(lo, lo + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[lo + i + j];
    let s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) s += a[lo + i];
    return s;
  }
  const half = Math.floor(n / 2) - (Math.floor(n / 2) % 8);
  return pairwiseSum(a, lo, half) + pairwiseSum(a, lo + half, n - half);
}

/** Mean of the entries that are not -1 (settings without ground truth), or -1 when none is defined. */
function definedMean(values: readonly number[]): number {
  const kept = values.filter((v) => v > -1);
  return kept.length === 0 ? -1 : pairwiseSum(kept, 0, kept.length) / kept.length;
}

/** `COCOeval.evaluateImg` for one image and category at one area range. */
function evaluateImage(gts: readonly GtBox[], dts: readonly DtBox[], ious: readonly Float64Array[], range: { min: number; max: number }): ImageEval {
  const T = IOU_THRESHOLDS.length;
  const outside = (area: number): boolean => area < range.min || area > range.max;
  // Ground truth that counts first, ignored (crowd or outside the range) last, each group in file order.
  const gtOrder = stableOrder(gts, (g) => (g.crowd || outside(g.area) ? 1 : 0));
  const gtIgnored = gtOrder.map((j) => gts[j].crowd || outside(gts[j].area));
  const crowd = gtOrder.map((j) => gts[j].crowd);
  const matched: Uint8Array[] = [];
  const ignored: Uint8Array[] = [];
  for (let t = 0; t < T; t++) {
    const gtTaken = new Uint8Array(gts.length);
    const dtMatched = new Uint8Array(dts.length);
    const dtIgnored = new Uint8Array(dts.length);
    if (gts.length > 0) {
      for (let d = 0; d < dts.length; d++) {
        let best = Math.min(IOU_THRESHOLDS[t], 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < gtOrder.length; g++) {
          if (gtTaken[g] && !crowd[g]) continue;
          // Once matched to a box that counts, stop at the ignored ones (sorted last).
          if (m > -1 && !gtIgnored[m] && gtIgnored[g]) break;
          const iou = ious[d][gtOrder[g]];
          if (iou < best) continue;
          best = iou;
          m = g;
        }
        if (m === -1) continue;
        dtIgnored[d] = gtIgnored[m] ? 1 : 0;
        dtMatched[d] = 1;
        gtTaken[m] = 1;
      }
    }
    for (let d = 0; d < dts.length; d++) if (!dtMatched[d] && outside(dts[d].area)) dtIgnored[d] = 1;
    matched.push(dtMatched);
    ignored.push(dtIgnored);
  }
  return { scores: dts.map((d) => d.score), matched, ignored, counted: gtIgnored.filter((x) => !x).length };
}

/** Leftmost index whose value is >= v in a non-decreasing array (numpy's `searchsorted(side='left')`). */
function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `COCOeval.accumulate` for one category, area range and maxDets: precision at the 101 recall points and the final
 * recall, per IoU threshold; undefined (null) when no image has ground truth that counts.
 */
function accumulate(evals: readonly ImageEval[], maxDet: number): { precision: Float64Array[]; recall: number[] } | null {
  if (evals.length === 0) return null;
  const counted = evals.reduce((s, e) => s + e.counted, 0);
  if (counted === 0) return null;
  const pool: { score: number; e: ImageEval; d: number }[] = [];
  for (const e of evals) for (let d = 0; d < Math.min(maxDet, e.scores.length); d++) pool.push({ score: e.scores[d], e, d });
  const order = stableOrder(pool, (p) => -p.score);
  const nd = order.length;
  const precision: Float64Array[] = [];
  const recall: number[] = [];
  for (let t = 0; t < IOU_THRESHOLDS.length; t++) {
    const rc = new Float64Array(nd);
    const pr = new Float64Array(nd);
    let tp = 0;
    let fp = 0;
    order.forEach((k, i) => {
      const { e, d } = pool[k];
      if (!e.ignored[t][d]) {
        if (e.matched[t][d]) tp++;
        else fp++;
      }
      rc[i] = tp / counted;
      pr[i] = tp / (fp + tp + EPS);
    });
    recall.push(nd ? rc[nd - 1] : 0);
    for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    const q = new Float64Array(RECALL_THRESHOLDS.length);
    for (let r = 0; r < RECALL_THRESHOLDS.length; r++) {
      const i = lowerBound(rc, RECALL_THRESHOLDS[r]);
      if (i >= nd) break;
      q[r] = pr[i];
    }
    precision.push(q);
  }
  return { precision, recall };
}

function groupBy<T>(items: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of items) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/**
 * Scores `detections` against `gt` with the COCO protocol. Detections must name images and categories of `gt`
 * (`parseCocoResults` checks a file's); those of a category or image `gt` lacks would be dropped by pycocotools.
 */
export function evaluateCoco(gt: CocoGroundTruth, detections: readonly Detection[]): CocoEvaluation {
  const imageIds = [...new Set(gt.images.map((im) => im.id))].sort((a, b) => a - b);
  const categoryIds = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  const key = (imageId: number, categoryId: number): string => `${imageId}/${categoryId}`;
  const gtGroups = groupBy(gt.annotations, (a) => key(a.imageId, a.categoryId));
  const dtGroups = groupBy(detections, (d) => key(d.imageId, d.categoryId));
  const A = AREA_RANGES.length;
  const M = MAX_DETECTIONS.length;
  const maxDet = MAX_DETECTIONS[M - 1];
  // precision[t][r] and recall[t] per (category, area, maxDets) cell; null cells are -1 in pycocotools.
  const cells = categoryIds.map(() => AREA_RANGES.map(() => MAX_DETECTIONS.map(() => null as ReturnType<typeof accumulate>)));
  categoryIds.forEach((categoryId, k) => {
    const perArea: ImageEval[][] = AREA_RANGES.map(() => []);
    for (const imageId of imageIds) {
      const gts: GtBox[] = (gtGroups.get(key(imageId, categoryId)) ?? []).map((a) => ({ box: a.box, area: a.area, crowd: a.crowd }));
      const raw = dtGroups.get(key(imageId, categoryId)) ?? [];
      if (gts.length === 0 && raw.length === 0) continue;
      const dts: DtBox[] = stableOrder(raw, (d) => -d.score).slice(0, maxDet)
        .map((i) => ({ box: raw[i].box, area: raw[i].box[2] * raw[i].box[3], score: raw[i].score }));
      const ious = dts.map((d) => Float64Array.from(gts, (g) => boxIou(d.box, g.box, g.crowd)));
      AREA_RANGES.forEach((range, a) => perArea[a].push(evaluateImage(gts, dts, ious, range)));
    }
    for (let a = 0; a < A; a++) for (let m = 0; m < M; m++) cells[k][a][m] = accumulate(perArea[a], MAX_DETECTIONS[m]);
  });
  const areaIndex = (name: string): number => AREA_RANGES.findIndex((r) => r.name === name);
  const maxIndex = (n: number): number => MAX_DETECTIONS.indexOf(n);
  const thresholdIndex = (iou: number): number => IOU_THRESHOLDS.indexOf(iou);
  /** `_summarize`: the mean of the defined entries over thresholds (one or all), recall points and categories. */
  const summarize = (ap: boolean, area: string, maxDets: number, iou?: number, categories = categoryIds.map((_, k) => k)): number => {
    const a = areaIndex(area);
    const m = maxIndex(maxDets);
    const ts = iou === undefined ? IOU_THRESHOLDS.map((_, t) => t) : [thresholdIndex(iou)];
    const values: number[] = [];
    // Same element order as numpy's C-order flattening: threshold, then recall point, then category.
    for (const t of ts) {
      if (ap) {
        for (let r = 0; r < RECALL_THRESHOLDS.length; r++) for (const k of categories) values.push(cells[k][a][m]?.precision[t][r] ?? -1);
      } else {
        for (const k of categories) values.push(cells[k][a][m]?.recall[t] ?? -1);
      }
    }
    return definedMean(values);
  };
  const stats = [
    summarize(true, 'all', 100), summarize(true, 'all', 100, 0.5), summarize(true, 'all', 100, 0.75),
    summarize(true, 'small', 100), summarize(true, 'medium', 100), summarize(true, 'large', 100),
    summarize(false, 'all', 1), summarize(false, 'all', 10), summarize(false, 'all', 100),
    summarize(false, 'small', 100), summarize(false, 'medium', 100), summarize(false, 'large', 100),
  ];
  const perCategory = categoryIds.map((categoryId, k) => ({ categoryId, ap: summarize(true, 'all', 100, undefined, [k]) }));
  return { stats, perCategory };
}
