import fs from 'node:fs';
import path from 'node:path';
import { KilnError, dataPath } from '../core/index.js';
import { VIDEO_EXTENSIONS, decodeWithFfmpeg, hasFfmpeg, needsFfmpeg, readVideoFile, type Frames } from '../media/index.js';
import { TASKS, loadTaskFile, type TaskItem, type TaskName } from '../data/index.js';

/**
 * Datasets and their source videos. The official validation splits ship with Kiln as task files
 * only (data/storybench/<split>/); their DiDeMo / Oops / UVO videos are not redistributable, so a
 * user points --videos at a folder of frame arrays (the reference's 96x160, 8 fps .npy files, .npz,
 * or original video files, which are decoded with ffmpeg). Any other folder holding <task>.json in
 * the same format is a dataset too; its videos resolve relative to that folder (this is how Kiln's
 * own generated stories are benchmarked).
 */
export interface StoryDataset {
  name: string;
  dir: string;
  official: boolean;
  /** Folders that npz_video paths are resolved against, in order; empty when videos are missing. */
  videoRoots: string[];
}

/** StoryBench's frame rate: source videos are sampled at 8 fps. */
export const STORYBENCH_FPS = 8;

export const OFFICIAL_DATASETS = ['didemo-valid', 'oops-valid', 'uvo-valid'] as const;

/**
 * A StoryBench dataset: an official one by name (task files shipped in data/storybench, source videos
 * read from `videos`), or a folder of `<task>.json` files such as a split written by `writeStoryDataset`.
 */
export function resolveDataset(spec: string, videos?: string): StoryDataset {
  const shipped = dataPath('storybench', spec);
  if (!spec.includes('/') && fs.existsSync(shipped) && fs.statSync(shipped).isDirectory()) {
    return { name: spec, dir: shipped, official: true, videoRoots: videos ? [videos] : [] };
  }
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    // Kiln's story datasets keep splits in subfolders (DIR/test/<task>.json) and videos in DIR/videos.
    const dir = path.resolve(spec);
    if (!TASKS.some((task) => fs.existsSync(path.join(dir, `${task}.json`)))) {
      const splits = fs.readdirSync(dir).filter((d) => TASKS.some((task) => fs.existsSync(path.join(dir, d, `${task}.json`))));
      const hint = splits.length ? `; its splits are ${splits.map((d) => path.join(spec, d)).join(', ')}` : '';
      throw new KilnError(`${spec} holds no StoryBench task files (${TASKS.map((t) => `${t}.json`).join(', ')})${hint}`);
    }
    const parent = path.dirname(dir);
    const split = fs.existsSync(path.join(parent, 'meta.json'));
    const name = split ? `${path.basename(parent)}-${path.basename(dir)}` : path.basename(dir);
    return { name: name.replace(/[^\w.-]/g, '_'), dir, official: false, videoRoots: videos ? [videos] : [dir, parent] };
  }
  throw new KilnError(`unknown dataset '${spec}': use ${OFFICIAL_DATASETS.join(', ')} or a folder holding <task>.json task files`);
}

/** What one task of a dataset holds (the task file is validated on loading). */
export interface TaskSummary {
  dataset: string;
  task: TaskName;
  items: number;
  prompts: number;
  /** Frames a model has to generate for the whole task. */
  frames: number;
}

/** Validates and summarizes every task file a dataset has. */
export function summarizeTasks(ds: StoryDataset): TaskSummary[] {
  return TASKS.filter((task) => fs.existsSync(path.join(ds.dir, `${task}.json`))).map((task) => {
    const items = loadTasks(ds, task);
    return {
      dataset: ds.name, task, items: items.length,
      prompts: items.reduce((a, it) => a + it.texts.length, 0),
      frames: items.reduce((a, it) => a + it.exact_frames_per_prompt.reduce((x, y) => x + y, 0), 0),
    };
  });
}

export function loadTasks(ds: StoryDataset, task: TaskName): TaskItem[] {
  const file = path.join(ds.dir, `${task}.json`);
  if (!fs.existsSync(file)) throw new KilnError(`dataset ${ds.name} has no ${task} task (${file} not found)`);
  return loadTaskFile(file, task);
}


