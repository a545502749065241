import { KilnError } from '../../core/index.js';
import { latencyDevice, type LatencyDevice } from '../../nas/latency/index.js';

/**
 * The devices a MobileDet is searched for and measured on: Kiln's runtimes at batch 1 (the paper's
 * mobile setting). `native` and `wasm` time the tfjs model on that backend (training runs there too);
 * `onnx` times the exported graph on onnxruntime-node, training on the default backend.
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
    case 'wasm':
      return { name, backend: name, latency: latencyDevice('tfjs', 1) };
    case 'onnx':
      return { name, latency: latencyDevice('ort', 1) };
    default:
      throw new KilnError(`unknown device '${name}' (known: ${DETECTION_DEVICES.join(', ')})`);
  }
}
