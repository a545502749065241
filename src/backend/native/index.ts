import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { KilnError } from '../../core/errors.js';
import { loadNativeAddon, type NativeLoad } from './addon.js';
import { NativeBackend } from './backend.js';
import { nativeKernels } from './kernels/index.js';

export { NATIVE_INSTALL_HINT, nativeAddonPath, type NativeAddon } from './addon.js';
export { NativeBackend } from './backend.js';

/**
 * Threads for libtorch: `KILN_THREADS` if set, else every core the process may use. A worker
 * thread running its own training passes its share explicitly.
 */
export function nativeThreads(): number {
  const raw = process.env.KILN_THREADS;
  if (raw === undefined || raw === '') return os.availableParallelism();
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < 1 || n > 1024) {
    throw new KilnError(`KILN_THREADS must be an integer from 1 to 1024, got '${raw}'`);
  }
  return n;
}

let registered: NativeLoad | undefined;

/**
 * Registers the `native` backend and its kernels with tfjs when the addon loads; otherwise says
 * why not. Kernels the backend lacks stay unregistered, so tfjs fails naming them. `priority`
 * decides whether tfjs picks it by itself (wasm has 2).
 */
export function registerNativeBackend(priority = 0): NativeLoad {
  if (registered) return registered;
  const load = loadNativeAddon();
  registered = load;
  if (!load.ok) return load;
  for (const kernel of nativeKernels(load.addon)) tf.registerKernel(kernel);
  tf.registerBackend('native', () => new NativeBackend(load.addon), priority);
  return load;
}

/** Sets libtorch's (and OpenBLAS's) thread count for the calling thread; returns it. */
export function setNativeThreads(n: number): number {
  const load = registerNativeBackend();
  if (!load.ok) throw new KilnError(`the native backend is unavailable: ${load.reason}`);
  return load.addon.setThreads(n);
}
