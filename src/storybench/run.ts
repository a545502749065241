import fs from 'node:fs';
import path from 'node:path';
import { KilnError, check, createRng, type OptionValue } from '../core/index.js';
import { type Frames, concatFrames, resizeFrames, sliceFrames } from '../media/index.js';
import { type StoryGenerator, createGenerator } from './generators.js';
import { GROUND_TRUTH, type RunManifest, itemName, systemDir, writeManifest, writeResult } from './results.js';
import { type StoryDataset, VideoSource, loadTasks } from './sources.js';
import { type TaskItem, type TaskName, taskLayout } from '../data/index.js';

/** StoryBench conditions models on 96x160 (HxW) centre crops; evaluation keeps the source size. */
export const CONDITIONING_SIZE = { height: 96, width: 160 };

/** A frame size, height by width. */
export interface FrameSize {
  height: number;
  width: number;
}

/**
 * The resolution a task is generated at: the official splits' 96x160 (the reference's conditioning
 * crops), and for any other dataset its own frame size (Kiln's stories are 32x32), so nothing is
 * cropped or stretched to a shape the world never had.
 */
export function taskResolution(ds: StoryDataset, firstSource: Frames): FrameSize {
  return ds.official ? CONDITIONING_SIZE : { height: firstSource.h, width: firstSource.w };
}

/**
 * Every system's output, the oracle's included, goes through this one rendering: a centre crop to
 * the task's aspect ratio and a bilinear resize to its size (identity when the sizes already match),
 * so no system is framed differently from another.
 */
export function renderAtTask(clip: Frames, size: FrameSize): Frames {
  return resizeFrames(clip, size.height, size.width, true);
}

export interface RunOptions {
  task: TaskName;
  dataset: StoryDataset;
  model: string;
  samples: number;
  out: string;
  seed?: number;
  /** Only the first `limit` items (the official splits hold hundreds to thousands). */
  limit?: number;
  /** Called after each item with the items done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Options of the registered generator (e.g. phenaki's sampling settings), over its defaults. */
  generatorOptions?: Record<string, OptionValue>;
  /** A generator object instead of a registered name (any other model plugs in here). */
  generator?: StoryGenerator;
}

/**
 * A task item with its conditioning frames (none for story_gen) and its ground-truth clip.
 *
 * @inline
 */
export interface PreparedItem {
  item: TaskItem;
  index: number;
  conditioning: Frames | null;
  groundTruth: Frames;
}

/** Builds an item's conditioning and ground-truth clips from its source video. */
export function prepareItem(item: TaskItem, index: number, source: Frames, size: FrameSize = CONDITIONING_SIZE): PreparedItem {
  const layout = taskLayout(item, source.t, index);
  const conditioning = layout.conditioning ? renderAtTask(sliceFrames(source, ...layout.conditioning), size) : null;
  return { item, index, conditioning, groundTruth: sliceFrames(source, ...layout.groundTruth) };
}

function checkOutput(parts: Frames[], item: TaskItem, index: number, model: string, size: FrameSize): Frames {
  const want = item.exact_frames_per_prompt;
  if (parts.length !== want.length) throw new KilnError(`generator ${model}: item ${index}: returned ${parts.length} clips for ${want.length} prompts`);
  parts.forEach((p, i) => {
    if (p.t !== want[i]) throw new KilnError(`generator ${model}: item ${index}: prompt ${i} needs ${want[i]} frames, got ${p.t}`);
    if (p.c !== 3) throw new KilnError(`generator ${model}: item ${index}: frames must be RGB (c = 3), got c = ${p.c}`);
  });
  return renderAtTask(concatFrames(parts), size);
}

/** Runs one generator over one task of one dataset and writes results plus ground truth. */
export async function runBenchmark(opts: RunOptions): Promise<{ dir: string; items: number }> {
  check(Number.isInteger(opts.samples) && opts.samples >= 1, '--samples must be a positive integer');
  check(/^[\w.-]+$/.test(opts.model), `model name '${opts.model}' may only use letters, digits, '.', '_' and '-'`);
  check(opts.model !== GROUND_TRUTH, `'${GROUND_TRUTH}' is reserved for the reference videos`);
  const seed = opts.seed ?? 0;
  const all = loadTasks(opts.dataset, opts.task);
  const items = all.slice(0, opts.limit ?? all.length);
  const source = new VideoSource(opts.dataset);
  source.checkAll(items);
  const size = taskResolution(opts.dataset, await source.read(items[0], 0));
  const generator = opts.generator ?? (await createGenerator(opts.model, size, opts.generatorOptions));
  generator.check?.(items);
  const dir = systemDir(opts.out, opts.model, opts.task, opts.dataset.name);
  const gtDir = systemDir(opts.out, GROUND_TRUTH, opts.task, opts.dataset.name);
  const manifest: Omit<RunManifest, 'model' | 'samples'> = {
    task: opts.task,
    dataset: opts.dataset.name,
    seed,
    items: items.map((it, index) => ({ name: itemName(index), index, comment: it.comment })),
  };
  for (const [index, item] of items.entries()) {
    const prepared = prepareItem(item, index, await source.read(item, index), size);
    const name = itemName(index);
    const samples: Frames[] = [];
    for (let s = 0; s < opts.samples; s++) {
      const rng = createRng(seed * 100003 + index * 101 + s);
      const parts = await generator.generate(item, prepared.conditioning, {
        sample: s,
        rng,
        height: size.height,
        width: size.width,
        groundTruth: prepared.groundTruth,
      });
      samples.push(checkOutput(parts, item, index, opts.model, size));
    }
    writeResult(dir, name, samples, item.exact_frames_per_prompt, item.texts);
    if (!fs.existsSync(path.join(gtDir, 'raw', `${name}.npz`))) {
      writeResult(gtDir, name, [prepared.groundTruth], item.exact_frames_per_prompt, item.texts);
    }
    opts.onProgress?.(index + 1, items.length);
  }
  writeManifest(dir, { model: opts.model, samples: opts.samples, ...manifest });
  writeManifest(gtDir, { model: GROUND_TRUTH, samples: 1, ...manifest });
  return { dir, items: items.length };
}
