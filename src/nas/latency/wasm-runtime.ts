import { Worker } from 'node:worker_threads';
import { KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import type { LatencyOptions, Runner, Runtime } from './runtimes.js';

/**
 * The `wasm` runtime: a tfjs model on the wasm backend in a worker thread of this process, so a
 * program that trains on the native backend can measure the wasm device too (a tfjs backend is
 * per thread: the worker has its own). One worker serves the process, started on first use and not
 * keeping the process alive; it times the runs itself, so message passing is not timed.
 */

export type WasmRequest =
  | { id: number; kind: 'load'; model: number; artifacts: tf.io.ModelArtifacts }
  | { id: number; kind: 'run'; model: number; x: Float32Array; batch: number }
  | { id: number; kind: 'measure'; model: number; shape: number[]; opts: LatencyOptions }
  | { id: number; kind: 'dispose'; model: number };

export type WasmReply = { id: number; ok: true; value?: Float32Array | number } | { id: number; ok: false; error: string };

interface Pending {
  resolve: (v: WasmReply) => void;
  reject: (e: Error) => void;
}

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 0;
let nextModel = 0;

function failAll(message: string): void {
  worker = undefined;
  for (const p of pending.values()) p.reject(new KilnError(message));
  pending.clear();
}

function wasmWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./wasm-worker.js', import.meta.url));
  w.unref();
  w.on('message', (m: WasmReply) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    p?.resolve(m);
  });
  w.on('error', (e) => failAll(`the wasm latency worker failed: ${e.message}`));
  w.on('exit', (code) => failAll(`the wasm latency worker exited (code ${code})`));
  worker = w;
  return w;
}

type Request = WasmRequest extends infer R ? (R extends WasmRequest ? Omit<R, 'id'> : never) : never;

async function call(request: Request): Promise<Float32Array | number | undefined> {
  const w = wasmWorker();
  const id = nextId++;
  // Referenced while an answer is awaited, so the process waits for it.
  w.ref();
  const reply = await new Promise<WasmReply>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    try {
      w.postMessage({ ...request, id });
    } catch (e) {
      pending.delete(id);
      if (pending.size === 0) w.unref();
      reject(e);
    }
  });
  if (!reply.ok) throw new KilnError(`wasm runtime: ${reply.error}`);
  return reply.value;
}

/** The model's topology and weights, in memory (tfjs's own serialization). */
async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    saved = { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: tf.io.CompositeArrayBuffer.join(a.weightData ?? new ArrayBuffer(0)) };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return saved!;
}

export const wasmRuntime: Runtime = {
  name: 'wasm',
  async load(model) {
    const id = nextModel++;
    await call({ kind: 'load', model: id, artifacts: await artifactsOf(model) });
    const runner: Runner = {
      run: async (x, batch) => (await call({ kind: 'run', model: id, x, batch })) as Float32Array,
      measure: async (shape, { batch, warmup, repeats, statistic }) =>
        (await call({ kind: 'measure', model: id, shape: [...shape], opts: { batch, warmup, repeats, statistic } })) as number,
      dispose: () => {
        // Fire and forget: a worker that is gone holds no model.
        if (worker) worker.postMessage({ kind: 'dispose', model: id, id: -1 });
      },
    };
    return runner;
  },
};
