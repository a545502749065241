/**
 * Validates the judge-free video measures on ground truth: renders fresh stories and scores every
 * segment clip the way `kiln video eval` cuts them (the first segment without its 4 conditioning
 * frames), with 95% Wilson intervals. Each rule should hold on (almost) every true segment.
 * Run: node dist/bench/video-measures.js [--stories 400] [--seed 77]
 */
import { createRng } from '../src/core/index.js';
import { wilson } from '../src/math/index.js';
import { sliceFrames } from '../src/media/index.js';
import { COND_FRAMES, measureSegment, renderStory, sampleStory, segmentRanges } from '../src/video/index.js';
import { arg } from './args.js';

const stories = Number(arg('--stories', '400'));
const rng = createRng(Number(arg('--seed', '77')));
const tally: Record<string, [number, number]> = {};
const add = (key: string, ok: boolean | null) => {
  if (ok === null) return;
  const t = (tally[key] ??= [0, 0]);
  t[0] += ok ? 1 : 0;
  t[1]++;
};
for (let i = 0; i < stories; i++) {
  const story = sampleStory(rng, `m${i}`, { split: i % 2 ? 'test' : 'train' });
  const video = renderStory(story);
  segmentRanges(story).forEach(([s, e], k) => {
    const seg = story.segments[k];
    const m = measureSegment(sliceFrames(video, k === 0 ? COND_FRAMES : s, e), seg);
    add('motion (move, jump)', m.motion);
    add(`motion: ${seg.action}`, m.motion);
    add('size (grow, shrink)', m.size);
    add('colour', m.colour);
    add(`colour: ${seg.action}`, m.colour);
  });
}
console.log(`${stories} ground-truth stories, segments cut as kiln video eval cuts them`);
for (const [key, [k, n]] of Object.entries(tally).sort()) {
  const w = wilson(k, n);
  console.log(`${key.padEnd(28)} ${(100 * w.rate).toFixed(1).padStart(5)}% [${(100 * w.low).toFixed(1)}, ${(100 * w.high).toFixed(1)}]  n=${n}`);
}
