import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { projectRoot } from '../src/core/index.js';
import {
  COCO_STAT_NAMES, evaluateCoco, parseCocoGroundTruth, parseCocoResults, type BoxXywh, type CocoGroundTruth, type Detection,
} from '../src/detect/index.js';

interface GtBoxSpec { box: BoxXywh; cat?: number; image?: number; crowd?: boolean; area?: number }

/** A ground truth of 100x100 images (ids 1..images) and categories 1..categories. */
function groundTruth(boxes: GtBoxSpec[], images = 1, categories = 1): CocoGroundTruth {
  return {
    images: Array.from({ length: images }, (_, i) => ({ id: i + 1, width: 100, height: 100, fileName: '' })),
    categories: Array.from({ length: categories }, (_, i) => ({ id: i + 1, name: `c${i + 1}` })),
    annotations: boxes.map((b, i) => ({
      id: i + 1, imageId: b.image ?? 1, categoryId: b.cat ?? 1, box: b.box, area: b.area ?? b.box[2] * b.box[3], crowd: b.crowd ?? false,
    })),
  };
}

const det = (box: BoxXywh, score: number, cat = 1, image = 1): Detection => ({ imageId: image, categoryId: cat, box, score });
const stat = (stats: number[], name: string): number => stats[COCO_STAT_NAMES.indexOf(name)];

/** Hand-derived values leave out pycocotools' eps in tp / (tp + fp + eps); the fixture cases below check the bits. */
function assertClose(actual: number | number[], expected: number | number[]): void {
  const a = [actual].flat();
  const e = [expected].flat();
  assert.equal(a.length, e.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - e[i]) < 1e-12, `value ${i}: ${x} is not ${e[i]}`));
}

