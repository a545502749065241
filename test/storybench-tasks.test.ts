import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, dataPath, projectRoot } from '../src/core/index.js';
import { prepareItem, resolveDataset, VideoSource } from '../src/storybench/index.js';
import { TASKS, loadTaskFile, parseTaskFile, taskLayout } from '../src/data/index.js';
import { joinWidth, loadNpy, loadNpz, makeFrames, numeric, parseNpz, readZip, serializeNpz, splitWidth, strings, writeZip } from '../src/media/index.js';
import { tempDir } from './temp-dir.js';

const fixture = (name: string) => path.join(projectRoot(), 'test', 'fixtures', 'storybench', name);

test('reads an npz that numpy wrote (zip64 local headers, deflate, unicode texts)', () => {
  const arrays = loadNpz(fixture('reference.npz'));
  const video = arrays.get('video')!;
  assert.equal(video.kind, 'numeric');
  assert.deepEqual(video.shape, [5, 4, 12, 3]);
  // Values printed by tools/storybench_npz_fixture.py.
  assert.equal((video.data as Uint8Array).reduce((a, b) => a + b, 0), 92285);
  assert.deepEqual(Array.from(video.data.subarray(((4 * 4 + 3) * 12 + 11) * 3, ((4 * 4 + 3) * 12 + 11) * 3 + 3)), [44, 72, 13]);
  assert.deepEqual(Array.from(arrays.get('frames')!.data as Float64Array), [2, 3]);
  assert.deepEqual(arrays.get('texts')!.data, ['a red square', 'moves to the left — über']);
  const f8 = loadNpy(fixture('reference-f8.npy'));
  assert.deepEqual(f8.shape, [3, 4]);
  assert.equal(f8.data[11], 11 / 7);
});

test('npz written by Kiln reads back identically, compressed or stored', () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => (i * 37) % 256);
  for (const compress of [true, false]) {
    const buf = serializeNpz({ video: numeric('u1', [2, 3, 4, 3], data), frames: numeric('i8', [2], Float64Array.from([1, 1])), texts: strings(['x', 'yz'] ) }, compress);
    const back = parseNpz(buf);
    assert.deepEqual(Array.from(back.get('video')!.data as Uint8Array), Array.from(data));
    assert.deepEqual(back.get('texts')!.data, ['x', 'yz']);
    assert.deepEqual(Array.from(back.get('frames')!.data as Float64Array), [1, 1]);
  }
  const z = readZip(writeZip([{ name: 'a.txt', data: new TextEncoder().encode('hello') }]));
  assert.equal(new TextDecoder().decode(z[0].data), 'hello');
  const corrupt = Buffer.from(serializeNpz({ texts: strings(['abc']) }, false));
  corrupt[40] ^= 0xff;
  assert.throws(() => parseNpz(corrupt), /corrupt|CRC|npy/);
});

test('side-by-side samples split back exactly ([T, H, W*S, 3])', () => {
  const samples = [0, 1, 2].map((s) => {
    const f = makeFrames(2, 3, 4);
    f.data.forEach((_, i) => (f.data[i] = (i + 50 * s) % 256));
    return f;
  });
  const joined = joinWidth(samples);
  assert.equal(joined.w, 12);
  splitWidth(joined, 3).forEach((s, k) => assert.deepEqual(Array.from(s.data), Array.from(samples[k].data)));
});

test('every official validation file loads and validates, with the counts from the notes', () => {
  const counts: Record<string, [number, number]> = { 'didemo-valid': [2607, 744], 'oops-valid': [3472, 1578], 'uvo-valid': [2332, 1645] };
  for (const [split, [actions, stories]] of Object.entries(counts)) {
    for (const task of TASKS) {
      const items = loadTaskFile(dataPath('storybench', split, `${task}.json`), task);
      assert.equal(items.length, task === 'action_exe' ? actions : stories, `${split}/${task}`);
    }
  }
});

test('a malformed item is rejected naming the item index and field', () => {
  const items = JSON.parse(fs.readFileSync(dataPath('storybench', 'uvo-valid', 'story_cont.json'), 'utf8')).slice(0, 3);
  const cases: [(it: Record<string, unknown>) => void, RegExp][] = [
    [(it) => (it.exact_frames_per_prompt = [10]), /item 2: field 'exact_frames_per_prompt' has 1 entries for 2 texts/],
    [(it) => delete it.comment, /item 2: field 'comment' is missing/],
    [(it) => (it.npz_video_start_frame = -1), /item 2: field 'npz_video_start_frame'/],
    [(it) => (it.storybench_mode = 'story_generation'), /item 2: field 'storybench_mode' must be one of/],
    [(it) => (it.texts = []), /item 2: field 'texts'/],
    [(it) => (it.npz_video_end_frame = 0), /item 2: field 'npz_video_end_frame' must leave at least one conditioning frame/],
    [(it) => (it.extra = 1), /item 2: field 'extra' is not a StoryBench field/],
    [(it) => (it.durations = [1]), /item 2: field 'durations'/],
    [(it) => (it.indices_to_select = 'all'), /item 2: field 'indices_to_select'/],
  ];
  items[2].texts = items[2].texts.slice(0, 2).concat(items[2].texts.length < 2 ? ['second'] : []);
  items[2].exact_frames_per_prompt = [5, 6];
  for (const [mutate, message] of cases) {
    const copy = structuredClone(items);
    mutate(copy[2]);
    assert.throws(() => parseTaskFile(JSON.stringify(copy), 'f.json'), (e: unknown) => e instanceof KilnError && message.test(e.message));
  }
  assert.throws(() => parseTaskFile('[{"texts": ["a"]}', 'bad.json'), /bad.json: not valid JSON/);
  assert.throws(() => parseTaskFile(JSON.stringify(items), 'f.json', 'story_gen'), /item 0: field 'storybench_mode' is story_cont in a story_gen file/);
  assert.throws(() => parseTaskFile('[]', 'empty.json'), /empty.json: the task list is empty/);
});

