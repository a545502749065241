import { tf } from '../../backend/index.js';
import { createOnnxSession, exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from '../../nn/index.js';
import type { Detection } from '../types.js';
import { checkImageInputs, checkNms, inputBatch, decodeDetections, type Detector, type ImageInput } from './detector.js';
import { DEFAULT_NMS, type NmsOptions } from './nms.js';

/**
 * SSDLite in ONNX: the exported graph is the model up to its raw rows (input `input` NHWC
 * [N, h, w, 3], output `output` [N, anchors, 4 + classes]); box decoding and NMS stay in Kiln's
 * decodeDetections, the same code the tfjs path runs, so both give the same boxes up to float error.
 */
export function exportDetector(d: Detector): Uint8Array {
  return exportOnnx(d.model);
}

/** Detections of `images` by the ONNX graph `bytes` of `d` on onnxruntime-node (optional dependency). */
export async function detectOnnx(d: Detector, bytes: Uint8Array, images: readonly ImageInput[], nms: Partial<NmsOptions> = {}): Promise<Detection[]> {
  const o = { ...DEFAULT_NMS, ...nms };
  checkNms(o);
  checkImageInputs(images);
  const session = await createOnnxSession(bytes);
  try {
    const x = inputBatch(images, d.config.inputShape);
    const data = (await x.data()) as Float32Array;
    tf.dispose(x);
    const result = await session.run({ [ONNX_INPUT]: { data, dims: [images.length, ...d.config.inputShape] } });
    return decodeDetections(d, result[ONNX_OUTPUT].data as Float32Array, images, o);
  } finally {
    await session.release();
  }
}
