import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { ensureBackend, tf } from '../backend/index.js';

/**
 * Saving and loading LayersModels on disk in the standard tfjs layout (model.json + weights.bin).
 * tfjs-node's file:// handler is unavailable here, so these are small handlers of Kiln's own;
 * the files load in any tfjs app through `tf.loadLayersModel`.
 */

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

/** Writes dir/model.json and dir/weights.bin (creating dir); returns the model.json path. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const modelPath = path.join(dir, MODEL_FILE);
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weightData = artifacts.weightData ?? new ArrayBuffer(0);
    const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData));
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: 'kiln',
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    };
    // Write to temporary names then rename, so an interrupted save never leaves a half-written model.
    writeAtomic(path.join(dir, WEIGHTS_FILE), bytes);
    writeAtomic(modelPath, JSON.stringify(modelJson));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
  }));
  return modelPath;
}

export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes a weights manifest says its file(s) hold (quantized entries count their stored dtype). */
export function manifestBytes(specs: readonly tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[s.quantization?.dtype ?? s.dtype] ?? NaN), 0);
}

export interface LoadModelOptions {
  /** Accept NaN or infinite weights (by default they are an error: every output would be meaningless). */
  allowNonfinite?: boolean;
}

/**
 * Reads a model saved by `saveModel` (or any tfjs layers model.json); accepts the folder too. The
 * weight files must hold exactly the bytes the manifest describes, and the weights must be finite.
 */
export async function loadModel(modelPath: string, options: LoadModelOptions = {}): Promise<tf.LayersModel> {
  await ensureBackend();
  const file = fs.existsSync(modelPath) && fs.statSync(modelPath).isDirectory()
    ? path.join(modelPath, MODEL_FILE) : modelPath;
  if (!fs.existsSync(file)) throw new KilnError(`model file not found: ${file}`);
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as tf.io.ModelJSON;
  } catch (err) {
    throw new KilnError(`malformed model file ${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object' || json.modelTopology === null) {
    throw new KilnError(`malformed model file ${file}: no modelTopology (is it a tfjs layers model.json?)`);
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new KilnError(`malformed model file ${file}: no weightsManifest`);
  }
  const dir = path.dirname(file);
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) {
        const weightsFile = path.join(dir, p);
        if (!fs.existsSync(weightsFile)) throw new KilnError(`weights file not found: ${weightsFile} (named in ${file})`);
        const buf = fs.readFileSync(weightsFile);
        buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      }
    }
    const data = tf.io.concatenateArrayBuffers(buffers);
    const want = manifestBytes(specs);
    if (data.byteLength !== want) {
      throw new KilnError(`weights of ${file} hold ${data.byteLength} bytes, but its manifest describes ${want}: the file is truncated, padded or not this model's`);
    }
    return [specs, data];
  });
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel({ load: async () => artifacts });
  } catch (err) {
    throw new KilnError(`could not load model ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!options.allowNonfinite) {
    const bad = model.weights.find((w) => w.dtype === 'float32' && !(w.read().dataSync() as Float32Array).every(Number.isFinite));
    if (bad) {
      model.dispose();
      throw new KilnError(`model ${file} has NaN or infinite values in weight '${bad.originalName}': its outputs would be meaningless (retrain it, or load it with allowNonfinite)`);
    }
  }
  return model;
}
