import fs from 'node:fs';
import { KilnError } from '../core/index.js';

// StoryBench's task-file format: what the official validation splits ship as, what Kiln's story
// generator writes, and what StoryBench runs read.

/** The three StoryBench tasks, in the spelling of the official files' `storybench_mode`. */
export const TASKS = ['action_exe', 'story_cont', 'story_gen'] as const;
export type TaskName = (typeof TASKS)[number];

/** One entry of an official task file (google/storybench data/tasks/<split>/<task>.json). */
export interface TaskItem {
  texts: string[];
  durations: number[] | null;
  exact_frames_per_prompt: number[];
  background: string | null;
  npz_video: string | null;
  npz_video_start_frame: number;
  npz_video_end_frame: number | null;
  npz_gt_video_start_frame: number | null;
  npz_gt_video_end_frame: number | null;
  skip_frames_after_generation: number | null;
  storybench_mode: TaskName;
  /** Null in every official file and unused by the reference metrics; kept and validated only. */
  indices_to_select: number[] | null;
  comment: string | null;
}

const FIELDS = [
  'texts', 'durations', 'exact_frames_per_prompt', 'background', 'npz_video', 'npz_video_start_frame',
  'npz_video_end_frame', 'npz_gt_video_start_frame', 'npz_gt_video_end_frame', 'skip_frames_after_generation',
  'storybench_mode', 'indices_to_select', 'comment',
] as const;

