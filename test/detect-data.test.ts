import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { createRng } from '../src/core/index.js';
import { colorOf } from '../src/report/index.js';
import {
  DIGITS_DET, SHAPES_DET, SPLIT_NAMES, cocoGroundTruthJson, cocoGroundTruthOf, datasetPreviewPng, detectionDatasets, evaluateCoco,
  generateDigitsDet, loadCocoDataset, writeCocoDataset, loadDetectionDataset, parseCocoGroundTruth, type DetectionDataset,
} from '../src/detect/index.js';
import { shapeBox } from '../src/detect/data/shapes.js';
import { SHAPES, insideShape } from '../src/video/world.js';
import { tempDir } from './temp-dir.js';

const small = { train: 12, val: 6, test: 6 };

describe('generated detection sets', () => {
  for (const name of detectionDatasets.names()) {
    describe(name, () => {
      const ds = detectionDatasets.get(name)({ ...small, seed: 3 });
      it('has the asked split sizes, unique image ids, and boxes inside the image on known categories', () => {
        const ids = new Set<number>();
        const catIds = new Set(ds.categories.map((c) => c.id));
        let boxes = 0;
        for (const split of SPLIT_NAMES) {
          assert.equal(ds[split].length, small[split]);
          for (const im of ds[split]) {
            assert.ok(!ids.has(im.id));
            ids.add(im.id);
            assert.equal(im.pixels.length, ds.height * ds.width * 3);
            assert.ok(im.pixels.every((v) => v >= 0 && v <= 1));
            assert.equal(im.boxes.length, im.categoryIds.length);
            for (const [j, b] of im.boxes.entries()) {
              assert.ok(catIds.has(im.categoryIds[j]));
              assert.ok(b[0] >= 0 && b[1] >= 0 && b[2] > 0 && b[3] > 0 && b[0] + b[2] <= im.width && b[1] + b[3] <= im.height, `box ${b}`);
            }
            boxes += im.boxes.length;
          }
        }
        // Several objects per image on average, so this is detection rather than classification.
        assert.ok(boxes / ids.size > 1.5, `${boxes} boxes on ${ids.size} images`);
      });
      it('is a function of its seed, and a split does not change with another split\'s size', () => {
        const again = detectionDatasets.get(name)({ ...small, seed: 3 });
        assert.deepEqual(again.val, ds.val);
        const moreTrain = detectionDatasets.get(name)({ ...small, train: 20, seed: 3 });
        assert.deepEqual(moreTrain.val.map((im) => [im.pixels, im.boxes]), ds.val.map((im) => [im.pixels, im.boxes]));
        const other = detectionDatasets.get(name)({ ...small, seed: 4 });
        assert.notDeepEqual(other.val.map((im) => im.boxes), ds.val.map((im) => im.boxes));
      });
      it('scores AP 1 against its own boxes through the COCO evaluation', () => {
        const gt = cocoGroundTruthOf(ds.test, ds.categories);
        const dts = gt.annotations.map((a) => ({ imageId: a.imageId, categoryId: a.categoryId, box: a.box, score: 1 }));
        assert.ok(Math.abs(evaluateCoco(gt, dts).stats[0] - 1) < 1e-12);
      });
    });
  }
  it('rejects a negative split size', () => assert.throws(() => detectionDatasets.get('shapes-det')({ train: -1 }), /train size/));
});

