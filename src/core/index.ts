/** core: errors, seeded randomness, registries, progress and paths shared by every part of Kiln. */
export { KilnError, check } from './errors.js';
export { createRng, type Rng } from './rng.js';
export { createRegistry, type Registry } from './registry.js';
export { createProgress, type Progress, type ProgressOptions } from './progress.js';
export { projectRoot, dataPath } from './paths.js';
export { checkInputFile, checkOutputFile, checkOutputDir, fileSha256, readJsonFile, readTextFile } from './files.js';
export {
  optionType, describeOptions, optionDefaults, checkOptionValue, parseOptionValue, checkOptions, parseOptions, withDefaults,
  type OptionSpec, type OptionValue,
} from './options.js';