// Values derived by hand; pycocotools (run through tools/coco_eval_fixture.py's loader) gives the same on each case.
describe('COCO evaluation: hand-built cases', () => {
  it('perfect detections score 1, with AR@1 limited to one box per image and undefined area ranges at -1', () => {
    const gt = groundTruth([{ box: [10, 10, 20, 20] }, { box: [40, 40, 50, 50] }]);
    const { stats } = evaluateCoco(gt, [det([10, 10, 20, 20], 0.9), det([40, 40, 50, 50], 0.8)]);
    assertClose(stats, [1, 1, 1, 1, 1, -1, 0.5, 1, 1, 1, 1, -1]);
  });

  it('an empty class (no ground truth) is left out of the means, even with false positives on it', () => {
    const gt = groundTruth([{ box: [10, 10, 30, 30] }], 1, 2);
    const result = evaluateCoco(gt, [det([10, 10, 30, 30], 0.9), det([50, 50, 20, 20], 0.95, 2)]);
    assertClose(stat(result.stats, 'AP'), 1);
    assert.deepEqual(result.perCategory.map((c) => c.categoryId), [1, 2]);
    assertClose(result.perCategory.map((c) => c.ap), [1, -1]);
  });

  it('tied scores keep the results-file order (stable sort), which decides the precision', () => {
    const gt = groundTruth([{ box: [10, 10, 30, 30] }]);
    const miss = det([60, 60, 30, 30], 0.5);
    const hit = det([10, 10, 30, 30], 0.5);
    // Miss first: precision is 1/2 at the only recall level reached (1); hit first: 1.
    assertClose(stat(evaluateCoco(gt, [miss, hit]).stats, 'AP'), 0.5);
    assertClose(stat(evaluateCoco(gt, [hit, miss]).stats, 'AP'), 1);
  });

  it('ties across images follow image id order', () => {
    const gt = groundTruth([{ box: [10, 10, 30, 30], image: 2 }], 2);
    const hitOn2 = det([10, 10, 30, 30], 0.5, 1, 2);
    const missOn1 = det([10, 10, 30, 30], 0.5, 1, 1);
    // Image 1's false positive sorts before image 2's hit whatever the file order.
    assertClose(stat(evaluateCoco(gt, [hitOn2, missOn1]).stats, 'AP'), 0.5);
  });

  it('a crowd region absorbs any number of detections inside it without false positives', () => {
    const boxes: GtBoxSpec[] = [{ box: [5, 5, 20, 20] }, { box: [50, 50, 40, 40], crowd: true }];
    const dts = [det([5, 5, 20, 20], 0.9), det([52, 52, 10, 10], 0.8), det([70, 70, 15, 15], 0.7)];
    assertClose(stat(evaluateCoco(groundTruth(boxes), dts).stats, 'AP'), 1);
    // The same box as a regular object: the small detections inside it overlap it too little to match, so recall
    // stops at 1/2 and only the 51 recall points 0, .01, ..., .50 get precision 1.
    const plain = evaluateCoco(groundTruth([boxes[0], { box: [50, 50, 40, 40] }]), dts);
    assertClose(stat(plain.stats, 'AP'), 51 / 101);
  });

  it('IoU exactly at a threshold counts as a match there and nowhere above', () => {
    // IoU of [0,0,10,5] with [0,0,10,10] is 50/100 = 0.5 exactly.
    const { stats } = evaluateCoco(groundTruth([{ box: [0, 0, 10, 10] }]), [det([0, 0, 10, 5], 0.9)]);
    assertClose(stat(stats, 'AP50'), 1);
    assertClose(stat(stats, 'AP75'), 0);
    assertClose(stat(stats, 'AP'), 0.1);
  });

  it('maxDets cuts the detections per image by score before matching is counted', () => {
    const gt = groundTruth([{ box: [40, 40, 20, 20] }]);
    const misses = Array.from({ length: 10 }, (_, i) => det([0, 0, 5 + i, 5], 0.9 - i * 0.01));
    const { stats } = evaluateCoco(gt, [...misses, det([40, 40, 20, 20], 0.1)]);
    assertClose(stat(stats, 'AR1'), 0);
    assertClose(stat(stats, 'AR10'), 0);
    assertClose(stat(stats, 'AR100'), 1);
    // 11th detection finds the object: precision 1/11 at every recall point.
    assertClose(stat(stats, 'AP'), 1 / 11);
  });

  it('the annotation area, not the box, picks the size class; detections outside the range are ignored unmatched', () => {
    // A 40x40 box (medium) whose segment covers 900 px (small).
    const gt = groundTruth([{ box: [10, 10, 40, 40], area: 900 }]);
    const { stats } = evaluateCoco(gt, [det([10, 10, 40, 40], 0.9), det([60, 60, 39, 39], 0.8)]);
    assertClose(stat(stats, 'APsmall'), 1);
    assertClose(stat(stats, 'APmedium'), -1);
    // In the 'all' range the unmatched 39x39 box is a false positive after the hit: precision stays 1.
    assertClose(stat(stats, 'AP'), 1);
  });

  it('no detections: zero wherever ground truth exists', () => {
    const { stats } = evaluateCoco(groundTruth([{ box: [10, 10, 20, 20] }]), []);
    assertClose(stats, [0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
  });
});

describe('COCO evaluation against pycocotools', () => {
  const fixture = JSON.parse(fs.readFileSync(`${projectRoot()}/test/fixtures/detect/coco-eval-cases.json`, 'utf8')) as {
    cases: { name: string; gt: unknown; dt: unknown; stats: number[] }[];
  };
  it('has the generated cases', () => assert.ok(fixture.cases.length >= 8));
  for (const c of fixture.cases) {
    it(`${c.name}: the twelve stats equal COCOeval's to the bit`, () => {
      const gt = parseCocoGroundTruth(c.gt, c.name);
      const { stats } = evaluateCoco(gt, parseCocoResults(c.dt, gt, c.name));
      assert.deepEqual(stats, c.stats);
    });
  }
});

describe('COCO file checks', () => {
  const good = {
    images: [{ id: 1, width: 50, height: 40, file_name: 'a.png' }],
    categories: [{ id: 3, name: 'cat' }],
    annotations: [{ id: 1, image_id: 1, category_id: 3, bbox: [1, 2, 10, 10], area: 100, iscrowd: 0 }],
  };
  const withAnnotation = (patch: Record<string, unknown>): unknown => ({ ...good, annotations: [{ ...good.annotations[0], ...patch }] });
  it('accepts a well-formed file and defaults area to the box area', () => {
    const { area, ...noArea } = good.annotations[0];
    assert.equal(area, 100);
    assert.equal(parseCocoGroundTruth({ ...good, annotations: [noArea] }, 'gt').annotations[0].area, 100);
  });
  const bad: [string, unknown, RegExp][] = [
    ['a box outside the image', withAnnotation({ bbox: [45, 2, 10, 10] }), /outside image 1 \(50x40\)/],
    ['an unknown category id', withAnnotation({ category_id: 4 }), /unknown category_id 4/],
    ['an unknown image id', withAnnotation({ image_id: 9 }), /unknown image_id 9/],
    ['a missing bbox', withAnnotation({ bbox: undefined }), /bbox/],
    ['a negative width', withAnnotation({ bbox: [1, 1, -3, 4] }), /negative width/],
    ['a missing images list', { categories: [], annotations: [] }, /missing field 'images'/],
    ['duplicate annotation ids', { ...good, annotations: [good.annotations[0], good.annotations[0]] }, /duplicate annotation id 1/],
  ];
  for (const [what, doc, message] of bad) {
    it(`rejects ground truth with ${what}`, () => assert.throws(() => parseCocoGroundTruth(doc, 'gt.json'), message));
  }
  const gt = parseCocoGroundTruth(good, 'gt');
  const result = { image_id: 1, category_id: 3, bbox: [1, 2, 10, 10], score: 0.5 };
  const badResults: [string, unknown, RegExp][] = [
    ['not a list', { result }, /must be a list/],
    ['an unknown category id', [{ ...result, category_id: 1 }], /unknown category_id 1/],
    ['an image not in the ground truth', [{ ...result, image_id: 2 }], /image_id 2 is not in the ground truth/],
    ['no score', [{ ...result, score: undefined }], /missing field 'score'/],
    ['a NaN-like score', [{ ...result, score: 'high' }], /'score' must be a finite number/],
  ];
  for (const [what, doc, message] of badResults) {
    it(`rejects results that are ${what}`, () => assert.throws(() => parseCocoResults(doc, gt, 'dt.json'), message));
  }
});
