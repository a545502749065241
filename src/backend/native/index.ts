import fs from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { KilnError } from '../../core/errors.js';
import { loadNativeAddon, nativeAddonPath, type NativeLoad } from './addon.js';
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

let kernelsRegistered = false;

/**
 * Loads the addon (once) and registers its kernels with tfjs; or says why it cannot. Kernels the
 * backend lacks stay unregistered, so tfjs fails naming them.
 */
export function loadNative(): NativeLoad {
  const load = loadNativeAddon();
  if (load.ok && !kernelsRegistered) {
    kernelsRegistered = true;
    for (const kernel of nativeKernels(load.addon)) tf.registerKernel(kernel);
  }
  return load;
}

/**
 * Registers the `native` backend with tfjs when its addon file exists. libtorch itself loads only
 * when the backend is first used (it adds about a second to start-up, which commands that do not
 * compute should not pay). `priority` decides whether tfjs picks it by itself (wasm has 2).
 */
export function registerNativeBackend(priority = 0): void {
  if (!fs.existsSync(nativeAddonPath())) return;
  tf.registerBackend('native', () => {
    const load = loadNative();
    if (!load.ok) throw new Error(`the native backend is unavailable: ${load.reason}`);
    load.addon.setThreads(nativeThreads());
    return new NativeBackend(load.addon);
  }, priority);
}

/** Sets libtorch's (and OpenBLAS's) thread count for the calling thread; returns it. */
export function setNativeThreads(n: number): number {
  const load = loadNative();
  if (!load.ok) throw new KilnError(`the native backend is unavailable: ${load.reason}`);
  return load.addon.setThreads(n);
}
