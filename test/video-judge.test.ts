import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError, projectRoot } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { judgeAccuracy, judgeInput, judgeInputRange, judgeTrainingClips, loadJudge, loadJudgeInputRange, promptFor, saveJudgeInputRange, renderStory, saveJudge, trainJudge, type ObjectState, type Story } from '../src/video/index.js';
import { JUDGE_INPUT } from '../src/video/judge.js';
import { tempDir } from './temp-dir.js';

function moveRight(objects: ObjectState[]): Story {
  const o = objects[0];
  return {
    id: 'j', split: 'test', background: 'dark green', objects,
    segments: [{ actor: 0, action: 'move-right', frames: 12, prompt: promptFor(true, o.colour, o.shape, 'move-right'), shape: o.shape, colour: o.colour }],
  };
}

test('the judge reads the acting object: a still second object leaves its input unchanged', () => {
  const actor: ObjectState = { shape: 'triangle', colour: 'red', x: 8, y: 9, size: 4, angle: 0, alpha: 1 };
  const still: ObjectState = { shape: 'circle', colour: 'white', x: 22, y: 24, size: 5, angle: 0, alpha: 1 };
  const alone = judgeInput(renderStory(moveRight([actor])));
  const withStill = judgeInput(renderStory(moveRight([actor, still])));
  assert.ok(alone.some((x) => x !== 0));
  assert.deepEqual(withStill, alone);
  const other = judgeInput(renderStory(moveRight([{ ...actor, shape: 'square' }])));
  assert.notDeepEqual(other, alone, 'another shape reads differently');
});

test('the judge learns action, shape and colour from a few hundred clips and scores held-out ones with intervals', async () => {
  await initBackend();
  setSeed(3);
  const model = await trainJudge(judgeTrainingClips(400, 11), 20);
  const acc = judgeAccuracy(model, judgeTrainingClips(150, 12));
  // Chance: 9% action, 33% shape, 20% colour.
  assert.ok(acc.colour.rate >= 0.85, `colour ${acc.colour.rate}`);
  assert.ok(acc.shape.rate >= 0.65, `shape ${acc.shape.rate}`);
  assert.ok(acc.action.rate >= 0.45, `action ${acc.action.rate}`);
  for (const head of ['action', 'shape', 'colour'] as const) {
    const a = acc[head];
    assert.equal(a.n, 150);
    assert.equal(a.rate, a.correct / 150);
    assert.ok(a.low < a.rate && a.rate <= a.high, `${head}: ${JSON.stringify(a)}`);
  }
});

test('kiln video train-judge refuses held-out stories drawn with the training seed, in one line', () => {
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [cli, 'video', 'train-judge', '--seed', '5', '--test-seed', '5', '--checkpoint', '/nonexistent/judge'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^kiln: --test-seed must differ from --seed/);
});

test('a judge trained on other features is refused when it loads, in one line, before any evaluation work', async () => {
  await initBackend();
  const dir = tempDir('kiln-judge-');
  const input = tf.input({ shape: [JUDGE_INPUT + 5] });
  await saveJudge(dir, tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor }));
  await assert.rejects(loadJudge(dir), (e: Error) => e instanceof KilnError && new RegExp(`reads ${JUDGE_INPUT + 5} features per clip, this Kiln makes ${JUDGE_INPUT}`).test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
  const shipped = await loadJudge(path.join(projectRoot(), 'models', 'video', 'judge'));
  assert.equal(shipped.inputs[0].shape[1], JUDGE_INPUT, 'the shipped judge matches the features');
});

test('the judge\'s input range: 0.1st-99.9th percentiles of its training clips, saved beside it, refused when missing', () => {
  const clips = judgeTrainingClips(1000, 77).map((c) => c.clip);
  const range = judgeInputRange(clips);
  assert.equal(range.lo.length, JUDGE_INPUT);
  const rows = clips.map(judgeInput);
  range.lo.forEach((lo, d) => {
    assert.ok(lo <= range.hi[d], `input ${d}: ${lo} > ${range.hi[d]}`);
    // Of 1000 values, the 0.1st percentile leaves the smallest out; the 99.9th is taken at rank 999 of 0..999.
    const sorted = rows.map((r) => r[d]).sort((a, b) => a - b);
    assert.equal(lo, sorted[1]);
    assert.equal(range.hi[d], sorted[999]);
  });
  const dir = tempDir('kiln-judge-range-');
  assert.throws(() => loadJudgeInputRange(dir), (e: Error) => e instanceof KilnError && /no input-range.json next to the judge/.test(e.message));
  saveJudgeInputRange(dir, range);
  assert.deepEqual(loadJudgeInputRange(dir), range);
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(loadJudgeInputRange(path.join(projectRoot(), 'models', 'video', 'judge')).hi.length, JUDGE_INPUT, 'shipped with the judge');
});
