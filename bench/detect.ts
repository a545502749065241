/**
 * Speed of Kiln's detection data and COCO evaluation: CPU seconds to generate 1000 images of each built-in set, and
 * to evaluate jittered copies of the ground truth plus false positives (the load a detector's validation puts on it).
 *   node dist/bench/detect.js [--images 1000] [--false-positives 20]
 */
import { createRng } from '../src/core/index.js';
import { cocoGroundTruthOf, detectionDatasets, evaluateCoco, type Detection } from '../src/detect/index.js';
import { arg } from './args.js';

const images = Number(arg('--images', '1000'));
const falsePositives = Number(arg('--false-positives', '20'));

function cpuSeconds<T>(work: () => T): { value: T; seconds: number } {
  const start = process.cpuUsage();
  const value = work();
  const used = process.cpuUsage(start);
  return { value, seconds: (used.user + used.system) / 1e6 };
}

for (const name of detectionDatasets.names()) {
  const gen = cpuSeconds(() => detectionDatasets.get(name)({ train: 0, val: images, test: 0, seed: 0 }));
  const ds = gen.value;
  const gt = cocoGroundTruthOf(ds.val, ds.categories);
  const rng = createRng(1);
  const dts: Detection[] = [];
  for (const a of gt.annotations) {
    const [x, y, w, h] = a.box;
    dts.push({ imageId: a.imageId, categoryId: a.categoryId, box: [x + rng.normal() * w * 0.1, y + rng.normal() * h * 0.1, w, h], score: rng.next() });
  }
  for (const im of ds.val) {
    for (let k = 0; k < falsePositives; k++) {
      dts.push({ imageId: im.id, categoryId: rng.pick(ds.categories).id, box: [rng.next() * 48, rng.next() * 48, 4 + rng.next() * 12, 4 + rng.next() * 12], score: rng.next() * 0.8 });
    }
  }
  const ev = cpuSeconds(() => evaluateCoco(gt, dts));
  console.log(`${name}: generate ${images} images ${gen.seconds.toFixed(2)} s CPU; evaluate ${gt.annotations.length} boxes, ` +
    `${dts.length} detections ${ev.seconds.toFixed(2)} s CPU; AP ${ev.value.stats[0].toFixed(3)} AP50 ${ev.value.stats[1].toFixed(3)}`);
}
