import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { dataPath } from '../src/core/index.js';
import { type Frames, decodeWithFfmpeg, hasFfmpeg, loadNpy, loadNpz, makeFrames, readVideoFile } from '../src/media/index.js';
import { VideoSource, framesNeeded, resolveDataset, runBenchmark } from '../src/storybench/index.js';
import { TASKS, loadTaskFile, taskLayout } from '../src/data/index.js';
import { makeSyntheticStories } from './fixtures/storybench/synthetic.js';
import { tempDir } from './temp-dir.js';

// Source videos in their original containers decode through ffmpeg; without it these tests say why they skip.
const noFfmpeg = hasFfmpeg() ? false : 'ffmpeg/ffprobe not on PATH (apt-get install ffmpeg); .ci/run installs it';
const tmp = () => tempDir('sb-vid-');

/** Frame t is one flat colour that changes with t, so decoded frames can be checked one by one. */
function ramp(t: number, h: number, w: number): Frames {
  const f = makeFrames(t, h, w);
  for (let i = 0; i < t; i++) f.data.subarray(i * h * w * 3, (i + 1) * h * w * 3).fill(20 + 12 * i);
  return f;
}

/** Encodes frames at 8 fps with near-lossless settings for each container. */
function encode(file: string, clip: Frames): void {
  const codec: Record<string, string[]> = {
    '.mp4': ['-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv444p'],
    '.webm': ['-c:v', 'libvpx-vp9', '-lossless', '1', '-pix_fmt', 'yuv444p'],
    '.avi': ['-c:v', 'ffv1'],
  };
  const r = spawnSync('ffmpeg', ['-y', '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${clip.w}x${clip.h}`, '-r', '8', '-i', '-',
    ...codec[path.extname(file)], file], { input: Buffer.from(clip.data) });
  assert.equal(r.status, 0, r.stderr?.toString());
}

const frameMean = (f: Frames, t: number) => {
  const n = f.h * f.w * 3;
  let s = 0;
  for (let i = t * n; i < (t + 1) * n; i++) s += f.data[i];
  return s / n;
};

