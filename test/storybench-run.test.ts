import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { KilnError, dataPath, projectRoot } from '../src/core/index.js';
import { RatingStore, generators, readManifest, renderAtTask, readScores, resolveDataset, runBenchmark, scoreRuns, type StoryGenerator } from '../src/storybench/index.js';
import { TASKS, loadTaskFile } from '../src/data/index.js';
import { loadNpy, loadNpz, makeFrames, numeric, saveNpy, sliceFrames } from '../src/media/index.js';
import { register } from '../src/cli/commands/storybench.js';
import { makeSyntheticStories } from './fixtures/storybench/synthetic.js';
import { writeStoryDataset } from '../src/video/index.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/runtime.js';
import { tempDir } from './temp-dir.js';

// onnxruntime-node is optional (its install script needs the network): without it these tests say so and skip.
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

const tmp = () => tempDir('sb-run-');
const fixture = (name: string) => path.join(projectRoot(), 'test', 'fixtures', 'storybench', name);

async function cli(args: string[]): Promise<string> {
  const program = new Command('kiln').exitOverride();
  register(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'kiln', ...args]);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

test('run writes the reference npz layout for every task, with ground truth beside', { skip: noOrt }, async () => {
  const data = tmp();
  const out = tmp();
  makeSyntheticStories(data, 3);
  const ds = resolveDataset(data);
  for (const task of TASKS) {
    for (const model of ['repeat-last', 'oracle']) {
      await runBenchmark({ task, dataset: ds, model, samples: 2, out });
    }
  }
  const arrays = loadNpz(path.join(out, 'repeat-last', 'story_cont', ds.name, 'raw', 'item00000.npz'));
  // story_cont: [10 - 4, 10] frames generated after 4 conditioning frames, 2 samples side by side, at the
  // dataset's own 24x40 resolution.
  assert.deepEqual(arrays.get('video')!.shape, [16, 24, 80, 3]);
  assert.deepEqual(Array.from(arrays.get('frames')!.data as Float64Array), [6, 10]);
  assert.equal((arrays.get('texts')!.data as string[]).length, 2);
  const gt = loadNpz(path.join(out, 'ground_truth', 'story_cont', ds.name, 'raw', 'item00000.npz'));
  assert.deepEqual(gt.get('video')!.shape, [16, 24, 40, 3]); // source resolution, one sample
  const act = loadNpz(path.join(out, 'oracle', 'action_exe', ds.name, 'raw', 'item00001.npz'));
  assert.deepEqual(act.get('video')!.shape, [10, 24, 80, 3]);
  // repeat-last on story_gen: mid-gray (no conditioning).
  const gen = loadNpz(path.join(out, 'repeat-last', 'story_gen', ds.name, 'raw', 'item00000.npz'));
  assert.ok((gen.get('video')!.data as Uint8Array).every((v) => v === 128));

  const scores = await scoreRuns(out, ['fid', 'fvd', 'sim', 'vtm'], { frameFeatures: fixture('tiny-frame-features.onnx'), videoFeatures: 'grid-motion', dualEncoder: 'color-words' });
  const row = (model: string, task: string) => scores.rows.find((r) => r.model === model && r.task === task)!;
  for (const task of TASKS) {
    const o = row('oracle', task).scores;
    const r = row('repeat-last', task).scores;
    assert.ok(Math.abs(o.sim.mean - 100) < 1e-6, `${task} oracle sim ${o.sim.mean}`);
    assert.ok(Math.abs(o.fid.mean) < 1e-3 && Math.abs(o.fvd.mean) < 1e-3, `${task} oracle fid ${o.fid.mean} fvd ${o.fvd.mean}`);
    // The tiny fixture extractor pools colour, so a still square is close to a moving one; it still ranks them.
    assert.ok(r.fid.mean > o.fid.mean + 1e-5 && r.sim.mean < 100, `${task}: repeat-last must score worse than the oracle (fid ${r.fid.mean}, sim ${r.sim.mean})`);
    // color-words sees colour only: a still frame of the right square ties with the truth; gray loses.
    if (task === 'story_gen') assert.ok(o.vtm.mean > r.vtm.mean, 'the coloured ground truth matches colour prompts better than gray frames');
    assert.equal(o.fid.perSample.length, 2);
  }
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});

