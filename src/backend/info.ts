import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { loadNativeAddon } from './native/addon.js';
import { nativeThreads } from './native/index.js';

/** What `kiln doctor` prints: the backend in use and what each backend would run on. */
export interface BackendInfo {
  active: string;
  tfjs: string;
  node: string;
  cores: number;
  native:
    | { available: true; addon: string; torch: string; threads: number; kilnThreads: string | null; blas: string; blasThreads: number; oneDNN: boolean; parallel: string }
    | { available: false; reason: string };
}

/** Describes the backends; call after initBackend so `active` and the thread count are current. */
export function backendInfo(): BackendInfo {
  const load = loadNativeAddon();
  let native: BackendInfo['native'];
  if (load.ok) {
    const i = load.addon.info();
    native = {
      available: true, addon: load.file, torch: i.torch, threads: tf.getBackend() === 'native' ? i.threads : nativeThreads(),
      kilnThreads: process.env.KILN_THREADS ?? null, blas: i.blas, blasThreads: i.blasThreads, oneDNN: i.mkldnn,
      parallel: i.parallel.split('\n').find((l) => l.startsWith('ATen parallel backend'))?.split(':')[1]?.trim() ?? 'unknown',
    };
  } else {
    native = { available: false, reason: load.reason };
  }
  return { active: tf.getBackend(), tfjs: tf.version.tfjs, node: process.version, cores: os.availableParallelism(), native };
}