describe('exact boxes', () => {
  it('shapes-det: a shape touches every side of its box and never leaves it', () => {
    const rng = createRng(7);
    for (let k = 0; k < 30; k++) {
      const o = { shape: SHAPES[k % 3], colour: [1, 1, 1], x: 30 + rng.next(), y: 30 + rng.next(), size: 4 + rng.next() * 10, angle: (rng.next() - 0.5) * 1.5 };
      const [x0, y0, w, h] = shapeBox(o);
      const step = 0.02;
      let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
      for (let y = y0 - 1; y <= y0 + h + 1; y += step) {
        for (let x = x0 - 1; x <= x0 + w + 1; x += step) {
          if (!insideShape(o.shape, x - o.x, y - o.y, o.size, o.angle)) continue;
          [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
        }
      }
      for (const [got, want] of [[minX, x0], [minY, y0], [maxX, x0 + w], [maxY, y0 + h]]) assert.ok(Math.abs(got - want) <= 2 * step, `${o.shape}: ${got} vs ${want}`);
    }
  });

  it('digits-det: every inked pixel is inside a box and each box edge has ink', () => {
    const ds = generateDigitsDet({ train: 0, val: 10, test: 0, seed: 1 });
    for (const im of ds.val) {
      const ink = (x: number, y: number) => im.pixels[(y * im.width + x) * 3] > 0.1;
      for (let y = 0; y < im.height; y++) {
        for (let x = 0; x < im.width; x++) {
          if (ink(x, y)) assert.ok(im.boxes.some((b) => x >= b[0] && x < b[0] + b[2] && y >= b[1] && y < b[1] + b[3]), `ink at ${x},${y} outside every box`);
        }
      }
      for (const [x0, y0, w, h] of im.boxes) {
        const row = (y: number) => Array.from({ length: w }, (_, i) => ink(x0 + i, y)).some(Boolean);
        const col = (x: number) => Array.from({ length: h }, (_, i) => ink(x, y0 + i)).some(Boolean);
        assert.ok(row(y0) && row(y0 + h - 1) && col(x0) && col(x0 + w - 1), `box ${[x0, y0, w, h]} is not tight`);
      }
    }
  });

  it('names every class', () => {
    assert.equal(DIGITS_DET.categories.length, 10);
    assert.deepEqual(SHAPES_DET.categories.map((c) => c.name), [...SHAPES]);
  });
});

function writePng(file: string, width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): void {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) png.data.set([...rgb(x, y), 255], (y * width + x) * 4);
  fs.writeFileSync(file, PNG.sync.write(png));
}