test('task layouts follow the reference constructions on real items', () => {
  const [gen] = loadTaskFile(dataPath('storybench', 'didemo-valid', 'story_gen.json'));
  const [cont] = loadTaskFile(dataPath('storybench', 'didemo-valid', 'story_cont.json'));
  const acts = loadTaskFile(dataPath('storybench', 'didemo-valid', 'action_exe.json'));
  // story_gen: text only; all 211 frames scored from the start.
  assert.deepEqual(taskLayout(gen, 300), { conditioning: null, groundTruth: [0, 211], skipped: 0, framesPerPrompt: [144, 53, 14], totalFrames: 211 });
  // story_cont: the first 4 frames (0.5 s) condition and are not scored.
  assert.deepEqual(taskLayout(cont, 300), { conditioning: [0, 4], groundTruth: [4, 211], skipped: 4, framesPerPrompt: [140, 53, 14], totalFrames: 207 });
  // action_exe: conditioning = everything before the segment; ground truth = the segment.
  assert.deepEqual(taskLayout(acts[0], 300).conditioning, [0, 4]);
  assert.deepEqual(taskLayout(acts[0], 300).groundTruth, [4, 144]);
  // An item whose window starts before its segment (a gap between annotations) keeps the last frames.
  const gap = acts.find((a) => a.npz_gt_video_end_frame! - a.npz_gt_video_start_frame! > a.exact_frames_per_prompt[0])!;
  const l = taskLayout(gap, 1000);
  assert.equal(l.groundTruth[1], gap.npz_gt_video_end_frame);
  assert.equal(l.groundTruth[1] - l.groundTruth[0], gap.exact_frames_per_prompt[0]);
  assert.deepEqual(l.conditioning, [0, gap.npz_video_end_frame]);
  assert.throws(() => taskLayout(cont, 100, 7), /item 7: ground truth needs 207 frames/);
});

test('conditioning is a 96x160 centre crop; ground truth keeps the source resolution', () => {
  const [cont] = loadTaskFile(dataPath('storybench', 'uvo-valid', 'story_cont.json'));
  const source = makeFrames(100, 120, 240);
  source.data.fill(77);
  const p = prepareItem(cont, 0, source);
  assert.deepEqual([p.conditioning!.t, p.conditioning!.h, p.conditioning!.w], [4, 96, 160]);
  assert.ok(p.conditioning!.data.every((v) => v === 77));
  assert.deepEqual([p.groundTruth.t, p.groundTruth.h, p.groundTruth.w], [cont.exact_frames_per_prompt.reduce((a, b) => a + b), 120, 240]);
});

test('official datasets need --videos and say so; source videos resolve by npz_video or base name', async () => {
  const ds = resolveDataset('didemo-valid');
  const [item] = loadTaskFile(dataPath('storybench', 'didemo-valid', 'story_cont.json'));
  await assert.rejects(new VideoSource(ds).read(item, 0), /needs its source videos.*--videos DIR/);
  const dir = tempDir('sb-videos-');
  const base = path.basename(item.npz_video!);
  fs.writeFileSync(path.join(dir, base.replace(/\.npy$/, '.npz')), serializeNpz({ video: numeric('u1', [3, 2, 2, 3], new Uint8Array(36).fill(9)) }));
  const frames = await new VideoSource(resolveDataset('didemo-valid', dir)).read(item, 0);
  assert.deepEqual([frames.t, frames.h, frames.w], [3, 2, 2]);
  fs.writeFileSync(path.join(dir, 'clip.mp4'), 'not a video');
  const mp4 = { ...item, npz_video: 'clip.mp4' };
  // Without ffmpeg the message says what to install; with it, ffprobe rejects the bogus file.
  await assert.rejects(new VideoSource(resolveDataset('didemo-valid', dir)).read(mp4, 0), /needs ffmpeg|not a readable video/);
  assert.throws(() => new VideoSource(resolveDataset('didemo-valid', dir)).locate({ ...item, npz_video: 'gone.npy' }, 3), /item 3: source video gone .*--videos/);
  assert.throws(() => resolveDataset('nope-valid'), /unknown dataset 'nope-valid'/);
  fs.rmSync(dir, { recursive: true, force: true });
});