/**
 * Candidate files for an item's npz_video under a root, first as written (relative path, then base
 * name), then as the official downloads name them: the reference's frame arrays are
 * `<original name>.npy` (DiDeMo's `<id>.mp4.npy`, UVO's and Oops' `<id>.npy`), so the original video
 * is the name without `.npy`, or `<id>` with a video extension.
 */
function candidates(root: string, npzVideo: string): string[] {
  const stems = [npzVideo, path.basename(npzVideo)].map((n) => n.replace(/\.npy$/i, ''));
  const names = [npzVideo, path.basename(npzVideo)];
  for (const stem of stems) names.push(`${stem}.npz`, stem, ...VIDEO_EXTENSIONS.map((ext) => `${stem}${ext}`));
  return names.filter((v, i, a) => a.indexOf(v) === i).map((n) => (path.isAbsolute(n) ? n : path.join(root, n)));
}

/** The source frames an item reads: its conditioning and its ground-truth window (see taskLayout). */
export function framesNeeded(item: TaskItem): number {
  const total = item.exact_frames_per_prompt.reduce((a, b) => a + b, 0);
  const start = item.npz_gt_video_start_frame ?? 0;
  const truthEnd = item.npz_gt_video_end_frame ?? start + Math.max(0, (item.skip_frames_after_generation ?? 0) - start) + total;
  return Math.max(item.npz_video_end_frame ?? 0, truthEnd);
}

function checkFfmpeg(file: string): void {
  if (!hasFfmpeg()) {
    throw new KilnError(`${file} is a video file and decoding it needs ffmpeg on PATH (apt-get install ffmpeg); or give --videos a folder of .npy frame arrays`);
  }
}

/** Reads source videos, keeping the last few (action_exe items of one story share a video). */
export class VideoSource {
  private cache = new Map<string, Frames>();
  /** Frames asked of ffmpeg per file: a clip this long may continue in the file. */
  private decodedUpTo = new Map<string, number>();
  constructor(private ds: StoryDataset, private keep = 2) {}

  /** The file holding an item's source video; a missing one is an error naming --videos. */
  locate(item: TaskItem, index: number): string {
    if (!item.npz_video) throw new KilnError(`${this.ds.name}: item ${index} has no npz_video; ground truth needs the source video`);
    const example = path.basename(item.npz_video).replace(/\.npy$/i, '');
    if (!this.ds.videoRoots.length) {
      throw new KilnError(
        `dataset ${this.ds.name} needs its source videos, which Kiln cannot ship: pass --videos DIR holding them named as in ` +
          `npz_video (e.g. ${example}.npy, or the original ${/\.\w{3,4}$/.test(example) ? example : `${example}.mp4`} for ffmpeg)`,
      );
    }
    const file = this.ds.videoRoots
      .flatMap((root) => candidates(root, item.npz_video!))
      .find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!file) {
      throw new KilnError(
        `${this.ds.name}: item ${index}: source video ${example} (.npy, .npz, ${VIDEO_EXTENSIONS.join(', ')}) not found under ` +
          `${this.ds.videoRoots.join(' or ')}; point --videos at the folder holding it`,
      );
    }
    return file;
  }

  /**
   * Checks before any generation that every item's source video exists and, when some are video
   * files, that ffmpeg is there to decode them.
   */
  checkAll(items: readonly TaskItem[]): void {
    const files = items.flatMap((it, i) => (it.npz_video ? [this.locate(it, i)] : []));
    const video = files.find(needsFfmpeg);
    if (video) checkFfmpeg(video);
  }

  async read(item: TaskItem, index: number): Promise<Frames> {
    const file = this.locate(item, index);
    const need = framesNeeded(item);
    let frames = this.cache.get(file);
    // A long original video is decoded only as far as the item needs (a later item may need more).
    if (!frames || (frames.t < need && frames.t === this.decodedUpTo.get(file))) {
      if (needsFfmpeg(file)) {
        checkFfmpeg(file);
        frames = await decodeWithFfmpeg(file, STORYBENCH_FPS, need);
        this.decodedUpTo.set(file, need);
      } else {
        frames = await readVideoFile(file);
      }
      this.cache.set(file, frames);
      if (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    return frames;
  }
}
