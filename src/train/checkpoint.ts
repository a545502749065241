import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { tf } from '../backend/index.js';
import { loadModel, manifestBytes, saveModel, writeAtomic } from '../nn/index.js';

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
  config: {
    optimizer: string; batchSize: number; trainSize: number; seed: number;
    /** Settings a resume may change, as they were for this run (absent in older checkpoints). */
    settings?: Record<string, number | string>;
  };
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
  const buf = fs.existsSync(file) ? fs.readFileSync(file) : null;
  if (!buf) throw new KilnError(`corrupt checkpoint: ${file} is missing`);
  const want = manifestBytes(specs);
  if (buf.byteLength !== want) throw new KilnError(`corrupt checkpoint: ${file} holds ${buf.byteLength} bytes, its manifest ${want}`);
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/** One file-system step of a checkpoint write; exported to the tests, which crash between any two. */
export interface CheckpointStep {
  name: string;
  run: () => void | Promise<void>;
}

const complete = (d: string): boolean => fs.existsSync(path.join(d, STATE));

/** Deleting the state file first means a half-deleted folder is never taken for a checkpoint. */
const removeSteps = (d: string, when: () => boolean = () => true): CheckpointStep[] => [
  { name: `unlink ${path.basename(d)}/${STATE}`, run: () => { if (when()) fs.rmSync(path.join(d, STATE), { force: true }); } },
  { name: `remove ${path.basename(d)}`, run: () => { if (when()) fs.rmSync(d, { recursive: true, force: true }); } },
];

/** Moves a complete `tmp` in as `dir` (keeping the previous one as `old` until then); a no-op otherwise. */
function swapSteps(dir: string, tmp: string, old: string): CheckpointStep[] {
  return [
    ...removeSteps(old, () => complete(tmp)),
    { name: 'move dir to old', run: () => { if (complete(tmp) && fs.existsSync(dir)) fs.renameSync(dir, old); } },
    { name: 'move tmp to dir', run: () => { if (complete(tmp)) fs.renameSync(tmp, dir); } },
    ...removeSteps(old, () => complete(dir)),
  ];
}

/**
 * The write protocol. A folder is a checkpoint when it holds `state.json`, which is written last
 * (atomically) and deleted first. A write first finishes a swap that a crash interrupted, then writes
 * the new checkpoint whole into `dir.tmp`, then swaps it in; so no step deletes the newest checkpoint
 * before a newer one is complete, and after a crash between any two steps (of any number of crashed
 * writes) `dir`, `dir.tmp` or `dir.old` holds it. The reader takes the newest complete one.
 */
export function checkpointSteps(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer,
  state: TrainState, bestWeights: tf.Tensor[] | null): CheckpointStep[] {
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  let specs: Pick<StateFile, 'optimizerSpecs' | 'bestSpecs'>;
  return [
    ...swapSteps(dir, tmp, old),
    ...removeSteps(tmp),
    {
      name: 'write tmp', run: async () => {
        await saveModel(model, tmp);
        const optimizerWeights = await optimizer.getWeights();
        const optimizerSpecs = await writeWeights(path.join(tmp, OPTIMIZER), optimizerWeights);
        // getWeights() makes a fresh scalar for the iteration count; the other entries are live slots.
        tf.dispose(optimizerWeights.filter((w) => w.name === 'iter').map((w) => w.tensor));
        const bestSpecs = bestWeights
          ? await writeWeights(path.join(tmp, BEST), bestWeights.map((tensor, i) => ({ name: `w${i}`, tensor })))
          : null;
        specs = { optimizerSpecs, bestSpecs };
      },
    },
    { name: `write tmp/${STATE}`, run: () => writeAtomic(path.join(tmp, STATE), JSON.stringify({ version: 1, ...state, ...specs }, null, 1)) },
    ...swapSteps(dir, tmp, old),
  ];
}

/** Writes model (tfjs format), optimizer slots, best weights and state; see `checkpointSteps`. */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer,
  state: TrainState, bestWeights: tf.Tensor[] | null): Promise<void> {
  for (const step of checkpointSteps(dir, model, optimizer, state, bestWeights)) await step.run();
}

function readState(folder: string): StateFile {
  const file = path.join(folder, STATE);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KilnError(`corrupt checkpoint: ${file}: ${(err as Error).message}`);
  }
  const f = json as Partial<StateFile> | null;
  const bad = (field: string) => new KilnError(`corrupt checkpoint: ${file} lacks a valid \`${field}\``);
  if (!f || typeof f !== 'object') throw bad('state');
  if (f.version !== 1) throw new KilnError(`checkpoint ${folder} has unknown version ${String(f.version)}`);
  for (const key of ['epoch', 'batch', 'step', 'sinceBest'] as const) {
    if (!Number.isInteger(f[key]) || (f[key] as number) < 0) throw bad(key);
  }
  if (!f.partial || ![f.partial.lossSum, f.partial.correct, f.partial.seen].every(Number.isFinite)) throw bad('partial');
  if (!Array.isArray(f.history)) throw bad('history');
  if (typeof f.stoppedEarly !== 'boolean') throw bad('stoppedEarly');
  const c = f.config;
  if (!c || typeof c.optimizer !== 'string' || ![c.batchSize, c.trainSize, c.seed].every(Number.isFinite)) throw bad('config');
  if (c.settings !== undefined && (typeof c.settings !== 'object' || c.settings === null)) throw bad('config.settings');
  if (!Array.isArray(f.optimizerSpecs)) throw bad('optimizerSpecs');
  if (f.bestSpecs !== null && !Array.isArray(f.bestSpecs)) throw bad('bestSpecs');
  if (f.best !== null && !(f.best && Number.isFinite(f.best.value) && Number.isInteger(f.best.epoch))) throw bad('best');
  return f as StateFile;
}

/** The newest complete checkpoint among `dir`, `dir.tmp` and `dir.old` (see `checkpointSteps`). */
function completeCheckpoint(dir: string): { folder: string; file: StateFile } | null {
  const found = [dir, `${dir}.tmp`, `${dir}.old`]
    .filter((d) => fs.existsSync(path.join(d, STATE)))
    .map((folder) => ({ folder, file: readState(folder) }));
  return found.reduce<{ folder: string; file: StateFile } | null>((a, b) => (a && a.file.step >= b.file.step ? a : b), null);
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
  const found = completeCheckpoint(dir);
  if (!found) return null;
  const { folder: from, file } = found;

  const slots = readWeights(path.join(from, OPTIMIZER), file.optimizerSpecs);
  const best = file.bestSpecs ? readWeights(path.join(from, BEST), file.bestSpecs) : null;
  const saved = await loadModel(from).catch((err) => {
    tf.dispose([...slots, ...best ?? []].map((s) => s.tensor));
    throw err;
  });
  try {
    const weights = saved.getWeights();
    const want = model.getWeights();
    if (weights.length !== want.length || weights.some((w, i) => !tf.util.arraysEqual(w.shape, want[i].shape))) {
      tf.dispose([...slots, ...best ?? []].map((s) => s.tensor));
      throw new KilnError(`checkpoint ${from} holds a different architecture than this model (delete it to start over)`);
    }
    model.setWeights(weights);
  } finally {
    saved.dispose();
  }
  await optimizer.setWeights(slots);
  tf.dispose(slots.map((s) => s.tensor));
  const bestWeights = best ? best.map((s) => s.tensor) : null;
  const { version: _v, optimizerSpecs: _o, bestSpecs: _b, ...state } = file;
  return { state, bestWeights };
}
