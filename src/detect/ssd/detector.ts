import fs from 'node:fs';
import path from 'node:path';
import { check, KilnError } from '../../core/index.js';
import { nextSeed, requireBackend, tf } from '../../backend/index.js';
import { loadModel, MODEL_FILE, saveModel } from '../../nn/index.js';
import type { Architecture } from '../../nas/index.js';
import { backboneFeatures, bn, depthwise, relu6 } from '../space/builder.js';
import { checkLayout, mobileDetPlan, mobileDetSpace, type DetLayout, type MobileDetSpace, type SpaceVariant } from '../space/space.js';
import type { Category, Detection, DetectionImage } from '../types.js';
import { anchorsPerCell, checkAnchorOptions, DEFAULT_ANCHORS, generateAnchors, type AnchorOptions } from './anchors.js';
import { decodeBoxes, pixelBox } from './boxes.js';
import { DEFAULT_NMS, perClassNms, type NmsOptions } from './nms.js';

/**
 * SSDLite (Sandler et al. 2018): an SSD whose box and class predictors on each feature map are
 * depthwise-separable (3x3 depthwise + BN + ReLU6, then a 1x1 convolution), over a MobileDet
 * backbone. The model is one tfjs LayersModel from images to `[batch, anchors, 4 + classes]`:
 * per anchor the encoded box (see boxes.ts) then one logit per category (sigmoid scores, no
 * background class, as with the focal loss). Decoding and per-class NMS run after the model, on
 * its raw output, so tfjs and the exported ONNX graph share them.
 */

/** Everything besides weights that makes a detector: saved in model.json's user metadata. */
export interface DetectorConfig {
  variant: SpaceVariant;
  layout: DetLayout;
  /** The architecture in the space's text form. */
  arch: string;
  /** [height, width, 3] of the model input; other image sizes are resized to it. */
  inputShape: [number, number, number];
  categories: Category[];
  anchors: AnchorOptions;
}

export interface Detector {
  model: tf.LayersModel;
  config: DetectorConfig;
  /** Centre-size normalized anchors, in the order of the model's output rows. */
  anchors: Float32Array;
}

export interface BuildDetectorOptions {
  space: MobileDetSpace;
  arch: Architecture;
  inputShape: [number, number, number];
  categories: Category[];
  anchors?: AnchorOptions;
}

/** Prior probability of a class at initialization (RetinaNet): the class biases start at -log((1 - p) / p). */
const PRIOR = 0.01;

type T = tf.SymbolicTensor;

function conv1x1(x: T, filters: number, bias: number): T {
  return tf.layers.conv2d({
    filters, kernelSize: 1, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
    biasInitializer: tf.initializers.constant({ value: bias }),
  }).apply(x) as T;
}

/** One depthwise-separable predictor: [h, w, c] -> [h * w * anchors, per]. */
function predictor(x: T, anchors: number, per: number, bias: number): T {
  const [, h, w] = x.shape as number[];
  const y = conv1x1(relu6(bn(depthwise(x, 3, 1))), anchors * per, bias);
  return tf.layers.reshape({ targetShape: [h * w * anchors, per] }).apply(y) as T;
}

function featureSize(t: T): [number, number] {
  return [t.shape[1] as number, t.shape[2] as number];
}

function checkConfig(c: DetectorConfig): void {
  checkLayout(c.layout);
  checkAnchorOptions(c.anchors);
  check(c.inputShape.length === 3 && c.inputShape[2] === 3 && c.inputShape.every((d) => Number.isInteger(d) && d > 0),
    `a detector needs [height, width, 3] images (got [${c.inputShape}])`);
  check(c.categories.length > 0, 'a detector needs at least one category');
  check(new Set(c.categories.map((k) => k.id)).size === c.categories.length, 'category ids must be unique');
}

function assemble(config: DetectorConfig): Detector {
  requireBackend('buildDetector()');
  checkConfig(config);
  const space = mobileDetSpace(config.variant, config.layout);
  const plan = mobileDetPlan(space, space.parse(config.arch));
  const input = tf.input({ shape: config.inputShape });
  const features = backboneFeatures(input, plan, config.layout.featureStages);
  const a = anchorsPerCell(config.anchors);
  const classes = config.categories.length;
  const rows = features.map((f) => tf.layers.concatenate({ axis: -1 }).apply([
    predictor(f, a, 4, 0),
    predictor(f, a, classes, -Math.log((1 - PRIOR) / PRIOR)),
  ]) as T);
  const output = tf.layers.concatenate({ axis: 1, name: 'ssd_outputs' }).apply(rows) as T;
  const model = tf.model({ inputs: input, outputs: output, name: `ssdlite_${space.name}` });
  model.setUserDefinedMetadata({ kilnDetector: config });
  const anchors = generateAnchors(features.map(featureSize), config.anchors);
  if (anchors.length / 4 !== output.shape[1]) throw new Error(`${anchors.length / 4} anchors for ${output.shape[1]} output rows`);
  return { model, config, anchors };
}

