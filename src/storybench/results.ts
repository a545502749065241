import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { type Frames, joinWidth, splitWidth } from '../media/index.js';
import { framesFromArray, loadNpz, numeric, saveNpz, strings } from '../media/index.js';
import type { TaskName } from '../data/index.js';

/**
 * Result files in the reference layout: one npz per item with `video` uint8 [T, H, W*S, 3] (the S
 * samples side by side), `frames` (frames per prompt) and `texts`. A run folder mirrors the
 * reference data dir: OUT/<model>/<task>/<dataset>/raw/<item>.npz, ground truth under
 * OUT/ground_truth/..., plus a run.json manifest Kiln reads back.
 */
export const GROUND_TRUTH = 'ground_truth';

export interface RunManifest {
  model: string;
  task: TaskName;
  dataset: string;
  samples: number;
  seed: number;
  items: { name: string; index: number; comment: string | null }[];
}

export interface ResultItem {
  video: Frames;
  frames: number[];
  texts: string[];
}

export function systemDir(out: string, model: string, task: string, dataset: string): string {
  return path.join(out, model, task, dataset);
}

export function itemName(index: number): string {
  return `item${String(index).padStart(5, '0')}`;
}

export function writeResult(dir: string, name: string, samples: Frames[], frames: number[], texts: string[]): void {
  const video = joinWidth(samples);
  saveNpz(path.join(dir, 'raw', `${name}.npz`), {
    video: numeric('u1', [video.t, video.h, video.w, video.c], video.data as Uint8Array),
    frames: numeric('i8', [frames.length], Float64Array.from(frames)),
    texts: strings(texts),
  });
}

export function readResult(file: string): ResultItem {
  const arrays = loadNpz(file);
  const video = arrays.get('video');
  const frames = arrays.get('frames');
  const texts = arrays.get('texts');
  if (!video || !frames || !texts) throw new KilnError(`${file}: a result npz needs arrays video, frames and texts`);
  if (frames.kind !== 'numeric' || texts.kind !== 'string') throw new KilnError(`${file}: frames must be integers and texts strings`);
  const result = { video: framesFromArray(video, file), frames: Array.from(frames.data), texts: texts.data };
  const total = result.frames.reduce((a, b) => a + b, 0);
  if (total !== result.video.t) throw new KilnError(`${file}: frames per prompt sum to ${total} but the video has ${result.video.t} frames`);
  if (result.texts.length !== result.frames.length) throw new KilnError(`${file}: ${result.texts.length} texts for ${result.frames.length} segments`);
  return result;
}

/** The samples of a stored result, split back out of the side-by-side video. */
export function resultSamples(r: ResultItem, samples: number): Frames[] {
  return splitWidth(r.video, samples);
}

export function writeManifest(dir: string, m: RunManifest): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(m, null, 1) + '\n');
}

export function readManifest(dir: string): RunManifest {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) throw new KilnError(`${dir} is not a StoryBench result folder (no run.json)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as RunManifest;
}

export interface SystemRun {
  dir: string;
  manifest: RunManifest;
}

/** Every result folder (holding run.json) at or below `root`, at most three levels down. */
export function findRuns(root: string): SystemRun[] {
  if (!fs.existsSync(root)) throw new KilnError(`result folder not found: ${root}`);
  const found: SystemRun[] = [];
  const walk = (dir: string, depth: number) => {
    if (fs.existsSync(path.join(dir, 'run.json'))) {
      found.push({ dir, manifest: readManifest(dir) });
      return;
    }
    if (depth === 0) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name), depth - 1);
  };
  walk(path.resolve(root), 3);
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}
