export {
  mlp, cnn, models, logitsModel, reseedDropout, ACTIVATIONS,
  type MlpOptions, type CnnOptions, type ModelSpec, type ModelBuilder, type Activation,
} from './builders.js';
export { saveModel, loadModel, writeAtomic, MODEL_FILE, WEIGHTS_FILE } from './io.js';
export * from './onnx/index.js';
export {
  LAYER_CLASSES, convertLayer, handledClasses, unsupportedLayer,
  type LayerSpec, type LayerKind, type LayerHandlers, type LayerWindow, type ConvSettings,
} from './layer-table.js';
