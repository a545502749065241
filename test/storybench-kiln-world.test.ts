import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRng } from '../src/core/index.js';
import { repeatFrame, sliceFrames } from '../src/media/index.js';
import { distinctDigits, judgeFrameExtractor, judgeVideoExtractor, resolveDataset, resolveDualEncoder, runBenchmark, scoreRuns, writeLeaderboard, type ScoreFile } from '../src/storybench/index.js';
import { renderStory, sampleStory, segmentRanges, writeStoryDataset } from '../src/video/index.js';
import { cosine } from '../src/storybench/index.js';

const writeLeaderboardFiles = (dir: string, scores: ScoreFile) => writeLeaderboard(dir, scores).markdown;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sb-kiln-'));

/** Segment clips of fresh stories (a seed none of the shipped models trained on) with their prompts. */
function segments(count: number, seed: number) {
  const rng = createRng(seed);
  const out: { clip: ReturnType<typeof renderStory>; prompt: string }[] = [];
  for (let i = 0; out.length < count; i++) {
    const story = sampleStory(rng, `t${i}`, { split: 'test' });
    const video = renderStory(story);
    segmentRanges(story).forEach(([s, e], k) => out.push({ clip: sliceFrames(video, s, e), prompt: story.segments[k].prompt }));
  }
  return out.slice(0, count);
}

test('kiln-dual matches a segment to its own prompt, and a moving segment better than the same frame held still', async () => {
  const dual = await resolveDualEncoder('kiln-dual');
  const segs = segments(60, 901);
  const video = await dual.embedSegments!(segs.map((s) => s.clip));
  const still = await dual.embedSegments!(segs.map((s) => repeatFrame(s.clip, 0, s.clip.t)));
  const texts = await dual.embedTexts(segs.map((s) => s.prompt));
  // Retrieval: the segment's own prompt ranks first among all 60 prompts far more often than chance (1/60).
  let top1 = 0;
  segs.forEach((_, i) => {
    const sims = texts.map((t) => cosine(video[i], t));
    if (sims.indexOf(Math.max(...sims)) === i || sims[i] === Math.max(...sims)) top1++;
  });
  assert.ok(top1 / segs.length > 0.25, `top-1 retrieval ${top1}/${segs.length}`);
  // Moving actions: the real clip matches its prompt better than its first frame held still.
  const moving = segs.map((s, i) => ({ ...s, i })).filter((s) => /moves|jumps/.test(s.prompt));
  assert.ok(moving.length >= 10);
  const real = moving.reduce((a, s) => a + cosine(video[s.i], texts[s.i]), 0) / moving.length;
  const held = moving.reduce((a, s) => a + cosine(still[s.i], texts[s.i]), 0) / moving.length;
  assert.ok(real > held + 0.1, `moving ${real.toFixed(3)} vs still ${held.toFixed(3)}`);
});

test('kiln-judge features: one 64-d row per frame (fid) and per clip (fvd), different for different clips', async () => {
  const [a, b] = segments(2, 902);
  const frames = await judgeFrameExtractor.embedFrames(a.clip);
  assert.equal(frames.length, a.clip.t);
  assert.equal(frames[0].length, 64);
  const va = await judgeVideoExtractor.embedVideo(a.clip);
  const vb = await judgeVideoExtractor.embedVideo(b.clip);
  assert.equal(va.length, 64);
  assert.ok(va.some((v, i) => Math.abs(v - vb[i]) > 1e-3));
});

test('on generated stories the built-in metrics order the oracle before the static baseline (FVD, VTM) and print them apart', async () => {
  const stories = tmp();
  const out = tmp();
  writeStoryDataset({ out: stories, count: 12, seed: 4, testFraction: 0.25 });
  const ds = resolveDataset(path.join(stories, 'test'));
  for (const task of ['story_cont', 'story_gen', 'action_exe'] as const) {
    for (const model of ['oracle', 'repeat-last']) await runBenchmark({ task, dataset: ds, model, samples: 1, out });
  }
  const scores = await scoreRuns(out, ['fvd', 'vtm']);
  assert.deepEqual(scores.extractors, { frameFeatures: 'kiln-judge', videoFeatures: 'kiln-judge', dualEncoder: 'kiln-dual' }, 'the defaults');
  for (const task of ['story_cont', 'story_gen', 'action_exe']) {
    const row = (model: string) => scores.rows.find((r) => r.model === model && r.task === task)!.scores;
    assert.ok(Math.abs(row('oracle').fvd.mean) < 1e-3, `${task}: oracle fvd ${row('oracle').fvd.mean}`);
    assert.ok(row('repeat-last').fvd.mean > 1, `${task}: a static video is far from the truth (fvd ${row('repeat-last').fvd.mean})`);
    assert.ok(row('oracle').vtm.mean > row('repeat-last').vtm.mean + 5, `${task}: vtm oracle ${row('oracle').vtm.mean} vs static ${row('repeat-last').vtm.mean}`);
  }
  const md = fs.readFileSync(writeLeaderboardFiles(out, scores), 'utf8');
  for (const table of md.split('## ').slice(1)) {
    const fvd = [...table.matchAll(/^\| (oracle|repeat-last) \| \d+ \| 1 \| ([^ ]+) ±/gm)].map((m) => m[2]);
    assert.equal(new Set(fvd).size, fvd.length, `distinct printed values: ${fvd.join(' vs ')}`);
  }
  for (const d of [stories, out]) fs.rmSync(d, { recursive: true, force: true });
});

test('leaderboard figures get the decimals that keep different values apart', () => {
  assert.equal(distinctDigits([0, 12.345, 3.1]), 2);
  assert.equal(distinctDigits([0, 0.004, 12.3]), 3);
  assert.equal(distinctDigits([1.00001, 1.00004]), 5);
  assert.equal(distinctDigits([1.234561, 1.234559]), 6);
  assert.equal(distinctDigits([5, 5, undefined, NaN]), 2);
});
