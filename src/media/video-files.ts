import fs from 'node:fs';
import buffer from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { KilnError } from '../core/index.js';
import { toUint8, type Frames } from './frames.js';
import { encodeGif } from './gif.js';
import { framesFromArray, loadNpy, loadNpz } from './npy.js';

/** Whether ffmpeg and ffprobe are on PATH (MP4 output and decoding video files need them). */
export function hasFfmpeg(): boolean {
  const ok = (tool: string) => spawnSync(tool, ['-version'], { stdio: 'ignore' }).status === 0;
  return ok('ffmpeg') && ok('ffprobe');
}

/** Extensions ffmpeg decodes that StoryBench's source datasets come in (DiDeMo has .mp4/.avi, UVO .mp4/.webm). */
export const VIDEO_EXTENSIONS = ['.mp4', '.webm', '.avi', '.mkv', '.mov', '.m4v'] as const;

interface Probe {
  w: number;
  h: number;
  /** Frames expected at the output rate (0 when the container does not say). */
  frames: number;
}

/** Display size (rotation applied, as ffmpeg's autorotate does) and expected frame count of a video's first stream. */
function probeVideo(file: string, fps: number): Probe {
  const probe = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:stream_side_data=rotation:format=duration', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  if (probe.error) throw new KilnError(`decoding ${file} needs ffmpeg and ffprobe on PATH (apt-get install ffmpeg), or convert it to a .npy frame array`);
  let info: { streams?: { width?: number; height?: number; side_data_list?: { rotation?: number }[] }[]; format?: { duration?: string } } = {};
  try {
    info = JSON.parse(probe.stdout);
  } catch {
    // Fall through: the size check below reports what ffprobe said.
  }
  const stream = info.streams?.[0];
  const why = probe.stderr.trim().split('\n').pop() || 'no video stream';
  if (!(stream?.width && stream.height)) throw new KilnError(`${file}: not a readable video (ffprobe: ${why})`);
  const rotation = Math.abs(stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0) % 180;
  const [w, h] = rotation === 90 ? [stream.height, stream.width] : [stream.width, stream.height];
  const duration = Number(info.format?.duration);
  return { w, h, frames: Number.isFinite(duration) && duration > 0 ? Math.ceil(duration * fps) + 1 : 0 };
}

/**
 * Decodes a video file to RGB frames at `fps` with ffmpeg. The raw frames are streamed from ffmpeg's
 * stdout into one buffer sized from ffprobe's duration (grown if the estimate is short), so a long
 * or large video never passes through a child-process output limit; `maxFrames` stops decoding early.
 */
export async function decodeWithFfmpeg(file: string, fps = 8, maxFrames = Infinity): Promise<Frames> {
  const { w, h, frames } = probeVideo(file, fps);
  const frameBytes = w * h * 3;
  const limit = Math.min(maxFrames, Math.floor(buffer.constants.MAX_LENGTH / frameBytes));
  const args = ['-v', 'error', '-nostdin', '-i', file, '-vf', `fps=${fps}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  if (Number.isFinite(maxFrames)) args.push('-frames:v', String(maxFrames));
  const child = spawn('ffmpeg', [...args, 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let data = new Uint8Array(frameBytes * Math.max(1, Math.min(limit, frames || 64)));
  let used = 0;
  let tooLong = false;
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (tooLong) return;
    if (used + chunk.length > data.length) {
      const need = Math.ceil((used + chunk.length) / frameBytes);
      if (need > limit) {
        tooLong = true;
        child.kill();
        return;
      }
      const grown = new Uint8Array(frameBytes * Math.min(limit, Math.max(need, Math.ceil((data.length / frameBytes) * 1.5))));
      grown.set(data.subarray(0, used));
      data = grown;
    }
    data.set(chunk, used);
    used += chunk.length;
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  }).catch((e: Error) => {
    throw new KilnError(`decoding ${file} needs ffmpeg on PATH (apt-get install ffmpeg): ${e.message}`);
  });
  if (tooLong) throw new KilnError(`${file}: ${w}x${h} video longer than ${limit} frames at ${fps} fps does not fit in memory; convert it to a smaller .npy frame array`);
  if (status !== 0) throw new KilnError(`ffmpeg failed on ${file}: ${stderr.trim().split('\n').pop() || `exit status ${status}`}`);
  const t = Math.floor(used / frameBytes);
  if (t === 0) throw new KilnError(`${file}: ffmpeg decoded no frames`);
  return { data: data.subarray(0, t * frameBytes), t, h, w, c: 3 };
}

function readNpzVideo(file: string): Frames {
  const arrays = loadNpz(file);
  const arr = arrays.get('video') ?? (arrays.size === 1 ? [...arrays.values()][0] : undefined);
  if (!arr) throw new KilnError(`${file}: expected an array named 'video' (found ${[...arrays.keys()].join(', ')})`);
  return framesFromArray(arr, file);
}

/** Whether reading this file needs ffmpeg (anything but a .npy/.npz frame array). */
export function needsFfmpeg(file: string): boolean {
  return !/\.np[yz]$/i.test(file);
}

/** A video from a .npy or .npz frame array, or any video file ffmpeg decodes (at `fps`). */
export async function readVideoFile(file: string, fps = 8): Promise<Frames> {
  if (/\.npy$/i.test(file)) return framesFromArray(loadNpy(file), file);
  if (/\.npz$/i.test(file)) return readNpzVideo(file);
  return decodeWithFfmpeg(file, fps);
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
