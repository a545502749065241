import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRng, projectRoot } from '../src/core/index.js';
import { makeFrames, pickFrames, repeatFrame, sliceFrames } from '../src/media/index.js';
import { distinctDigits, generators, judgeFrameExtractor, judgeVideoExtractor, resolveDataset, resolveDualEncoder, runBenchmark, scoreRuns, splitByPrompt, writeLeaderboard, type ScoreFile } from '../src/storybench/index.js';
import { judge, loadJudge, renderStory, sampleStory, segmentRanges, writeStoryDataset } from '../src/video/index.js';
import { cosine } from '../src/storybench/index.js';
import { tempDir } from './temp-dir.js';

const writeLeaderboardFiles = (dir: string, scores: ScoreFile) => writeLeaderboard(dir, scores).markdown;
const tmp = () => tempDir('sb-kiln-');

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

test('kiln-judge clamps the judge\'s inputs to its training range: faint scattered pixels do not blow up the features', async () => {
  const dir = path.join(projectRoot(), 'models', 'video', 'judge');
  const model = await loadJudge(dir);
  const [real] = segments(1, 903);
  // Four faint red specks in the corners appear after the first frame: a soft area near 1 spread across the frame,
  // so the outline's second moment over squared area is in the thousands, where real objects give under 80.
  const specks = makeFrames(16, 32, 32);
  specks.data.fill(12);
  for (let t = 1; t < 16; t++) {
    for (const [x, y] of [[1, 1], [30, 1], [1, 30], [30, 30]]) specks.data.set([90, 23, 23], ((t * 32 + y) * 32 + x) * 3);
  }
  const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
  const [raw] = judge(model, [specks]);
  const clamped = await judgeVideoExtractor.embedVideo(specks);
  const truth = await judgeVideoExtractor.embedVideo(real.clip);
  assert.ok(norm(raw.features) > 20 * norm(truth), `unclamped, the specks are far out: ${norm(raw.features)} vs a real segment's ${norm(truth)}`);
  assert.ok(norm(clamped) < 5 * norm(truth), `clamped, within a few real segments: ${norm(clamped)} vs a real segment's ${norm(truth)}`);
  // A training-like clip is inside the range: clamping leaves its features as they were.
  const [plain] = judge(model, [real.clip]);
  assert.ok(plain.features.every((v, i) => Math.abs(v - truth[i]) < 1e-4 * Math.max(1, Math.abs(v))));
});

// A generator between the oracle and a still frame, whose place is known: each segment follows the truth for its
// first half, then holds that frame. Registered here only: a yardstick for the metrics, not a system to ship.
generators.register('half-still', {
  options: [],
  create: () => ({
    name: 'half-still',
    async generate(item, _conditioning, ctx) {
      return splitByPrompt(ctx.groundTruth!, item.exact_frames_per_prompt)
        .map((seg) => pickFrames(seg, Array.from({ length: seg.t }, (_, t) => Math.min(t, Math.floor(seg.t / 2)))));
    },
  }),
}, 'test only: the truth for the first half of each segment, then held still');

test('on generated stories the built-in metrics order oracle < half-still < static baseline on FVD, oracle > static on VTM, and print them apart', async () => {
  const stories = tmp();
  const out = tmp();
  writeStoryDataset({ out: stories, count: 40, seed: 4, testFraction: 0.25 });
  const ds = resolveDataset(path.join(stories, 'test'));
  for (const task of ['story_cont', 'story_gen', 'action_exe'] as const) {
    for (const model of ['oracle', 'half-still', 'repeat-last']) await runBenchmark({ task, dataset: ds, model, samples: 1, out });
  }
  const scores = await scoreRuns(out, ['fvd', 'vtm'], { bootstraps: 50 });
  assert.deepEqual(scores.extractors, { frameFeatures: 'kiln-judge', videoFeatures: 'kiln-judge', dualEncoder: 'kiln-dual', bootstraps: 50 }, 'the default features');
  for (const task of ['story_cont', 'story_gen', 'action_exe']) {
    const row = (model: string) => scores.rows.find((r) => r.model === model && r.task === task)!.scores;
    const fvd = (model: string) => row(model).fvd.mean;
    assert.ok(Math.abs(fvd('oracle')) < 1e-3, `${task}: oracle fvd ${fvd('oracle')}`);
    assert.ok(fvd('half-still') > 1 && fvd('half-still') < fvd('repeat-last'), `${task}: fvd half-still ${fvd('half-still')} vs static ${fvd('repeat-last')}`);
    assert.ok(row('oracle').vtm.mean > row('repeat-last').vtm.mean + 5, `${task}: vtm oracle ${row('oracle').vtm.mean} vs static ${row('repeat-last').vtm.mean}`);
    assert.ok(row('repeat-last').fvd.low! < row('repeat-last').fvd.high!, `${task}: an interval over items`);
  }
  const md = fs.readFileSync(writeLeaderboardFiles(out, scores), 'utf8');
  for (const table of md.split('## ').slice(1)) {
    const fvd = [...table.matchAll(/^\| (oracle|half-still|repeat-last) \| \d+ \| 1 \| ([^ ]+) ± [^ ]+ \[[^\]]+\]/gm)].map((m) => m[2]);
    assert.equal(fvd.length, 3, 'each row prints its value, std and interval');
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
