/** ONNX writing: protobuf wire format, graph encoding, and export of tfjs LayersModels. */
export { ProtoWriter } from './protobuf.js';
export { encodeModel, type Dim, type OnnxGraph, type OnnxInitializer, type OnnxNode } from './graph.js';
export { exportOnnx, toOnnxGraph, ONNX_INPUT, ONNX_OUTPUT, ONNX_EXPORTABLE_LAYERS } from './export.js';
export { createOnnxSession, onnxRuntimeAvailable, ONNXRUNTIME_HINT, type OnnxSession, type OnnxTensor } from './runtime.js';