/** An SSDLite detector over architecture `arch` of a MobileDet space, with fresh (seeded) weights. */
export function buildDetector(o: BuildDetectorOptions): Detector {
  return assemble({
    variant: o.space.variant, layout: o.space.layout, arch: o.space.toString(o.arch), inputShape: o.inputShape,
    categories: o.categories.map((c) => ({ id: c.id, name: c.name })), anchors: o.anchors ?? DEFAULT_ANCHORS,
  });
}

/** Writes the detector in tfjs layers format (model.json with its config, weights.bin); returns model.json's path. */
export function saveDetector(d: Detector, dir: string): Promise<string> {
  return saveModel(d.model, dir);
}

/** A detector saved by saveDetector (the folder or its model.json). */
export async function loadDetector(modelPath: string): Promise<Detector> {
  const model = await loadModel(modelPath);
  const file = fs.existsSync(modelPath) && fs.statSync(modelPath).isDirectory() ? path.join(modelPath, MODEL_FILE) : modelPath;
  const meta = model.getUserDefinedMetadata() as { kilnDetector?: DetectorConfig } | undefined;
  if (!meta?.kilnDetector) {
    model.dispose();
    throw new KilnError(`${file} is not a Kiln detector (its model.json has no detector config)`);
  }
  const config = meta.kilnDetector;
  checkConfig(config);
  const rebuilt = assemble(config);
  const weights = model.getWeights();
  const want = rebuilt.model.getWeights();
  if (weights.length !== want.length || weights.some((w, i) => !tf.util.arraysEqual(w.shape, want[i].shape))) {
    model.dispose();
    rebuilt.model.dispose();
    throw new KilnError(`${file}: its weights do not fit the architecture its config names`);
  }
  rebuilt.model.setWeights(weights); // copies: getWeights gives the loaded model's own tensors
  model.dispose();
  return rebuilt;
}

/** What prediction needs of an image. */
export type ImageInput = Pick<DetectionImage, 'id' | 'width' | 'height' | 'pixels'>;

export function checkImageInputs(images: readonly ImageInput[]): void {
  for (const im of images) {
    check(Number.isInteger(im.width) && Number.isInteger(im.height) && im.width > 0 && im.height > 0, `image ${im.id} has a malformed size ${im.width}x${im.height}`);
    check(im.pixels.length === im.width * im.height * 3, `image ${im.id} has ${im.pixels.length} values, not ${im.width}x${im.height}x3`);
  }
}

/** The images as one model input batch (resized to the model's size where they differ; `flip[i]` mirrors image i). */
export function inputBatch(images: readonly ImageInput[], [h, w, c]: readonly number[], flip?: readonly boolean[]): tf.Tensor4D {
  return tf.tidy(() => tf.stack(images.map((im, i) => {
    let t: tf.Tensor3D = tf.tensor3d(im.pixels, [im.height, im.width, c]);
    if (im.height !== h || im.width !== w) t = tf.image.resizeBilinear(t, [h, w]);
    return flip?.[i] ? tf.reverse(t, 1) : t;
  })) as tf.Tensor4D);
}

/** Detections of each image from the model's raw output rows (`raw` holds the whole batch). */
export function decodeDetections(d: Detector, raw: Float32Array, images: readonly ImageInput[], nms: NmsOptions = DEFAULT_NMS): Detection[] {
  const classes = d.config.categories.length;
  const per = 4 + classes;
  const n = d.anchors.length / 4;
  const out: Detection[] = [];
  images.forEach((im, b) => {
    const rows = raw.subarray(b * n * per, (b + 1) * n * per);
    const corners = decodeBoxes(rows, per, d.anchors);
    const scores = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) scores[i * classes + c] = 1 / (1 + Math.exp(-rows[i * per + 4 + c]));
    for (const k of perClassNms(corners, scores, classes, nms)) {
      out.push({ imageId: im.id, categoryId: d.config.categories[k.classIndex].id, box: pixelBox(corners, k.index, im.width, im.height), score: k.score });
    }
  });
  return out;
}

export function checkNms(o: NmsOptions): void {
  check(o.scoreThreshold >= 0 && o.scoreThreshold <= 1, `score threshold must be in [0, 1] (got ${o.scoreThreshold})`);
  check(o.iouThreshold >= 0 && o.iouThreshold <= 1, `NMS IoU threshold must be in [0, 1] (got ${o.iouThreshold})`);
  check(Number.isInteger(o.maxDetections) && o.maxDetections > 0, `max detections must be a positive integer (got ${o.maxDetections})`);
}

/** Boxes with scores for every image, in each image's pixel coordinates (COCO results form), batch by batch. */
export async function detect(d: Detector, images: readonly ImageInput[], nms: Partial<NmsOptions> = {}, batchSize = 32): Promise<Detection[]> {
  const o = { ...DEFAULT_NMS, ...nms };
  checkNms(o);
  checkImageInputs(images);
  const out: Detection[] = [];
  for (let s = 0; s < images.length; s += batchSize) {
    const part = images.slice(s, s + batchSize);
    const x = inputBatch(part, d.config.inputShape);
    const y = d.model.predict(x) as tf.Tensor;
    const raw = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    out.push(...decodeDetections(d, raw, part, o));
  }
  return out;
}
