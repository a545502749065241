/**
 * Writes and reads a story dataset: StoryBench-format task files per split, one .npy frame array
 * per story, and the exact ground truth (objects, actions, frame ranges) beside them.
 *
 * Layout: DIR/meta.json, DIR/videos/<id>.npy, DIR/<split>/{story_gen,story_cont,action_exe}.json,
 * DIR/<split>/stories.json (ground truth).
 */
import fs from 'node:fs';
import path from 'node:path';
import { check, createRng, KilnError } from '../core/index.js';
import type { TaskItem } from '../data/index.js';
import { framesFromArray, framesToArray, loadNpy, saveNpy, toUint8, type Frames } from '../media/index.js';
import { backgroundText, HELD_OUT_PAIRS, renderStory, sampleStory, segmentRanges, storyFrames, FPS, type Story } from './world.js';

/** One StoryBench task item (field names as in google/storybench). */
/** Conditioning frames for story continuation and the first action-execution segment (0.5 s). */
export const COND_FRAMES = 4;

export function taskItems(story: Story, videoPath: string): Record<TaskItem['storybench_mode'], TaskItem[]> {
  const texts = story.segments.map((s) => s.prompt);
  const frames = story.segments.map((s) => s.frames);
  const total = storyFrames(story);
  const base = { durations: null, npz_video: videoPath, indices_to_select: null } as const;
  const storyGen: TaskItem = {
    ...base, texts, exact_frames_per_prompt: frames, background: backgroundText(story.background),
    npz_video_start_frame: 0, npz_video_end_frame: 0, npz_gt_video_start_frame: 0, npz_gt_video_end_frame: total,
    skip_frames_after_generation: null, storybench_mode: 'story_gen', comment: story.id,
  };
  const storyCont: TaskItem = {
    ...base, texts, exact_frames_per_prompt: [frames[0] - COND_FRAMES, ...frames.slice(1)], background: null,
    npz_video_start_frame: 0, npz_video_end_frame: COND_FRAMES, npz_gt_video_start_frame: 0, npz_gt_video_end_frame: total,
    skip_frames_after_generation: COND_FRAMES, storybench_mode: 'story_cont', comment: story.id,
  };
  const actionExe = segmentRanges(story).map(([start, end], k): TaskItem => {
    const condEnd = k === 0 ? COND_FRAMES : start;
    return {
      ...base, texts: [texts[k]], exact_frames_per_prompt: [end - condEnd], background: null,
      npz_video_start_frame: 0, npz_video_end_frame: condEnd, npz_gt_video_start_frame: condEnd, npz_gt_video_end_frame: end,
      skip_frames_after_generation: condEnd, storybench_mode: 'action_exe', comment: `${story.id}_${k}`,
    };
  });
  return { story_gen: [storyGen], story_cont: [storyCont], action_exe: actionExe };
}

/**
 * Settings of `writeStoryDataset`.
 *
 * @inline
 */
export interface GenerateOptions {
  out: string;
  count: number;
  seed: number;
  /** Fraction of stories in the held-out split. */
  testFraction?: number;
  onStory?: (done: number) => void;
}

/** Renders `count` stories (train and held-out) and writes them under `out`. */
export function writeStoryDataset(opts: GenerateOptions): { train: number; test: number } {
  check(Number.isInteger(opts.count) && opts.count >= 2, '--count must be an integer >= 2');
  const nTest = Math.max(1, Math.round(opts.count * (opts.testFraction ?? 0.2)));
  const nTrain = opts.count - nTest;
  const rng = createRng(opts.seed);
  fs.mkdirSync(path.join(opts.out, 'videos'), { recursive: true });
  let done = 0;
  for (const [split, n] of [['train', nTrain], ['test', nTest]] as const) {
    const dir = path.join(opts.out, split);
    fs.mkdirSync(dir, { recursive: true });
    const stories: Story[] = [];
    const tasks: Record<TaskItem['storybench_mode'], TaskItem[]> = { story_gen: [], story_cont: [], action_exe: [] };
    for (let i = 0; i < n; i++) {
      const story = sampleStory(rng, `${split}_${String(i).padStart(5, '0')}`, { split });
      const rel = `videos/${story.id}.npy`;
      saveNpy(path.join(opts.out, rel), framesToArray(renderStory(story)));
      stories.push(story);
      const items = taskItems(story, rel);
      for (const mode of Object.keys(tasks) as TaskItem['storybench_mode'][]) tasks[mode].push(...items[mode]);
      opts.onStory?.(++done);
    }
    for (const [mode, items] of Object.entries(tasks)) fs.writeFileSync(path.join(dir, `${mode}.json`), JSON.stringify(items, null, 1));
    fs.writeFileSync(path.join(dir, 'stories.json'), JSON.stringify(stories, null, 1));
  }
  const meta = { kind: 'kiln-stories', version: 1, seed: opts.seed, count: opts.count, fps: FPS, heldOutPairs: HELD_OUT_PAIRS, train: nTrain, test: nTest };
  fs.writeFileSync(path.join(opts.out, 'meta.json'), JSON.stringify(meta, null, 1));
  return { train: nTrain, test: nTest };
}

export interface LoadedStory {
  story: Story;
  video: Frames;
}

/** Loads one split's ground-truth stories and frames. */
export function loadStories(dir: string, split: 'train' | 'test', limit = Infinity): LoadedStory[] {
  const file = path.join(dir, split, 'stories.json');
  if (!fs.existsSync(file)) throw new KilnError(`no story dataset at ${dir} (missing ${split}/stories.json; run 'kiln data stories --out ${dir}')`);
  const stories = (JSON.parse(fs.readFileSync(file, 'utf8')) as Story[]).slice(0, limit);
  return stories.map((story) => {
    const file = path.join(dir, 'videos', `${story.id}.npy`);
    if (!fs.existsSync(file)) throw new KilnError(`frames file not found: ${file}`);
    return { story, video: toUint8(framesFromArray(loadNpy(file), file)) };
  });
}
