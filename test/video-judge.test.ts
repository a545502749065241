import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError, projectRoot } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { judgeAccuracy, judgeInput, judgeTrainingClips, loadJudge, promptFor, renderStory, saveJudge, trainJudge, type ObjectState, type Story } from '../src/video/index.js';
import { JUDGE_INPUT } from '../src/video/judge.js';

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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-judge-'));
  const input = tf.input({ shape: [JUDGE_INPUT + 5] });
  await saveJudge(dir, tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor }));
  await assert.rejects(loadJudge(dir), (e: Error) => e instanceof KilnError && new RegExp(`reads ${JUDGE_INPUT + 5} features per clip, this Kiln makes ${JUDGE_INPUT}`).test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
  const shipped = await loadJudge(path.join(projectRoot(), 'models', 'video', 'judge'));
  assert.equal(shipped.inputs[0].shape[1], JUDGE_INPUT, 'the shipped judge matches the features');
});
