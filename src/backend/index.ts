import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { KilnError } from '../core/errors.js';
import { setWasmFixes, WASM_FIXES } from './wasm-fixes.js';

export { tf };
export { setWasmFixes, activeWasmFixes, WASM_FIXES, type WasmFix } from './wasm-fixes.js';

// The missing wasm gradient kernels and the fast paths go in once, when this module loads.
setWasmFixes(WASM_FIXES);

export type BackendName = 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/** The backend asked for by `--backend`, else `KILN_BACKEND`, else wasm. */
export function resolveBackendName(requested?: string): BackendName {
  const name = requested ?? process.env.KILN_BACKEND ?? 'wasm';
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new KilnError(`unknown backend '${name}' (known: ${BACKENDS.join(', ')})`);
  }
  return name as BackendName;
}

/** Selects and initializes the tfjs backend. Safe to call more than once. */
export async function initBackend(requested?: string): Promise<BackendName> {
  const name = resolveBackendName(requested);
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new KilnError(`tfjs backend '${name}' failed to initialize`);
  }
  await tf.ready();
  return name;
}

export { setSeed, nextSeed } from './seed.js';
