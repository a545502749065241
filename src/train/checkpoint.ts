import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { tf } from '../backend/index.js';
import { loadModel, saveModel, writeAtomic } from '../nn/index.js';

/** One finished epoch of a fit. */
export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  seconds: number;
}

/** Everything besides tensors that a fit needs to continue exactly where it stopped. */
export interface TrainState {
  /** Epoch in progress (0-based) and the next batch in it. */
  epoch: number;
  batch: number;
  /** Optimizer steps taken so far (drives the learning-rate schedule). */
  step: number;
  /** Running sums of the epoch in progress (non-zero only after an abort mid-epoch). */
  partial: { lossSum: number; correct: number; seen: number };
  history: EpochLog[];
  best: { value: number; epoch: number } | null;
  sinceBest: number;
  stoppedEarly: boolean;
  /** What must match for a resume to make sense. */
  config: { optimizer: string; batchSize: number; trainSize: number; seed: number };
}

interface StateFile extends TrainState {
  version: 1;
  optimizerSpecs: tf.io.WeightsManifestEntry[];
  bestSpecs: tf.io.WeightsManifestEntry[] | null;
}

/** A tensor with the name it is stored under (tfjs-core's NamedTensor, not re-exported by tfjs). */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const STATE = 'state.json';
const OPTIMIZER = 'optimizer.bin';
const BEST = 'best.bin';

async function writeWeights(file: string, named: NamedTensor[]): Promise<tf.io.WeightsManifestEntry[]> {
  const { data, specs } = await tf.io.encodeWeights(named);
  fs.writeFileSync(file, new Uint8Array(data));
  return specs;
}

function readWeights(file: string, specs: tf.io.WeightsManifestEntry[]): NamedTensor[] {
  const buf = fs.readFileSync(file);
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/**
 * Writes model (tfjs format), optimizer slots, best weights and state into a fresh folder, then
 * swaps it in for `dir`: a crash at any moment leaves either the old or the new checkpoint whole.
 */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer,
  state: TrainState, bestWeights: tf.Tensor[] | null): Promise<void> {
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await saveModel(model, tmp);
  const optimizerWeights = await optimizer.getWeights();
  const optimizerSpecs = await writeWeights(path.join(tmp, OPTIMIZER), optimizerWeights);
  // getWeights() makes a fresh scalar for the iteration count; the other entries are live slots.
  tf.dispose(optimizerWeights.filter((w) => w.name === 'iter').map((w) => w.tensor));
  const bestSpecs = bestWeights
    ? await writeWeights(path.join(tmp, BEST), bestWeights.map((tensor, i) => ({ name: `w${i}`, tensor })))
    : null;
  const file: StateFile = { version: 1, ...state, optimizerSpecs, bestSpecs };
  writeAtomic(path.join(tmp, STATE), JSON.stringify(file, null, 1));
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** The folder holding a complete checkpoint (`dir`, or `dir.old` if a swap was interrupted), if any. */
function completeCheckpoint(dir: string): string | null {
  for (const d of [dir, `${dir}.old`]) if (fs.existsSync(path.join(d, STATE))) return d;
  return null;
}

export function hasCheckpoint(dir: string): boolean {
  return completeCheckpoint(dir) !== null;
}

/**
 * Restores model weights and optimizer slots from the checkpoint in `dir` and returns the state and
 * best weights, or null when there is no checkpoint.
 */
export async function loadCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer):
  Promise<{ state: TrainState; bestWeights: tf.Tensor[] | null } | null> {
  const from = completeCheckpoint(dir);
  if (!from) return null;
  let file: StateFile;
  try {
    file = JSON.parse(fs.readFileSync(path.join(from, STATE), 'utf8')) as StateFile;
  } catch (err) {
    throw new KilnError(`malformed checkpoint ${path.join(from, STATE)}: ${(err as Error).message}`);
  }
  if (file.version !== 1) throw new KilnError(`checkpoint ${from} has unknown version ${file.version}`);

  const saved = await loadModel(from);
  const weights = saved.getWeights();
  const want = model.getWeights();
  const same = weights.length === want.length && weights.every((w, i) => tf.util.arraysEqual(w.shape, want[i].shape));
  if (!same) {
    saved.dispose();
    throw new KilnError(`checkpoint ${from} holds a different architecture than this model (delete it to start over)`);
  }
  model.setWeights(weights);
  saved.dispose();

  const slots = readWeights(path.join(from, OPTIMIZER), file.optimizerSpecs);
  await optimizer.setWeights(slots);
  tf.dispose(slots.map((s) => s.tensor));
  const bestWeights = file.bestSpecs ? readWeights(path.join(from, BEST), file.bestSpecs).map((s) => s.tensor) : null;
  const { version: _v, optimizerSpecs: _o, bestSpecs: _b, ...state } = file;
  return { state, bestWeights };
}
