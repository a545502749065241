import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { KilnError } from '../core/index.js';
import { toUint8, type Frames } from './frames.js';
import { encodeGif } from './gif.js';
import { framesFromArray, loadNpy, loadNpz } from './npy.js';

/** Whether ffmpeg is on PATH (MP4 output and decoding video files need it). */
export function hasFfmpeg(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

/** Decodes a video file to RGB frames at `fps` with ffmpeg (ffprobe gives the size). */
export function decodeWithFfmpeg(file: string, fps = 8): Frames {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  if (probe.error) {
    throw new KilnError(`decoding ${file} needs ffmpeg/ffprobe on PATH (apt-get install ffmpeg), or convert it to a .npy frame array`);
  }
  const [w, h] = probe.stdout.trim().split(',').map(Number);
  if (!(w > 0 && h > 0)) throw new KilnError(`ffprobe could not read the video size of ${file}: ${probe.stderr.trim()}`);
  const out = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', `fps=${fps}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 1 << 31,
  });
  if (out.error || out.status !== 0) throw new KilnError(`ffmpeg failed on ${file}: ${out.error?.message ?? out.stderr.toString().trim()}`);
  const data = new Uint8Array(out.stdout.buffer, out.stdout.byteOffset, out.stdout.byteLength);
  return { data, t: Math.floor(data.length / (w * h * 3)), h, w, c: 3 };
}

function readNpzVideo(file: string): Frames {
  const arrays = loadNpz(file);
  const arr = arrays.get('video') ?? (arrays.size === 1 ? [...arrays.values()][0] : undefined);
  if (!arr) throw new KilnError(`${file}: expected an array named 'video' (found ${[...arrays.keys()].join(', ')})`);
  return framesFromArray(arr, file);
}

/** A video from a .npy or .npz frame array, or any video file ffmpeg decodes. */
export function readVideoFile(file: string): Frames {
  if (file.endsWith('.npy')) return framesFromArray(loadNpy(file), file);
  if (file.endsWith('.npz')) return readNpzVideo(file);
  return decodeWithFfmpeg(file);
}

/** Writes an H.264 MP4 with ffmpeg, enlarged `scale` times (nearest neighbour). */
export function writeMp4(file: string, clip: Frames, scale = 4, fps = 8): void {
  if (!hasFfmpeg()) throw new KilnError('writing MP4 needs ffmpeg on PATH (apt-get install ffmpeg), or use a .gif output');
  const args = ['-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${clip.w}x${clip.h}`, '-r', String(fps), '-i', '-',
    '-vf', `scale=${clip.w * scale}:${clip.h * scale}:flags=neighbor`, '-pix_fmt', 'yuv420p', file];
  const r = spawnSync('ffmpeg', args, { input: Buffer.from(toUint8(clip).data) });
  if (r.status !== 0) throw new KilnError(`ffmpeg failed: ${r.stderr?.toString().trim().split('\n').pop() ?? 'unknown error'}`);
}

/** Writes a .gif or .mp4 according to the file's extension. */
export function writeVideoFile(file: string, clip: Frames, scale = 4, fps = 8): void {
  if (file.toLowerCase().endsWith('.mp4')) writeMp4(file, clip, scale, fps);
  else if (file.toLowerCase().endsWith('.gif')) fs.writeFileSync(file, encodeGif(clip, { scale, fps }));
  else throw new KilnError(`output must end in .gif or .mp4: ${file}`);
}
