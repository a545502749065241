/** Frame arrays as NumPy .npy files (uint8 [T, H, W, 3]), through StoryBench's npy reader and writer. */
import fs from 'node:fs';
import { check, KilnError } from '../core/index.js';
import { numeric, parseNpy, serializeNpy } from '../storybench/index.js';
import type { Video } from './world.js';

export function encodeNpy(video: Video): Buffer {
  return serializeNpy(numeric('u1', [video.frames, video.height, video.width, 3], video.data));
}

export function decodeNpy(buf: Uint8Array, source = 'npy'): Video {
  const a = parseNpy(buf, source);
  check(a.kind === 'numeric' && a.dtype === 'u1' && a.shape.length === 4 && a.shape[3] === 3,
    `${source}: expected uint8 frames of shape [T, H, W, 3]`);
  const [frames, height, width] = a.shape;
  return { frames, height, width, data: a.data as Uint8Array };
}

export function writeNpy(file: string, video: Video): void {
  fs.writeFileSync(file, encodeNpy(video));
}

export function readNpy(file: string): Video {
  if (!fs.existsSync(file)) throw new KilnError(`frames file not found: ${file}`);
  return decodeNpy(fs.readFileSync(file), file);
}
