/**
 * Models: the classifier builders (`mlp`, `cnn` and the `models` registry), saving and loading in the
 * standard tfjs layers format, and ONNX export.
 *
 * @module kiln/nn
 */
export {
  mlp, cnn, models, logitsModel, reseedDropout, ACTIVATIONS,
  type MlpOptions, type CnnOptions, type ModelSpec, type ModelBuilder, type Activation,
} from './builders.js';
export { saveModel, loadModel, writeAtomic, manifestBytes, MODEL_FILE, WEIGHTS_FILE, type LoadModelOptions } from './io.js';
export * from './onnx/index.js';
export {
  LAYER_CLASSES, convertLayer, handledClasses, unsupportedLayer,
  type LayerSpec, type LayerSpecOf, type LayerKind, type LayerHandlers, type LayerWindow, type ConvSettings,
} from './layer-table.js';
