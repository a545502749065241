import { KilnError } from '../../core/index.js';

/**
 * onnxruntime-node, an optional dependency: its install script fetches CUDA libraries from outside
 * the npm registry, which fails on offline machines, and npm then leaves the package out. Kiln's
 * ONNX features load it on use and say how to get it when it is missing. These types are the
 * part of its API Kiln uses, so Kiln's own declarations do not depend on it.
 */
export interface OnnxTensor {
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  readonly dims: readonly number[];
}

export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Declared shape of the first input ([] when the model does not declare one). */
  readonly inputShape: ReadonlyArray<number | string>;
  run(feeds: Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }>): Promise<Record<string, OnnxTensor>>;
  release(): Promise<void>;
}

interface Ort {
  InferenceSession: {
    create(source: string | Uint8Array, options: Record<string, unknown>): Promise<{
      inputNames: readonly string[];
      outputNames: readonly string[];
      inputMetadata?: ReadonlyArray<{ isTensor: boolean; shape?: ReadonlyArray<number | string> }>;
      run(feeds: Record<string, unknown>): Promise<Record<string, OnnxTensor>>;
      release(): Promise<void>;
    }>;
  };
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: readonly number[]) => unknown;
}

export const ONNXRUNTIME_HINT = 'onnxruntime-node is not installed; install it with ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node (its install script otherwise downloads CUDA libraries)';

let ort: Ort | undefined;

async function loadOrt(): Promise<Ort> {
  if (ort) return ort;
  try {
    ort = (await import('onnxruntime-node' as string)) as Ort;
  } catch {
    throw new KilnError(ONNXRUNTIME_HINT);
  }
  return ort;
}

/** Whether onnxruntime-node can be loaded here. */
export async function onnxRuntimeAvailable(): Promise<boolean> {
  try {
    await loadOrt();
    return true;
  } catch {
    return false;
  }
}

/** A CPU inference session over an ONNX file or ONNX bytes; `threads` intra-op threads. */
export async function createOnnxSession(source: string | Uint8Array, threads = 1): Promise<OnnxSession> {
  const rt = await loadOrt();
  const session = await rt.InferenceSession.create(source, { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 });
  const meta = session.inputMetadata?.[0];
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputShape: meta && meta.isTensor ? meta.shape ?? [] : [],
    run: (feeds) => session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) =>
      [k, new rt.Tensor(t.data instanceof Float32Array ? 'float32' : 'int64', t.data, t.dims)]))),
    release: () => session.release(),
  };
}