test('kiln storybench run + score produce Markdown and HTML leaderboards', async () => {
  const data = tmp();
  const out = tmp();
  makeSyntheticStories(data, 3);
  for (const model of ['repeat-last', 'oracle']) {
    const msg = await cli(['storybench', 'run', '--task', 'story_cont', '--dataset', data, '--model', model, '--samples', '2', '--out', out]);
    assert.match(msg, /wrote 3 items x 2 samples/);
  }
  await cli(['storybench', 'score', out, '--metrics', 'fid,sim']);
  const md = fs.readFileSync(path.join(out, 'leaderboard.md'), 'utf8');
  assert.match(md, /## Leaderboard: story_cont/);
  // Mean ± std over samples, then the 95% interval over items (the oracle is the truth on every resample).
  assert.match(md, /\| oracle \| 3 \| 2 \| 0\.00 ± 0\.00 \[0\.00, 0\.00\] \| 100\.00 ± 0\.00 \[100\.00, 100\.00\] \|/);
  assert.match(md, /percentile bootstrap over items \(1000 resamples/);
  assert.ok(md.indexOf('| oracle') < md.indexOf('| repeat-last'), 'sorted by the first metric');
  const html = fs.readFileSync(path.join(out, 'leaderboard.html'), 'utf8');
  assert.match(html, /<table>/);
  assert.equal(readScores(out).rows.length, 2);
  await assert.rejects(cli(['storybench', 'score', out, '--metrics', 'fid,nope']), /unknown metric 'nope'/);
  // With stored ratings the report adds human win rates and each metric's agreement with them.
  const db = path.join(out, 'ratings.db');
  const store = new RatingStore(db);
  const a = { visual_quality: 'a', entity_consistency: 'a', background_consistency: 'a', action_realism: 'a', transition_realism: 'a', overall: 'a', text_adherence: ['a', 'a'] } as const;
  for (const item of ['item00000', 'item00001', 'item00002']) {
    store.add({ rater: 'ann', task: 'story_cont', dataset: path.basename(data), item, systemA: 'oracle', systemB: 'repeat-last', answers: { ...a, text_adherence: ['a', 'a'] } });
  }
  store.close();
  await cli(['storybench', 'score', out, '--metrics', 'fid,sim', '--ratings', db]);
  const withHumans = fs.readFileSync(path.join(out, 'leaderboard.md'), 'utf8');
  assert.match(withHumans, /\| story_cont \| [\w-]+ \| oracle \| repeat-last \| 3 \| 0 \| 0 \| 100\.0% \[43\.9%, 100\.0%\] \|/);
  assert.match(withHumans, /\| fid \| 3 \| 100\.0% \[100\.0%, 100\.0%\] \| 2 \| n\/a \(needs 3\+ systems\) \|/);
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});

test('every system is rendered at the task resolution the same way', async () => {
  // Kiln-style folder: the dataset's own frame size for every system, the oracle equal to the ground truth.
  const data = tmp();
  const out = tmp();
  makeSyntheticStories(data, 2, 1, { h: 32, w: 32 });
  const ds = resolveDataset(data);
  for (const model of ['repeat-last', 'oracle']) await runBenchmark({ task: 'story_cont', dataset: ds, model, samples: 1, out });
  const video = (model: string, d = ds.name) => loadNpz(path.join(out, model, 'story_cont', d, 'raw', 'item00000.npz')).get('video')!;
  assert.deepEqual(video('repeat-last').shape, [16, 32, 32, 3]);
  assert.deepEqual(video('oracle').shape, [16, 32, 32, 3]);
  assert.deepEqual(video('oracle').data, video('ground_truth').data);
  // repeat-last holds the last conditioning frame uncropped: equal to source frame 3.
  const src = loadNpy(path.join(data, 'videos', 'story0.npy')).data as Uint8Array;
  assert.deepEqual((video('repeat-last').data as Uint8Array).subarray(0, 32 * 32 * 3), src.subarray(3 * 32 * 32 * 3, 4 * 32 * 32 * 3));

  // Official split, 120x240 sources: conditioning and every output at 96x160, the same centre crop for all.
  const videos = tmp();
  const [item] = loadTaskFile(dataPath('storybench', 'uvo-valid', 'story_cont.json'));
  const total = item.exact_frames_per_prompt.reduce((a, b) => a + b, 0) + 4;
  const source = makeFrames(total, 120, 240);
  for (let i = 0; i < source.data.length; i += 3) source.data[i] = ((i / 3) % 240) < 40 ? 255 : 0; // red band on the left edge
  saveNpy(path.join(videos, path.basename(item.npz_video!)), numeric('u1', [total, 120, 240, 3], source.data as Uint8Array));
  const official = resolveDataset('uvo-valid', videos);
  for (const model of ['repeat-last', 'oracle']) await runBenchmark({ task: 'story_cont', dataset: official, model, samples: 1, out, limit: 1 });
  const rl = video('repeat-last', 'uvo-valid');
  const or = video('oracle', 'uvo-valid');
  assert.deepEqual(rl.shape.slice(1), [96, 160, 3]);
  assert.deepEqual(or.shape.slice(1), [96, 160, 3]);
  const firstFrame = (a: typeof rl) => (a.data as Uint8Array).subarray(0, 96 * 160 * 3);
  assert.deepEqual(firstFrame(rl), firstFrame(or), 'a still scene renders identically for both systems');
  assert.deepEqual(firstFrame(or), renderAtTask(sliceFrames(source, 4, 5), { height: 96, width: 160 }).data);
  for (const d of [data, out, videos]) fs.rmSync(d, { recursive: true, force: true });
});

test('official datasets say clearly that --videos is needed', async () => {
  const out = tmp();
  await assert.rejects(
    cli(['storybench', 'run', '--task', 'story_cont', '--dataset', 'didemo-valid', '--model', 'repeat-last', '--samples', '1', '--out', out, '--limit', '1']),
    (e: unknown) => e instanceof KilnError && /didemo-valid needs its source videos.*pass --videos DIR/.test(e.message),
  );
  const msg = await cli(['storybench', 'tasks', '--dataset', 'uvo-valid']);
  assert.match(msg, /uvo-valid story_gen: 1645 items/);
  // A folder without task files is an error, not silence; a stories folder points at its splits.
  await assert.rejects(cli(['storybench', 'tasks', '--dataset', out]), /holds no StoryBench task files \(action_exe.json, story_cont.json, story_gen.json\)$/);
  fs.mkdirSync(path.join(out, 'test'));
  fs.writeFileSync(path.join(out, 'test', 'story_gen.json'), '[]');
  await assert.rejects(cli(['storybench', 'tasks', '--dataset', out]), /; its splits are .*test$/);
  fs.rmSync(out, { recursive: true, force: true });
});

test('a custom generator plugs in through the adapter and is checked', async () => {
  const data = tmp();
  const out = tmp();
  makeSyntheticStories(data, 2);
  const wrong: StoryGenerator = { name: 'wrong', generate: async (item) => item.exact_frames_per_prompt.map(() => ({ data: new Uint8Array(3), t: 1, h: 1, w: 1, c: 3 })) };
  await assert.rejects(runBenchmark({ task: 'story_gen', dataset: resolveDataset(data), model: 'wrong', samples: 1, out, generator: wrong }),
    /generator wrong: item 0: prompt 0 needs 10 frames, got 1/);
  assert.deepEqual(generators.names().sort(), ['oracle', 'phenaki', 'repeat-last']);
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});

test('phenaki, Kiln\'s own generator, is a StoryBench generator with its sampling options', async () => {
  const stories = tmp();
  const out = tmp();
  writeStoryDataset({ out: stories, count: 3, seed: 2, testFraction: 0.34 });
  const msg = await cli(['storybench', 'run', '--task', 'story_cont', '--dataset', path.join(stories, 'test'), '--model', 'phenaki',
    '--option', 'steps=2', '--option', 'temperature=0.5', '--samples', '1', '--limit', '1', '--out', out]);
  assert.match(msg, /wrote 1 items x 1 samples/);
  const ds = resolveDataset(path.join(stories, 'test'));
  const run = (model: string) => loadNpz(path.join(out, model, 'story_cont', ds.name, 'raw', 'item00000.npz')).get('video')!;
  const gt = run('ground_truth');
  assert.deepEqual(run('phenaki').shape, gt.shape); // 32x32, the world's own size
  assert.equal(gt.shape[1], 32);
  assert.equal(readManifest(path.join(out, 'phenaki', 'story_cont', ds.name)).model, 'phenaki');
  // Its frames move: not a still image like the static baseline.
  const v = run('phenaki').data as Uint8Array;
  const n = 32 * 32 * 3;
  let diff = 0;
  for (let i = 0; i < n; i++) diff += Math.abs(v[i] - v[(gt.shape[0] - 1) * n + i]);
  assert.ok(diff / n > 1, `first and last generated frames differ (${diff / n})`);
  // Options are checked, and prompts outside its vocabulary fail before any generation.
  await assert.rejects(cli(['storybench', 'run', '--task', 'story_cont', '--dataset', path.join(stories, 'test'), '--model', 'phenaki', '--option', 'guidance=-1', '--out', out]),
    /option 'guidance' of generator 'phenaki' must be <number in \[0, 50\]>/);
  const videos = tmp();
  const [item] = loadTaskFile(dataPath('storybench', 'uvo-valid', 'story_cont.json'));
  saveNpy(path.join(videos, path.basename(item.npz_video!)), numeric('u1', [300, 24, 40, 3], new Uint8Array(300 * 24 * 40 * 3)));
  await assert.rejects(runBenchmark({ task: 'story_cont', dataset: resolveDataset('uvo-valid', videos), model: 'phenaki', samples: 1, out, limit: 1 }),
    /generator phenaki: item 0: unknown word '[^']+' in prompt; the model knows only the words of Kiln's story world/);
  for (const d of [stories, out, videos]) fs.rmSync(d, { recursive: true, force: true });
});
