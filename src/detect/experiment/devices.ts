import { KilnError } from '../../core/index.js';
import { latencyDevice, type LatencyDevice } from '../../nas/latency/index.js';

/**
 * The devices a MobileDet is searched for and measured on: Kiln's runtimes at batch 1 (the paper's
 * mobile setting). `native` times the tfjs model on the native backend (training runs there too);
 * `wasm` times it on the wasm backend in a worker thread and `onnx` the exported graph on
 * onnxruntime-node, both training on the default backend (native where it loads: its CNN training
 * step measured 14x faster than wasm's, BENCHMARKS.md).
 */
export const DETECTION_DEVICES = ['native', 'wasm', 'onnx'] as const;
export type DetectionDeviceName = (typeof DETECTION_DEVICES)[number];

export interface DetectionDevice {
  name: DetectionDeviceName;
  /** tfjs backend to run on (undefined: the default one). */
  backend?: string;
  latency: LatencyDevice;
}

export function detectionDevice(name: string): DetectionDevice {
  switch (name) {
    case 'native':
      return { name, backend: name, latency: latencyDevice('tfjs', 1) };
    case 'wasm':
      return { name, latency: latencyDevice('wasm', 1) };
    case 'onnx':
      return { name, latency: latencyDevice('ort', 1) };
    default:
      throw new KilnError(`unknown device '${name}' (known: ${DETECTION_DEVICES.join(', ')})`);
  }
}
