"""Writes test/fixtures/detect/coco-eval-cases.json: seeded COCO ground truths and results with the stats that
pycocotools' own COCOeval (bbox) gives them, for test/detect-coco-eval.test.ts.

pycocotools is not packaged for Debian, so this runs the reference Python sources of a checkout of
github.com/cocodataset/cocoapi (PythonAPI/pycocotools/coco.py and cocoeval.py, unchanged) with two stand-ins:
`pycocotools.mask.iou` for boxes, a transcription of common/maskApi.c `bbIou` (the only mask function bbox evaluation
calls), and an empty `matplotlib` (coco.py imports it for drawing only). numpy >= 1.24 dropped `np.float`, which
cocoeval.py still uses; it is set back to `float`.

Usage: python3 tools/coco_eval_fixture.py COCOAPI_CHECKOUT [OUT.json]
"""
import json
import os
import random
import sys
import types

import numpy as np


def bb_iou(dt, gt, iscrowd):
    """common/maskApi.c bbIou, returned as pycocotools.mask.iou does: [] when either side is empty, else D x G."""
    if len(dt) == 0 or len(gt) == 0:
        return []
    o = np.zeros((len(dt), len(gt)))
    for g, G in enumerate(gt):
        ga = G[2] * G[3]
        crowd = bool(iscrowd[g])
        for d, D in enumerate(dt):
            da = D[2] * D[3]
            w = min(D[2] + D[0], G[2] + G[0]) - max(D[0], G[0])
            if w <= 0:
                continue
            h = min(D[3] + D[1], G[3] + G[1]) - max(D[1], G[1])
            if h <= 0:
                continue
            i = w * h
            u = da if crowd else da + ga - i
            o[d, g] = i / u
    return o


def load_reference(checkout):
    np.float = float
    for name in ('matplotlib', 'matplotlib.pyplot', 'matplotlib.collections', 'matplotlib.patches'):
        stub = types.ModuleType(name)
        stub.PatchCollection = stub.Polygon = None
        sys.modules[name] = stub
    mask = types.ModuleType('pycocotools.mask')
    mask.iou = bb_iou
    sys.modules['pycocotools.mask'] = mask
    sys.path.insert(0, os.path.join(checkout, 'PythonAPI'))
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    return COCO, COCOeval


def reference_stats(COCO, COCOeval, gt, dt):
    coco_gt = COCO()
    coco_gt.dataset = json.loads(json.dumps(gt))
    coco_gt.createIndex()
    coco_dt = coco_gt.loadRes(json.loads(json.dumps(dt)))
    ev = COCOeval(coco_gt, coco_dt, 'bbox')
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return [float(x) for x in ev.stats]


def random_case(seed):
    """Images of 200-320 pixels, boxes of every COCO size class, crowds, segment areas unlike the box area, a
    category with no ground truth, rounded (so tied) scores and images with more than 100 detections; detection noise grows with `seed % 3`."""
    rng = random.Random(seed)
    noise = (0.02, 0.06, 0.15)[seed % 3]
    categories = [{'id': c, 'name': f'c{c}'} for c in (1, 3, 7, 9)]
    images, annotations, results = [], [], []
    for i in range(rng.randint(4, 9)):
        image_id = 10 + 3 * i
        w, h = rng.randint(200, 320), rng.randint(200, 320)
        images.append({'id': image_id, 'width': w, 'height': h, 'file_name': f'{image_id}.png'})
        for _ in range(rng.randint(0, 7)):
            side = rng.choice([rng.uniform(4, 30), rng.uniform(33, 95), rng.uniform(100, 180)])
            bw, bh = min(side * rng.uniform(0.6, 1.4), w - 1), min(side * rng.uniform(0.6, 1.4), h - 1)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            box = [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)]
            area = box[2] * box[3] * (rng.uniform(0.5, 0.9) if rng.random() < 0.3 else 1)
            ann = {'id': len(annotations) + 1, 'image_id': image_id, 'category_id': rng.choice([1, 3, 7]), 'bbox': box,
                   'area': round(area, 3), 'iscrowd': 1 if rng.random() < 0.12 else 0}
            annotations.append(ann)
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                jitter = [box[0] + rng.gauss(0, box[2] * noise), box[1] + rng.gauss(0, box[3] * noise),
                          box[2] * rng.uniform(1 - 2 * noise, 1 + 2 * noise), box[3] * rng.uniform(1 - 2 * noise, 1 + 2 * noise)]
                cat = ann['category_id'] if rng.random() < 0.85 else rng.choice([1, 3, 7, 9])
                results.append({'image_id': image_id, 'category_id': cat, 'bbox': [round(v, 2) for v in jitter],
                                'score': round(rng.random(), 1)})
        for _ in range(rng.choice([2, 5, 120])):
            bw, bh = rng.uniform(3, 150), rng.uniform(3, 150)
            results.append({'image_id': image_id, 'category_id': rng.choice([1, 3, 7, 9]),
                            'bbox': [round(rng.uniform(0, w - bw), 2), round(rng.uniform(0, h - bh), 2), round(bw, 2), round(bh, 2)],
                            'score': round(rng.random(), 2)})
    rng.shuffle(results)
    return {'images': images, 'categories': categories, 'annotations': annotations}, results


def main():
    checkout = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else 'test/fixtures/detect/coco-eval-cases.json'
    COCO, COCOeval = load_reference(checkout)
    cases = []
    for seed in range(8):
        gt, dt = random_case(seed)
        cases.append({'name': f'random-{seed}', 'gt': gt, 'dt': dt, 'stats': reference_stats(COCO, COCOeval, gt, dt)})
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump({'source': 'pycocotools COCOeval (bbox), cocodataset/cocoapi; tools/coco_eval_fixture.py',
                   'cases': cases}, f, separators=(',', ':'))
    print(f'wrote {out}: {len(cases)} cases')


if __name__ == '__main__':
    main()
