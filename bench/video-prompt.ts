/**
 * Generation from a prompt alone (no conditioning frames), scored from the pixels: for each of
 * --stories single-prompt stories "a COLOUR SHAPE moves DIRECTION" on a named background (colours,
 * shapes, directions and backgrounds drawn in turn, 16 frames), is the first frame's background the
 * named one, is an object visible in each frame, is its colour the named one, does it move the
 * named way (the judge-free measures of `kiln video eval`), and what does the judge read. 95% Wilson
 * intervals. Run: node dist/bench/video-prompt.js [--stories 48] [--seed 1] [--generator DIR] [--tokenizer DIR]
 */
import path from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { createRng, projectRoot } from '../src/core/index.js';
import { wilson } from '../src/math/index.js';
import { sliceFrames } from '../src/media/index.js';
import {
  BACKGROUNDS, BACKGROUND_NAMES, COLOUR_NAMES, DEFAULT_SAMPLING, SHAPES, backgroundColour, backgroundText, generateStory, judge,
  loadGenerator, loadJudge, loadTokenizer, measureSegment, type Action,
} from '../src/video/index.js';
import { arg } from './args.js';

const models = path.join(projectRoot(), 'models', 'video');
const count = Number(arg('--stories', '48'));
const seed = Number(arg('--seed', '1'));
const FRAMES = 16;
const DIRECTIONS = ['left', 'right', 'up', 'down'] as const;

await initBackend();
const tok = await loadTokenizer(arg('--tokenizer', path.join(models, 'tokenizer')));
const gen = await loadGenerator(arg('--generator', path.join(models, 'generator')));
const judgeModel = await loadJudge(path.join(models, 'judge'));
const rng = createRng(seed);
const tally: Record<string, [number, number]> = {};
const add = (key: string, ok: boolean | null, n = 1, of = 1) => {
  if (ok === null) return;
  const t = (tally[key] ??= [0, 0]);
  t[0] += ok ? n : 0;
  t[1] += of;
};
const clips = [];
const truth: { action: Action; shape: string; colour: string }[] = [];
const started = Date.now();
for (let i = 0; i < count; i++) {
  const colour = COLOUR_NAMES[i % COLOUR_NAMES.length];
  const shape = SHAPES[Math.floor(i / COLOUR_NAMES.length) % SHAPES.length];
  const direction = DIRECTIONS[rng.int(DIRECTIONS.length)];
  const bg = BACKGROUND_NAMES[i % BACKGROUND_NAMES.length];
  const video = generateStory(tok, gen, [`a ${colour} ${shape} moves ${direction}`], [FRAMES], { ...DEFAULT_SAMPLING, seed: seed + i, background: backgroundText(bg) });
  const action = `move-${direction}` as Action;
  const m = measureSegment(video, { action, colour });
  const first = backgroundColour(sliceFrames(video, 0, 1).data as Uint8Array);
  const want = BACKGROUNDS[bg];
  add('first frame: named background', first.every((c, k) => Math.abs(c - want[k]) <= 24));
  add('object visible (frames)', true, m.visibleFrames, m.frames);
  add('stories with an object in every frame', m.visibleFrames === m.frames);
  add('named colour (pixels)', m.colour);
  add('moves the named way', m.motion);
  clips.push(video);
  truth.push({ action, shape, colour });
}
const seconds = (Date.now() - started) / 1000;
judge(judgeModel, clips).forEach((r, i) => {
  add('judge: action', r.action === truth[i].action);
  add('judge: shape', r.shape === truth[i].shape);
  add('judge: colour', r.colour === truth[i].colour);
});
console.log(`${count} single-prompt stories from the prompt alone ("a COLOUR SHAPE moves DIRECTION", ${FRAMES} frames, named background, default sampling, seed ${seed}); ${seconds.toFixed(0)} s`);
for (const [key, [k, n]] of Object.entries(tally)) {
  const w = wilson(k, n);
  console.log(`${key.padEnd(40)} ${(100 * w.rate).toFixed(1).padStart(5)}% [${(100 * w.low).toFixed(1)}, ${(100 * w.high).toFixed(1)}]  n=${n}`);
}