test('mp4, webm and avi decode through ffmpeg at 8 fps with their size and every frame', { skip: noFfmpeg }, async () => {
  const dir = tmp();
  const clip = ramp(12, 24, 40);
  for (const ext of ['.mp4', '.webm', '.avi']) {
    const file = path.join(dir, `clip${ext}`);
    encode(file, clip);
    const f = await readVideoFile(file);
    assert.deepEqual([f.t, f.h, f.w, f.c], [12, 24, 40, 3], ext);
    for (let t = 0; t < 12; t++) assert.ok(Math.abs(frameMean(f, t) - (20 + 12 * t)) < 2, `${ext} frame ${t}: ${frameMean(f, t)}`);
  }
  // maxFrames stops the stream early.
  const head = await decodeWithFfmpeg(path.join(dir, 'clip.mp4'), 8, 5);
  assert.equal(head.t, 5);
  // Resampled to StoryBench's 8 fps from a 24 fps file: a third of the frames.
  const fast = path.join(dir, 'fast.mp4');
  const r = spawnSync('ffmpeg', ['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=24:duration=3', '-pix_fmt', 'yuv420p', fast]);
  assert.equal(r.status, 0);
  assert.equal((await readVideoFile(fast)).t, 24);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a large video streams from ffmpeg into one buffer (no child-process output cap)', { skip: noFfmpeg }, async () => {
  // 15 s of 640x480 at 8 fps is 110 MB of RGB; the old spawnSync maxBuffer (1 << 31, negative) failed for any file.
  const dir = tmp();
  const file = path.join(dir, 'big.webm');
  const r = spawnSync('ffmpeg', ['-y', '-v', 'error', '-f', 'lavfi', '-i', 'color=c=0x336699:size=640x480:rate=8:duration=15', '-c:v', 'libvpx-vp9',
    '-deadline', 'realtime', '-cpu-used', '8', file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const f = await readVideoFile(file);
  assert.deepEqual([f.t, f.h, f.w], [120, 480, 640]);
  assert.ok(Math.abs(frameMean(f, 119) - (0x33 + 0x66 + 0x99) / 3) < 4);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('official download layouts: <id>.mp4 beside or for <id>.npy and <name>.mp4.npy', { skip: noFfmpeg }, async () => {
  const dir = tmp();
  const [uvo] = loadTaskFile(dataPath('storybench', 'uvo-valid', 'story_cont.json'));
  const [didemo] = loadTaskFile(dataPath('storybench', 'didemo-valid', 'story_cont.json'));
  const uvoId = path.basename(uvo.npz_video!, '.npy'); // --7qK_w-g3Y
  const didemoName = path.basename(didemo.npz_video!, '.npy'); // <flickr id>.mp4
  // A long original is decoded only as far as the item reads (conditioning and ground truth).
  const need = framesNeeded(uvo);
  encode(path.join(dir, `${uvoId}.mp4`), ramp(need + 12, 24, 40));
  encode(path.join(dir, didemoName), ramp(7, 24, 40));
  const frames = await new VideoSource(resolveDataset('uvo-valid', dir)).read(uvo, 0);
  assert.equal(frames.t, need);
  const layout = taskLayout(uvo, frames.t);
  assert.equal(layout.groundTruth[1] - layout.groundTruth[0], layout.totalFrames);
  assert.equal((await new VideoSource(resolveDataset('didemo-valid', dir)).read(didemo, 0)).t, 7, 'a short file gives what it has');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a run on .mp4 source videos keeps the frames and the task resolution', { skip: noFfmpeg }, async () => {
  const data = tmp();
  const out = tmp();
  makeSyntheticStories(data, 2);
  for (const s of [0, 1]) {
    const npy = path.join(data, 'videos', `story${s}.npy`);
    const a = loadNpy(npy);
    encode(npy.replace(/\.npy$/, '.mp4'), { data: a.data as Uint8Array, t: a.shape[0], h: a.shape[1], w: a.shape[2], c: 3 });
    fs.rmSync(npy);
  }
  const ds = resolveDataset(data);
  await runBenchmark({ task: 'story_cont', dataset: ds, model: 'oracle', samples: 1, out });
  const gt = loadNpz(path.join(out, 'ground_truth', 'story_cont', ds.name, 'raw', 'item00000.npz')).get('video')!;
  assert.deepEqual(gt.shape, [16, 24, 40, 3]);
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});

test('framesNeeded covers every official item\'s conditioning and ground truth', () => {
  for (const split of ['didemo-valid', 'oops-valid', 'uvo-valid']) {
    for (const task of TASKS) {
      for (const [i, item] of loadTaskFile(dataPath('storybench', split, `${task}.json`)).entries()) {
        const layout = taskLayout(item, framesNeeded(item), i); // throws if the window does not fit
        assert.ok(Math.max(layout.groundTruth[1], layout.conditioning?.[1] ?? 0) === framesNeeded(item), `${split} ${task} ${i}`);
      }
    }
  }
});

test('without ffmpeg, video sources fail before any work with one line naming --videos', () => {
  const dir = tmp();
  const [uvo] = loadTaskFile(dataPath('storybench', 'uvo-valid', 'story_cont.json'));
  fs.writeFileSync(path.join(dir, `${path.basename(uvo.npz_video!, '.npy')}.mp4`), 'x');
  const saved = process.env.PATH;
  process.env.PATH = dir; // no ffmpeg here
  try {
    assert.throws(() => new VideoSource(resolveDataset('uvo-valid', dir)).checkAll([uvo]), /needs ffmpeg on PATH \(apt-get install ffmpeg\); or give --videos/);
  } finally {
    process.env.PATH = saved;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