describe('COCO dataset loader', () => {
  const dir = tempDir('kiln-coco-');
  const images = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, width: 16, height: 12, file_name: `img${i}.png` }));
  for (const im of images) writePng(path.join(dir, im.file_name), 16, 12, (x, y) => (x >= 4 && x < 10 && y >= 2 && y < 8 ? [200, 30, 30] : [0, 0, im.id * 10]));
  const doc = {
    images,
    categories: [{ id: 5, name: 'block' }],
    annotations: images.map((im) => ({ id: im.id, image_id: im.id, category_id: 5, bbox: [4, 2, 6, 6], area: 36, iscrowd: 0 })),
  };
  const write = (name: string, d: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(d));
    return file;
  };
  const good = write('good.json', doc);

  it('reads PNG pixels and boxes, and splits by seed with every image in exactly one split', () => {
    const ds: DetectionDataset = loadCocoDataset(good, { seed: 1, valFraction: 0.2, testFraction: 0.2 });
    assert.deepEqual([ds.train.length, ds.val.length, ds.test.length], [6, 2, 2]);
    assert.deepEqual([...ds.train, ...ds.val, ...ds.test].map((im) => im.id).sort((a, b) => a - b), images.map((im) => im.id));
    const im = ds.train[0];
    assert.deepEqual(im.boxes, [[4, 2, 6, 6]]);
    assert.deepEqual([...im.pixels.subarray((3 * 16 + 5) * 3, (3 * 16 + 5) * 3 + 3)], [200 / 255, 30 / 255, 30 / 255].map(Math.fround));
    assert.deepEqual([...im.pixels.subarray(0, 3)], [0, 0, Math.fround((im.id * 10) / 255)]);
    assert.deepEqual(loadDetectionDataset(good, { seed: 1, valFraction: 0.2, testFraction: 0.2 }).val.map((x) => x.id), ds.val.map((x) => x.id));
  });

  it('round-trips a generated split through COCO JSON', () => {
    const ds = detectionDatasets.get('shapes-det')({ train: 0, val: 3, test: 0 });
    const gt = cocoGroundTruthOf(ds.val, ds.categories);
    assert.deepEqual(parseCocoGroundTruth(JSON.parse(JSON.stringify(cocoGroundTruthJson(gt))), 'gt'), gt);
  });

  it('loads a generated split written as a COCO dataset with the same boxes and 8-bit pixels', () => {
    const ds = detectionDatasets.get('digits-det')({ train: 0, val: 4, test: 0, seed: 2 });
    const file = writeCocoDataset(path.join(dir, 'digits'), ds.val, ds.categories);
    const back = loadCocoDataset(file, { valFraction: 0, testFraction: 0 });
    assert.deepEqual(back.categories, ds.categories);
    assert.deepEqual(back.train.map((im) => [im.id, im.boxes, im.categoryIds]), ds.val.map((im) => [im.id, im.boxes, im.categoryIds]));
    back.train.forEach((im, k) => assert.ok(im.pixels.every((v, i) => Math.abs(v - ds.val[k].pixels[i]) <= 0.5 / 255 + 1e-6)));
  });

  const jpeg = write('jpeg.json', { ...doc, images: [{ ...images[0], file_name: 'photo.jpg' }], annotations: [] });
  fs.writeFileSync(path.join(dir, 'photo.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
  fs.writeFileSync(path.join(dir, 'broken.png'), Buffer.from('not a png'));
  const cases: [string, string, RegExp][] = [
    ['a missing image file', write('missing.json', { ...doc, images: [{ ...images[0], file_name: 'nope.png' }], annotations: [] }), /image 1 file not found/],
    ['a JPEG image', jpeg, /JPEG; Kiln reads PNG images only/],
    ['a corrupt PNG', write('broken.json', { ...doc, images: [{ ...images[0], file_name: 'broken.png' }], annotations: [] }), /not a readable PNG/],
    ['a PNG of another size than declared', write('size.json', { ...doc, images: [{ ...images[0], width: 20 }], annotations: [] }), /is 16x12, but the annotations say 20x12/],
    ['a box outside the image', write('outside.json', { ...doc, annotations: [{ ...doc.annotations[0], bbox: [10, 2, 9, 6] }] }), /outside image 1 \(16x12\)/],
    ['an unknown category id', write('category.json', { ...doc, annotations: [{ ...doc.annotations[0], category_id: 6 }] }), /unknown category_id 6/],
    ['images of different sizes', write('mixed.json', { ...doc, images: [images[0], { ...images[1], width: 17 }], annotations: [] }), /images differ in size/],
    ['invalid JSON', (() => { const f = path.join(dir, 'bad.json'); fs.writeFileSync(f, '{"images": ['); return f; })(), /not valid JSON/],
  ];
  for (const [what, file, message] of cases) it(`rejects ${what}`, () => assert.throws(() => loadCocoDataset(file), message));
  it('rejects an unknown dataset name', () => assert.throws(() => loadDetectionDataset('nope-det'), /unknown detection dataset 'nope-det'/));
});

describe('box preview', () => {
  it('draws each box outline in its category colour at the scaled position', () => {
    const ds = detectionDatasets.get('shapes-det')({ train: 0, val: 2, test: 0, seed: 2 });
    const scale = 4;
    const png = PNG.sync.read(datasetPreviewPng(ds.val, ds.categories, { scale }));
    assert.equal(png.width, 2 * (64 * scale + 6) + 6);
    assert.equal(png.height, 64 * scale + 12);
    // The left edge of the first image's first box, halfway down, is in that category's palette colour.
    const [x, y, , h] = ds.val[0].boxes[0];
    const px = 6 + Math.round(x * scale);
    const py = 6 + Math.round((y + h / 2) * scale);
    const o = (py * png.width + px) * 4;
    const want = colorOf(ds.categories.findIndex((c) => c.id === ds.val[0].categoryIds[0]));
    assert.equal(`#${[...png.data.subarray(o, o + 3)].map((v) => v.toString(16).padStart(2, '0')).join('')}`, want);
  });
});