const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** Validates one parsed JSON value as a task item; errors name the item index and the field. */
export function validateTaskItem(raw: unknown, index: number, where = 'task file'): TaskItem {
  const fail = (field: string, why: string): never => {
    throw new KilnError(`${where}: item ${index}: field '${field}' ${why}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new KilnError(`${where}: item ${index} is not an object`);
  }
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(key)) fail(key, `is not a StoryBench field (known: ${FIELDS.join(', ')})`);
  }
  for (const key of FIELDS) if (!(key in o)) fail(key, 'is missing');

  const texts = o.texts;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string' && t.trim() !== '')) {
    fail('texts', 'must be a non-empty list of non-empty strings');
  }
  const n = (texts as string[]).length;
  const intList = (field: string, min: number): number[] | null => {
    const v = o[field];
    if (v === null) return null;
    if (!Array.isArray(v) || !v.every((x) => isInt(x, min))) return fail(field, `must be null or a list of integers >= ${min}`);
    return v as number[];
  };
  const durations = intList('durations', 1);
  if (durations && durations.length !== n) fail('durations', `has ${durations.length} entries for ${n} texts`);
  const frames = intList('exact_frames_per_prompt', 1);
  if (!frames) fail('exact_frames_per_prompt', 'must be a list of positive integers (one per text)');
  if (frames!.length !== n) fail('exact_frames_per_prompt', `has ${frames!.length} entries for ${n} texts`);
  const optString = (field: string): string | null => {
    const v = o[field];
    if (v !== null && typeof v !== 'string') fail(field, 'must be a string or null');
    return v as string | null;
  };
  const optInt = (field: string): number | null => {
    const v = o[field];
    if (v !== null && !isInt(v)) fail(field, `must be a non-negative integer or null (got ${JSON.stringify(v)})`);
    return v as number | null;
  };
  const mode = o.storybench_mode;
  if (!(TASKS as readonly unknown[]).includes(mode)) fail('storybench_mode', `must be one of ${TASKS.join(', ')} (got ${JSON.stringify(mode)})`);
  const item: TaskItem = {
    texts: texts as string[],
    durations,
    exact_frames_per_prompt: frames!,
    background: optString('background'),
    npz_video: optString('npz_video'),
    npz_video_start_frame: optInt('npz_video_start_frame') ?? fail('npz_video_start_frame', 'must be a non-negative integer'),
    npz_video_end_frame: optInt('npz_video_end_frame'),
    npz_gt_video_start_frame: optInt('npz_gt_video_start_frame'),
    npz_gt_video_end_frame: optInt('npz_gt_video_end_frame'),
    skip_frames_after_generation: optInt('skip_frames_after_generation'),
    storybench_mode: mode as TaskName,
    indices_to_select: intList('indices_to_select', 0),
    comment: optString('comment'),
  };
  if (item.npz_video_end_frame !== null && item.npz_video_end_frame < item.npz_video_start_frame) {
    fail('npz_video_end_frame', `(${item.npz_video_end_frame}) is before npz_video_start_frame (${item.npz_video_start_frame})`);
  }
  const gs = item.npz_gt_video_start_frame ?? 0;
  if (item.npz_gt_video_end_frame !== null && item.npz_gt_video_end_frame < gs) {
    fail('npz_gt_video_end_frame', `(${item.npz_gt_video_end_frame}) is before npz_gt_video_start_frame (${gs})`);
  }
  // Task-specific rules from scripts/create_task_data.py.
  if (item.storybench_mode === 'story_gen' && item.background === null) fail('background', 'is required for story_gen');
  if (item.storybench_mode === 'action_exe') {
    if (n !== 1) fail('texts', `must hold exactly one prompt for action_exe (got ${n})`);
    if (item.npz_gt_video_end_frame === null) fail('npz_gt_video_end_frame', 'is required for action_exe');
  }
  if (item.storybench_mode !== 'story_gen') {
    if (item.npz_video === null) fail('npz_video', `is required for ${item.storybench_mode} (conditioning frames come from it)`);
    const cond = (item.npz_video_end_frame ?? 0) - item.npz_video_start_frame;
    if (cond < 1) fail('npz_video_end_frame', `must leave at least one conditioning frame for ${item.storybench_mode}`);
  }
  return item;
}

export function parseTaskFile(text: string, where: string, expected?: TaskName): TaskItem[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KilnError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new KilnError(`${where}: expected a JSON list of task items`);
  // An empty list would run and score nothing, and report it as a result.
  if (raw.length === 0) throw new KilnError(`${where}: the task list is empty`);
  const items = raw.map((r, i) => validateTaskItem(r, i, where));
  if (expected) {
    items.forEach((it, i) => {
      if (it.storybench_mode !== expected) {
        throw new KilnError(`${where}: item ${i}: field 'storybench_mode' is ${it.storybench_mode} in a ${expected} file`);
      }
    });
  }
  return items;
}

export function loadTaskFile(file: string, expected?: TaskName): TaskItem[] {
  if (!fs.existsSync(file)) throw new KilnError(`task file not found: ${file}`);
  return parseTaskFile(fs.readFileSync(file, 'utf8'), file, expected);
}

/**
 * Where an item's frames come from, as the reference builds each task:
 * - conditioning: source frames [npz_video_start_frame, npz_video_end_frame) (none for story_gen);
 * - generation: one run of exact_frames_per_prompt[i] frames per prompt, stored after dropping the
 *   conditioning frames (skip_frames_after_generation counts them);
 * - ground truth: source frames [npz_gt_video_start_frame, npz_gt_video_end_frame or the end),
 *   minus the skipped frames, cut to the generated length. For action_exe the window can start a few
 *   frames before the segment (gaps between annotated segments), so the last frames are kept; for the
 *   stories the window runs to the end of the video, so the first frames are kept.
 */
export interface TaskLayout {
  conditioning: [number, number] | null;
  groundTruth: [number, number];
  skipped: number;
  framesPerPrompt: number[];
  totalFrames: number;
}

export function taskLayout(item: TaskItem, videoLength: number, index = 0): TaskLayout {
  const total = item.exact_frames_per_prompt.reduce((a, b) => a + b, 0);
  const condEnd = item.npz_video_end_frame ?? videoLength;
  const conditioning: [number, number] | null =
    item.storybench_mode === 'story_gen' || condEnd <= item.npz_video_start_frame ? null : [item.npz_video_start_frame, condEnd];
  if (conditioning && conditioning[1] > videoLength) {
    throw new KilnError(`item ${index}: conditioning needs frames up to ${conditioning[1]} but the source video has ${videoLength}`);
  }
  const ws = item.npz_gt_video_start_frame ?? 0;
  const we = Math.min(item.npz_gt_video_end_frame ?? videoLength, videoLength);
  const skipped = Math.max(0, (item.skip_frames_after_generation ?? 0) - ws);
  const from = ws + skipped;
  const groundTruth: [number, number] = item.npz_gt_video_end_frame !== null ? [we - total, we] : [from, from + total];
  if (groundTruth[0] < from || groundTruth[1] > we) {
    throw new KilnError(
      `item ${index}: ground truth needs ${total} frames from [${from}, ${we}) of a source video with ${videoLength} frames`,
    );
  }
  return { conditioning, groundTruth, skipped, framesPerPrompt: [...item.exact_frames_per_prompt], totalFrames: total };
}
