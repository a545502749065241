/**
 * The tfjs backend Kiln computes on: `native` (libtorch, an N-API addon built by npm ci where libtorch
 * is installed, every core), `wasm` (always there) or tfjs's pure-JS `cpu`; `initBackend` picks one,
 * `backendInfo` says what runs, `setSeed` seeds Kiln's weight initializers.
 *
 * @module kiln/backend
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { KilnError } from '../core/errors.js';
import { loadNative, NATIVE_INSTALL_HINT, nativeThreads, registerNativeBackend, setNativeThreads } from './native/index.js';
import { setWasmFixes, WASM_FIXES } from './wasm-fixes.js';
import './fused.js';

/** The `@tensorflow/tfjs` namespace Kiln computes with: tensors made with it work with Kiln's models. */
export { tf };
export { NATIVE_INSTALL_HINT, nativeThreads } from './native/index.js';
export { backendInfo, type BackendInfo } from './info.js';

// The missing wasm gradient kernels and the fast paths go in once, when this module loads.
setWasmFixes(WASM_FIXES);

// tfjs uses its highest-priority backend until told otherwise, so code that never calls
// initBackend gets Kiln's default too: native when it loads, unless KILN_BACKEND names another.
registerNativeBackend(envBackend() === undefined || envBackend() === 'native' ? 10 : 0);

/** KILN_BACKEND, where set to something (an empty value counts as unset). */
function envBackend(): string | undefined {
  return process.env.KILN_BACKEND || undefined;
}

export type BackendName = 'native' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['native', 'wasm', 'cpu'];

/** Whether the native backend (libtorch) loads here, and why not when it does not. */
export function nativeAvailability(): { ok: true } | { ok: false; reason: string } {
  const load = loadNative();
  return load.ok ? { ok: true } : { ok: false, reason: load.reason };
}

/** The backend asked for by the argument, else `KILN_BACKEND`, else native when it loads, else wasm. */
export function resolveBackendName(requested?: string): BackendName {
  const name = requested ?? envBackend() ?? (nativeAvailability().ok ? 'native' : 'wasm');
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new KilnError(`unknown backend '${name}' (known: ${BACKENDS.join(', ')})`);
  }
  return name as BackendName;
}

let fallbackNoticed = false;

/**
 * Selects and initializes the tfjs backend; safe to call more than once. Asking for `native`
 * where it cannot load is an error; by default Kiln falls back to wasm and says so once on stderr.
 * `threads` sets libtorch's threads for this thread (default: `KILN_THREADS` or every core).
 */
export async function initBackend(requested?: string, options: { threads?: number } = {}): Promise<BackendName> {
  const explicit = requested ?? envBackend();
  const name = resolveBackendName(requested);
  if (name === 'native') {
    const native = nativeAvailability();
    if (!native.ok) throw new KilnError(`the native backend is unavailable: ${native.reason}; ${NATIVE_INSTALL_HINT}`);
    setNativeThreads(options.threads ?? nativeThreads());
  } else if (explicit === undefined && !fallbackNoticed) {
    fallbackNoticed = true;
    process.stderr.write(`kiln: using the wasm backend (${(nativeAvailability() as { reason: string }).reason}); for the faster native backend ${NATIVE_INSTALL_HINT}\n`);
  }
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new KilnError(`tfjs backend '${name}' failed to initialize`);
  }
  await tf.ready();
  initialized = true;
  return name;
}

let initialized = false;

/**
 * Initializes Kiln's default backend unless one is already set up (by initBackend or
 * tf.setBackend); library functions that compute call it, so a program need not.
 */
export async function ensureBackend(): Promise<void> {
  if (initialized) return;
  const engine = tf.engine() as unknown as { backendName: string | null; backendInstance: unknown };
  if (engine.backendInstance != null) return;
  await initBackend();
}

/**
 * For synchronous entry points (model builders): sets up a backend that starts synchronously
 * (native, cpu) when none is set up yet; wasm starts asynchronously, so then the error says what to call.
 */
export function requireBackend(what: string): void {
  const engine = tf.engine() as unknown as { backendInstance: unknown };
  if (initialized || engine.backendInstance != null) return;
  if (resolveBackendName() === 'wasm') {
    throw new KilnError(`${what} needs a backend, and wasm starts asynchronously: call \`await initBackend()\` first (async Kiln functions such as fit or loadModel do it themselves)`);
  }
  // Native and cpu start synchronously: initBackend's synchronous part sets them up before it returns.
  initBackend().catch(() => {});
  if (engine.backendInstance == null) throw new KilnError(`${what} needs a backend: call \`await initBackend()\` first to see why none starts`);
}

export { setSeed, nextSeed } from './seed.js';
