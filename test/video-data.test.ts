import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../src/core/index.js';
import {
  HELD_OUT_PAIRS, isHeldOut, loadStories, renderStory, sampleStory, segmentRanges, storyFrames,
  writeStoryDataset, createWordTokenizer, worldVocabulary,
} from '../src/video/index.js';
import { framesFromArray, framesToArray, parseNpy, serializeNpy } from '../src/media/index.js';
import { tempDir } from './temp-dir.js';

test('stories are deterministic by seed and respect the held-out split', () => {
  const a = sampleStory(createRng(5), 's', { split: 'train' });
  const b = sampleStory(createRng(5), 's', { split: 'train' });
  assert.deepEqual(a, b);
  assert.deepEqual(renderStory(a).data, renderStory(b).data);
  const rng = createRng(9);
  for (let i = 0; i < 200; i++) {
    const train = sampleStory(rng, 't', { split: 'train' });
    assert.ok(train.segments.every((s) => !isHeldOut(s.shape, s.action)), 'training story uses a held-out pair');
    assert.ok(train.segments.length >= 1 && train.segments.length <= 4);
    const held = sampleStory(rng, 'h', { split: 'test' });
    assert.ok(held.segments.some((s) => isHeldOut(s.shape, s.action)), 'held-out story lacks a held-out pair');
  }
  assert.ok(HELD_OUT_PAIRS.length > 0);
});

test('rendered frames follow the segment frame ranges and the actions move pixels', () => {
  const story = sampleStory(createRng(1), 's', { split: 'train', segments: 3 });
  const v = renderStory(story);
  assert.equal(v.t, storyFrames(story));
  assert.equal(v.h, 32);
  assert.equal(v.w, 32);
  const ranges = segmentRanges(story);
  assert.deepEqual(ranges[0], [0, story.segments[0].frames]);
  assert.equal(ranges[2][1], v.t);
  const fsz = 32 * 32 * 3;
  const first = v.data.subarray(0, fsz);
  const last = v.data.subarray((v.t - 1) * fsz, v.t * fsz);
  assert.notDeepEqual(first, last, 'three actions changed nothing');
});

test('dataset is written in the StoryBench task format with .npy frames', () => {
  const dir = tempDir('kiln-stories-');
  const r = writeStoryDataset({ out: dir, count: 10, seed: 3 });
  assert.equal(r.train + r.test, 10);
  for (const mode of ['story_gen', 'story_cont', 'action_exe']) {
    const items = JSON.parse(fs.readFileSync(path.join(dir, 'test', `${mode}.json`), 'utf8'));
    for (const item of items) {
      for (const key of ['texts', 'durations', 'exact_frames_per_prompt', 'background', 'npz_video', 'npz_video_start_frame', 'npz_video_end_frame',
        'npz_gt_video_start_frame', 'npz_gt_video_end_frame', 'skip_frames_after_generation', 'storybench_mode', 'indices_to_select', 'comment']) {
        assert.ok(key in item, `${mode} item lacks ${key}`);
      }
      assert.equal(item.storybench_mode, mode);
      assert.equal(item.texts.length, item.exact_frames_per_prompt.length);
      assert.ok(fs.existsSync(path.join(dir, item.npz_video)));
    }
  }
  const gen = JSON.parse(fs.readFileSync(path.join(dir, 'train', 'story_gen.json'), 'utf8'));
  const loaded = loadStories(dir, 'train');
  assert.equal(loaded[0].video.t, gen[0].exact_frames_per_prompt.reduce((a: number, b: number) => a + b, 0));
  const again = tempDir('kiln-stories-');
  writeStoryDataset({ out: again, count: 10, seed: 3 });
  assert.deepEqual(fs.readFileSync(path.join(again, 'videos', 'test_00000.npy')), fs.readFileSync(path.join(dir, 'videos', 'test_00000.npy')));
  fs.rmSync(dir, { recursive: true });
  fs.rmSync(again, { recursive: true });
});

test('npy round trip keeps shape and bytes', () => {
  const v = { t: 2, h: 3, w: 4, c: 3, data: Uint8Array.from({ length: 72 }, (_, i) => i * 3) };
  const buf = serializeNpy(framesToArray(v));
  assert.equal((10 + buf.readUInt16LE(8)) % 64, 0);
  assert.deepEqual(framesFromArray(parseNpy(buf), 'test'), v);
});

test('word tokenizer covers every generated prompt and rejects unknown words', () => {
  const tok = createWordTokenizer();
  const rng = createRng(2);
  for (let i = 0; i < 50; i++) {
    const s = sampleStory(rng, 's', { split: 'train' });
    for (const seg of s.segments) assert.equal(tok.encode(seg.prompt, 'a black background').length, tok.maxLen);
  }
  assert.ok(worldVocabulary().includes('jumps'));
  assert.throws(() => tok.encode('a purple hexagon flies'), /unknown word/);
});

