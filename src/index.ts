/**
 * Kiln: search architectures under hardware limits, train them, explain their decisions, stress them
 * with adversarial and on-manifold perturbations, and generate and benchmark short video stories.
 *
 * Everything public is here; each capability is also a subpath of its own (`kiln/nas`,
 * `kiln/explain`, `kiln/robust`, `kiln/video`, `kiln/storybench`, `kiln/train`, `kiln/data`,
 * `kiln/nn`, `kiln/report`, `kiln/detect`). Library functions that compute set up the tfjs backend on first use;
 * `initBackend()` chooses one explicitly. docs/guides shows each capability from the CLI and from code.
 *
 * @module kiln
 */
export { tf, initBackend, ensureBackend, resolveBackendName, nativeAvailability, backendInfo, nativeThreads, setSeed, nextSeed, BACKENDS, NATIVE_INSTALL_HINT, type BackendName, type BackendInfo } from './backend/index.js';
export {
  KilnError, createRng, createRegistry, dataPath, optionType, describeOptions, optionDefaults, checkOptionValue, parseOptionValue,
  checkOptions, parseOptions, withDefaults, type Rng, type Registry,
} from './core/index.js';
export * from './math/index.js';
export * from './media/index.js';
export * from './data/index.js';
export * from './nn/index.js';
export * from './train/index.js';
export * from './report/index.js';
export * from './nas/index.js';
export * from './explain/index.js';
export * from './robust/index.js';
export * from './video/index.js';
export * from './storybench/index.js';
export * from './detect/index.js';
