/**
 * The kiln-dual VTM encoder on fresh stories: for each segment of stories drawn with a seed the encoder
 * never trained on, does its own prompt rank first among all the segments' prompts (top-1 retrieval), and
 * does the real segment match its prompt better than its first frame held still (what a static baseline
 * generates)?
 * Run: node dist/bench/storybench-dual.js [--segments 300] [--seed 901] [--encoder kiln-dual]
 */
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/index.js';
import { repeatFrame, sliceFrames, type Frames } from '../src/media/index.js';
import { cosine, resolveDualEncoder } from '../src/storybench/index.js';
import { renderStory, sampleStory, segmentRanges } from '../src/video/index.js';

const { values } = parseArgs({ options: { segments: { type: 'string', default: '300' }, seed: { type: 'string', default: '901' }, encoder: { type: 'string', default: 'kiln-dual' } } });
const count = Number(values.segments);
const rng = createRng(Number(values.seed));
const segs: { clip: Frames; prompt: string }[] = [];
for (let i = 0; segs.length < count; i++) {
  const story = sampleStory(rng, `t${i}`, { split: 'test' });
  const video = renderStory(story);
  segmentRanges(story).forEach(([s, e], k) => segs.push({ clip: sliceFrames(video, s, e), prompt: story.segments[k].prompt }));
}
segs.length = count;
const dual = await resolveDualEncoder(values.encoder);
const embed = (clips: Frames[]) => (dual.embedSegments ? dual.embedSegments(clips) : Promise.all(clips.map(async (c) => {
  const rows = await dual.embedFrames(c);
  return Float64Array.from(rows[0], (_, i) => rows.reduce((a, r) => a + r[i], 0) / rows.length);
})));
const real = await embed(segs.map((s) => s.clip));
const still = await embed(segs.map((s) => repeatFrame(s.clip, 0, s.clip.t)));
const texts = await dual.embedTexts(segs.map((s) => s.prompt));
let top1 = 0;
let realSum = 0;
let stillSum = 0;
let wins = 0;
segs.forEach((_, i) => {
  const sims = texts.map((t) => cosine(real[i], t));
  if (sims[i] === Math.max(...sims)) top1++;
  const r = cosine(real[i], texts[i]);
  const q = cosine(still[i], texts[i]);
  realSum += r;
  stillSum += q;
  if (r > q) wins++;
});
const pct = (n: number) => `${((100 * n) / count).toFixed(1)}%`;
console.log(`${values.encoder} on ${count} segments (seed ${values.seed}): top-1 retrieval ${pct(top1)} (chance ${pct(1)}), ` +
  `cosine with the prompt ${(realSum / count).toFixed(3)} real vs ${(stillSum / count).toFixed(3)} still, real higher for ${pct(wins)}`);
