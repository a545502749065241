import { KilnError, createRegistry } from '../core/index.js';
import { type Frames, frameSize, toUint8 } from '../media/index.js';
import { loadOnnx, onnxFrameExtractor, runOnnx } from './features.js';

/**
 * Dual encoders for video-text matching (VTM): frames and texts go into one embedding space.
 *
 * Built in, 'color-words': a frame is the share of its pixels nearest to each of 12 named colours,
 * a text counts those colour words. It needs no model and is meaningful exactly for stories whose
 * prompts name colours (Kiln's synthetic stories); for real footage load a CLIP-style ONNX pair.
 *
 * ONNX pair, 'IMAGE.onnx,TEXT.onnx': the image model follows the frame-model contract
 * (float32 [N, H, W, 3] in [0, 1] -> [N, D]); the text model takes int64 [N, L] UTF-8 bytes of each
 * prompt, zero padded or cut to L (L from the model's fixed input shape, else 77) -> [N, D].
 * Byte-level input keeps tokenisation inside the exported model.
 */
export interface DualEncoder {
  name: string;
  embedFrames(f: Frames): Promise<Float64Array[]>;
  /** A video-text model embeds each segment whole (motion included); without it VTM averages frame embeddings. */
  embedSegments?(segments: Frames[]): Promise<Float64Array[]>;
  embedTexts(texts: string[]): Promise<Float64Array[]>;
}

const COLORS: [string, [number, number, number], string[]][] = [
  ['red', [220, 40, 40], ['red', 'crimson', 'scarlet']],
  ['green', [40, 180, 60], ['green']],
  ['blue', [40, 70, 220], ['blue', 'navy']],
  ['yellow', [230, 220, 40], ['yellow', 'golden', 'gold']],
  ['orange', [240, 140, 30], ['orange']],
  ['purple', [140, 50, 170], ['purple', 'violet']],
  ['pink', [240, 120, 190], ['pink']],
  ['cyan', [40, 200, 220], ['cyan', 'turquoise']],
  ['brown', [130, 80, 40], ['brown']],
  ['white', [240, 240, 240], ['white']],
  ['gray', [128, 128, 128], ['gray', 'grey']],
  ['black', [20, 20, 20], ['black', 'dark']],
];

const colorWords: DualEncoder = {
  name: 'color-words',
  async embedFrames(f) {
    const u = toUint8(f);
    const n = frameSize(u);
    const px = u.h * u.w;
    return Array.from({ length: u.t }, (_, t) => {
      const hist = new Float64Array(COLORS.length);
      for (let p = 0; p < px; p++) {
        const o = t * n + p * u.c;
        let best = 0;
        let bestD = Infinity;
        COLORS.forEach(([, rgb], k) => {
          const d = (u.data[o] - rgb[0]) ** 2 + (u.data[o + 1] - rgb[1]) ** 2 + (u.data[o + 2] - rgb[2]) ** 2;
          if (d < bestD) {
            bestD = d;
            best = k;
          }
        });
        hist[best] += 1 / px;
      }
      return hist;
    });
  },
  async embedTexts(texts) {
    return texts.map((text) => {
      const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
      const v = Float64Array.from(COLORS, ([, , names]) => words.filter((w) => names.includes(w)).length);
      // A prompt naming no colour matches every colour equally.
      return v.some((x) => x > 0) ? v : v.fill(1);
    });
  },
};

export const dualEncoders = createRegistry<() => DualEncoder | Promise<DualEncoder>>('dual encoder');
dualEncoders.register('color-words', () => colorWords, 'pixel share of 12 named colours vs colour words in the prompt; no model');

async function onnxDualEncoder(imageFile: string, textFile: string): Promise<DualEncoder> {
  const image = await onnxFrameExtractor(imageFile);
  const text = await loadOnnx(textFile, 'text encoder');
  const L = typeof text.shape[1] === 'number' && text.shape[1] > 0 ? text.shape[1] : 77;
  return {
    name: `onnx:${imageFile},${textFile}`,
    embedFrames: (f) => image.embedFrames(f),
    async embedTexts(texts) {
      const ids = new BigInt64Array(texts.length * L);
      texts.forEach((t, i) => Buffer.from(t, 'utf8').subarray(0, L).forEach((b, k) => (ids[i * L + k] = BigInt(b))));
      return runOnnx(text, ids, [texts.length, L]);
    },
  };
}

/** A registered name, or 'IMAGE.onnx,TEXT.onnx'. */
export async function resolveDualEncoder(spec: string): Promise<DualEncoder> {
  if (spec.includes(',')) {
    const [img, txt, ...rest] = spec.split(',');
    if (rest.length || !img || !txt) throw new KilnError(`dual encoder '${spec}': expected IMAGE.onnx,TEXT.onnx`);
    return onnxDualEncoder(img, txt);
  }
  return await dualEncoders.get(spec)();
}
