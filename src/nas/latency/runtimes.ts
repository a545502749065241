import { KilnError, createRegistry } from '../../core/index.js';
import { median } from '../../math/index.js';
import { tf } from '../../backend/index.js';
import { wasmRuntime } from './wasm-runtime.js';
import { createOnnxSession, exportOnnx, ONNX_INPUT, ONNX_OUTPUT, type OnnxSession } from '../../nn/onnx/index.js';

/**
 * Real runtimes a standalone model can be deployed on, and wall-clock latency on them:
 * tfjs on its active backend (wasm by default) and onnxruntime-node on the exported ONNX graph
 * (one intra-op thread, so both runtimes use one core and measurements do not fight each other).
 */

/** A model loaded on a runtime: runs a batch of flat float inputs and returns the flat outputs. */
export interface Runner {
  run(x: Float32Array, batch: number): Promise<Float32Array>;
  /** Times itself where it runs (another thread), so that passing messages is not timed; measureRunner uses it. */
  measure?(shape: readonly number[], opts: LatencyOptions): Promise<number>;
  dispose(): void;
}

export interface Runtime {
  readonly name: string;
  load(model: tf.LayersModel): Promise<Runner>;
}

export function inputShapeOf(model: tf.LayersModel): number[] {
  return model.inputs[0].shape.slice(1) as number[];
}

const tfjsRuntime: Runtime = {
  name: 'tfjs',
  async load(model) {
    const shape = inputShapeOf(model);
    return {
      async run(x, batch) {
        const y = tf.tidy(() => model.predict(tf.tensor(x, [batch, ...shape])) as tf.Tensor);
        const out = (await y.data()) as Float32Array;
        y.dispose();
        return out;
      },
      dispose() {},
    };
  },
};

/** An onnxruntime-node session over ONNX bytes (one thread, all graph optimizations). */
export async function onnxSession(bytes: Uint8Array): Promise<OnnxSession> {
  try {
    return await createOnnxSession(bytes);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    throw new KilnError(`onnxruntime could not load the exported model: ${(e as Error).message.split('\n')[0]}`);
  }
}

const onnxRuntime: Runtime = {
  name: 'ort',
  async load(model) {
    const shape = inputShapeOf(model);
    const session = await onnxSession(exportOnnx(model));
    return {
      async run(x, batch) {
        const result = await session.run({ [ONNX_INPUT]: { data: x, dims: [batch, ...shape] } });
        return result[ONNX_OUTPUT].data as Float32Array;
      },
      dispose() {
        void session.release();
      },
    };
  },
};

export const runtimes = createRegistry<Runtime>('runtime');
runtimes.register('tfjs', tfjsRuntime, 'tfjs LayersModel on the active tfjs backend (wasm by default), one thread');
runtimes.register('ort', onnxRuntime, 'onnxruntime-node 1.30 CPU on the exported ONNX graph, one intra-op thread');
runtimes.register('wasm', wasmRuntime, 'tfjs LayersModel on the wasm backend in a worker thread (whatever backend this process trains on), one thread');

export interface LatencyOptions {
  batch?: number;
  /** Untimed runs first (JIT, allocation, kernel caches). */
  warmup?: number;
  repeats?: number;
  /**
   * How repeats are summarized: the median (default), or the minimum, which on a loaded
   * machine estimates the uncontended time better (other processes only ever add time).
   */
  statistic?: 'median' | 'min';
}

/** Wall-clock milliseconds (median or minimum over repeats) of one forward pass of `batch` random inputs. */
export async function measureRunner(runner: Runner, shape: readonly number[], opts: LatencyOptions = {}): Promise<number> {
  if (runner.measure) return runner.measure(shape, opts);
  const batch = opts.batch ?? 1;
  const x = new Float32Array(batch * shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5; // deterministic, not all zeros
  for (let i = 0; i < (opts.warmup ?? 3); i++) await runner.run(x, batch);
  const times: number[] = [];
  for (let i = 0; i < (opts.repeats ?? 10); i++) {
    const t0 = performance.now();
    await runner.run(x, batch);
    times.push(performance.now() - t0);
  }
  return opts.statistic === 'min' ? Math.min(...times) : median(times);
}

/** Median latency of `model` on the named runtime. */
export async function measureLatency(model: tf.LayersModel, runtime: string, opts: LatencyOptions = {}): Promise<number> {
  const runner = await runtimes.get(runtime).load(model);
  try {
    return await measureRunner(runner, inputShapeOf(model), opts);
  } finally {
    runner.dispose();
  }
}
