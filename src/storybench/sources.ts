import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError, dataPath } from '../core/index.js';
import type { Frames } from './frames.js';
import { loadNpy, loadNpz, type NdArray } from './npy.js';
import { loadTaskFile, type TaskItem, type TaskName } from './tasks.js';

/**
 * Datasets and their source videos. The official validation splits ship with Kiln as task files
 * only (data/storybench/<split>/); their DiDeMo / Oops / UVO videos are not redistributable, so a
 * user points --videos at a folder of frame arrays (the reference's 96x160, 8 fps .npy files, .npz,
 * or original video files, which are decoded with ffmpeg). Any other folder holding <task>.json in
 * the same format is a dataset too; its videos resolve relative to that folder (this is how Kiln's
 * own generated stories are benchmarked).
 */
export interface Dataset {
  name: string;
  dir: string;
  official: boolean;
  /** Folders that npz_video paths are resolved against, in order; empty when videos are missing. */
  videoRoots: string[];
}

export const OFFICIAL_DATASETS = ['didemo-valid', 'oops-valid', 'uvo-valid'] as const;

export function resolveDataset(spec: string, videos?: string): Dataset {
  const shipped = dataPath('storybench', spec);
  if (!spec.includes('/') && fs.existsSync(shipped) && fs.statSync(shipped).isDirectory()) {
    return { name: spec, dir: shipped, official: true, videoRoots: videos ? [videos] : [] };
  }
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    // Kiln's story datasets keep splits in subfolders (DIR/test/<task>.json) and videos in DIR/videos.
    const dir = path.resolve(spec);
    const parent = path.dirname(dir);
    const split = fs.existsSync(path.join(parent, 'meta.json'));
    const name = split ? `${path.basename(parent)}-${path.basename(dir)}` : path.basename(dir);
    return { name: name.replace(/[^\w.-]/g, '_'), dir, official: false, videoRoots: videos ? [videos] : [dir, parent] };
  }
  throw new KilnError(`unknown dataset '${spec}': use ${OFFICIAL_DATASETS.join(', ')} or a folder holding <task>.json task files`);
}

export function loadTasks(ds: Dataset, task: TaskName): TaskItem[] {
  const file = path.join(ds.dir, `${task}.json`);
  if (!fs.existsSync(file)) throw new KilnError(`dataset ${ds.name} has no ${task} task (${file} not found)`);
  return loadTaskFile(file, task);
}

/** Converts an array of shape [T, H, W, 3] (uint8 or float 0..255) into frames. */
export function framesFromArray(arr: NdArray, what: string): Frames {
  if (arr.kind !== 'numeric' || arr.shape.length !== 4 || arr.shape[3] !== 3) {
    throw new KilnError(`${what}: expected a frame array of shape [T, H, W, 3], got [${arr.shape.join(', ')}]`);
  }
  const [t, h, w, c] = arr.shape;
  const data = arr.data instanceof Uint8Array ? arr.data : Float32Array.from(arr.data);
  return { data, t, h, w, c };
}

function readNpzVideo(file: string): Frames {
  const arrays = loadNpz(file);
  const arr = arrays.get('video') ?? (arrays.size === 1 ? [...arrays.values()][0] : undefined);
  if (!arr) throw new KilnError(`${file}: expected an array named 'video' (found ${[...arrays.keys()].join(', ')})`);
  return framesFromArray(arr, file);
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

export function readVideoFile(file: string): Frames {
  if (file.endsWith('.npy')) return framesFromArray(loadNpy(file), file);
  if (file.endsWith('.npz')) return readNpzVideo(file);
  return decodeWithFfmpeg(file);
}

/** Candidate files for an item's npz_video under a root: the path as written, then by base name. */
function candidates(root: string, npzVideo: string): string[] {
  const base = path.basename(npzVideo);
  const stem = base.replace(/\.npy$/, '');
  const names = [npzVideo, base, `${stem}.npz`, stem].filter((v, i, a) => a.indexOf(v) === i);
  return names.map((n) => (path.isAbsolute(n) ? n : path.join(root, n)));
}

/** Reads source videos, keeping the last few (action_exe items of one story share a video). */
export class VideoSource {
  private cache = new Map<string, Frames>();
  constructor(private ds: Dataset, private keep = 2) {}

  read(item: TaskItem, index: number): Frames {
    if (!item.npz_video) throw new KilnError(`${this.ds.name}: item ${index} has no npz_video; ground truth needs the source video`);
    if (!this.ds.videoRoots.length) {
      throw new KilnError(
        `dataset ${this.ds.name} needs its source videos, which Kiln cannot ship: pass --videos DIR holding the frame ` +
          `arrays named as in npz_video (e.g. ${path.basename(item.npz_video)}; .npy, .npz or a video file for ffmpeg)`,
      );
    }
    const file = this.ds.videoRoots
      .flatMap((root) => candidates(root, item.npz_video!))
      .find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!file) throw new KilnError(`${this.ds.name}: item ${index}: source video ${item.npz_video} not found under ${this.ds.videoRoots.join(' or ')}`);
    let frames = this.cache.get(file);
    if (!frames) {
      frames = readVideoFile(file);
      this.cache.set(file, frames);
      if (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    return frames;
  }
}
