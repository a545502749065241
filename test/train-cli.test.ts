import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCommands } from './helpers.js';
import { register } from '../src/cli/commands/train.js';
import { loadModel } from '../src/nn/index.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-train-cli-');

const kilnTrain = (args: string[]): Promise<string> => runCommands([register], ['train', ...args]);

test('kiln train --json trains, saves DIR/model.json with its metadata, and resumes from DIR', async () => {
  const dir = path.join(tmp, 'iris');
  const args = ['--data', 'iris', '--hidden', '16', '--epochs', '3', '--lr', '0.01', '--seed', '2', '--out', dir, '--json'];
  const first = JSON.parse(await kilnTrain(args));
  assert.equal(first.modelPath, path.join(dir, 'model.json'));
  assert.equal(first.history.length, 3);
  assert.equal(first.resumedFrom, null);
  assert.ok(first.test.accuracy > 0.6 && first.test.examples === 24, JSON.stringify(first.test));

  const model = await loadModel(first.modelPath);
  const meta = model.getUserDefinedMetadata() as { kiln: { classNames: string[]; standardizer: { mean: number[] } } };
  assert.deepEqual(meta.kiln.classNames, ['setosa', 'versicolor', 'virginica']);
  assert.equal(meta.kiln.standardizer.mean.length, 4);
  model.dispose();

  const more = JSON.parse(await kilnTrain(args.map((a) => (a === '3' ? '5' : a))));
  assert.deepEqual(more.resumedFrom, { epoch: 3, batch: 0 });
  assert.equal(more.history.length, 5);
  assert.deepEqual(more.history.slice(0, 3), first.history);
});
