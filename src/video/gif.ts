/** Writing videos as animated GIFs (gifenc) and, when ffmpeg is installed, MP4. */
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { KilnError } from '../core/index.js';
import { FPS, type Video } from './world.js';

// gifenc ships CommonJS without type declarations.
const { GIFEncoder, quantize, applyPalette } = createRequire(import.meta.url)('gifenc') as {
  GIFEncoder: () => { writeFrame(index: Uint8Array, w: number, h: number, o: { palette: number[][]; delay: number }): void; finish(): void; bytes(): Uint8Array };
  quantize: (rgba: Uint8Array, n: number) => number[][];
  applyPalette: (rgba: Uint8Array, palette: number[][]) => Uint8Array;
};

/** Frame `f` as RGBA, scaled up `scale` times with nearest-neighbour (small frames stay crisp). */
export function frameRGBA(v: Video, f: number, scale: number): Uint8Array {
  const W = v.width * scale;
  const H = v.height * scale;
  const out = new Uint8Array(W * H * 4);
  const base = f * v.width * v.height * 3;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = base + (Math.floor(y / scale) * v.width + Math.floor(x / scale)) * 3;
      const d = (y * W + x) * 4;
      out[d] = v.data[s];
      out[d + 1] = v.data[s + 1];
      out[d + 2] = v.data[s + 2];
      out[d + 3] = 255;
    }
  }
  return out;
}

/** Places equal-length videos side by side (shorter ones hold their last frame). */
export function sideBySide(videos: Video[], gap = 2): Video {
  const T = Math.max(...videos.map((v) => v.frames));
  const H = Math.max(...videos.map((v) => v.height));
  const W = videos.reduce((n, v) => n + v.width, 0) + gap * (videos.length - 1);
  const data = new Uint8Array(T * H * W * 3).fill(255);
  for (let t = 0; t < T; t++) {
    let x0 = 0;
    for (const v of videos) {
      const f = Math.min(t, v.frames - 1);
      for (let y = 0; y < v.height; y++) {
        const src = (f * v.height * v.width + y * v.width) * 3;
        data.set(v.data.subarray(src, src + v.width * 3), ((t * H + y) * W + x0) * 3);
      }
      x0 += v.width + gap;
    }
  }
  return { frames: T, height: H, width: W, data };
}

export function encodeGif(v: Video, scale = 4, fps = FPS): Uint8Array {
  const gif = GIFEncoder();
  for (let f = 0; f < v.frames; f++) {
    const rgba = frameRGBA(v, f, scale);
    const palette = quantize(rgba, 256);
    gif.writeFrame(applyPalette(rgba, palette), v.width * scale, v.height * scale, { palette, delay: Math.round(1000 / fps) });
  }
  gif.finish();
  return gif.bytes();
}

export function hasFfmpeg(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

export function writeMp4(file: string, v: Video, scale = 4, fps = FPS): void {
  if (!hasFfmpeg()) throw new KilnError('writing MP4 needs ffmpeg on PATH (apt-get install ffmpeg), or use a .gif output');
  const args = ['-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${v.width}x${v.height}`, '-r', String(fps), '-i', '-',
    '-vf', `scale=${v.width * scale}:${v.height * scale}:flags=neighbor`, '-pix_fmt', 'yuv420p', file];
  const r = spawnSync('ffmpeg', args, { input: Buffer.from(v.data) });
  if (r.status !== 0) throw new KilnError(`ffmpeg failed: ${r.stderr?.toString().trim().split('\n').pop() ?? 'unknown error'}`);
}

/** Writes a .gif or .mp4 according to the file's extension. */
export function writeVideoFile(file: string, v: Video, scale = 4): void {
  if (file.toLowerCase().endsWith('.mp4')) writeMp4(file, v, scale);
  else if (file.toLowerCase().endsWith('.gif')) fs.writeFileSync(file, encodeGif(v, scale));
  else throw new KilnError(`output must end in .gif or .mp4: ${file}`);
}
