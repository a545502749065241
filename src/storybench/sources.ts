import fs from 'node:fs';
import path from 'node:path';
import { KilnError, dataPath } from '../core/index.js';
import { readVideoFile, type Frames } from '../media/index.js';
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
  constructor(private ds: StoryDataset, private keep = 2) {}

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
