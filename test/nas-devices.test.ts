import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createConstraintSet, deviceSetCost, deviceSetMetric, memoryStorage, nb201Space, parseConstraints, runStudy, tableFromCsv, type Architecture,
} from '../src/nas/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp-dir.js';

/** Four cells on two made-up devices; medians: fast 2, slow 20 (a deliberately odd pair of names). */
const CELLS = [
  '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
  '|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|',
  '|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|',
  '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|',
];
const CSV = ['arch,acc,latency_ms_fast,latency_ms_slow', `${CELLS[0]},50,1,30`, `${CELLS[1]},60,2,10`, `${CELLS[2]},70,2,30`, `${CELLS[3]},80,4,10`].join('\n');
const table = () => tableFromCsv(CSV, nb201Space, 'tiny.csv');

test('average- and worst-case latency normalize each device by its median cell', () => {
  const t = table();
  const refs = { fast: 2, slow: 20 };
  const avg = deviceSetCost('avg_latency(fast,slow)', t);
  const worst = deviceSetCost(deviceSetMetric('worst_latency', ['fast', 'slow']), t);
  t.archs.forEach((a, i) => {
    const n = [t.column('latency_ms_fast')[i] / refs.fast, t.column('latency_ms_slow')[i] / refs.slow];
    assert.equal(avg.cost(a), (n[0] + n[1]) / 2);
    assert.equal(worst.cost(a), Math.max(...n));
  });
  assert.equal(worst.cost(t.archs[0]), 1.5);
  assert.equal(worst.metric, 'worst_latency');
  assert.equal(worst.device, 'fast,slow');
});

test('device-set metrics work as constraints (commas inside the device list)', () => {
  const cs = parseConstraints('worst_latency(fast,slow)<=1, acc>=55');
  assert.deepEqual(cs.map((c) => c.metric), ['worst_latency(fast,slow)', 'acc']);
  const set = createConstraintSet(cs, { space: nb201Space, table: table() });
  // 'acc' is an outcome: not among the costs checked before evaluating, only on the evaluation's metrics.
  assert.deepEqual(Object.keys(set.costs(table().archs[0])), ['worst_latency(fast,slow)']);
  const evaluated = (a: Architecture) => ({ ...set.costs(a), acc: table().row(table().rowOf(a)).acc });
  assert.deepEqual(table().archs.map((a) => set.feasible(evaluated(a))), [false, true, false, false]);
  assert.throws(() => deviceSetCost('worst_latency(fast,gpu)', table()), /device 'gpu' has no latency_ms_gpu column.*devices: fast, slow/);
  assert.throws(() => deviceSetCost('worst_latency()', table()), /names no device/);
  assert.throws(() => createConstraintSet(parseConstraints('worst_latency(fast,slow)<=0.1'), { space: nb201Space, table: table() }), /no architecture/);
});

test('a study constrained on a device set evaluates only cells fast on every device', async () => {
  const file = path.join(tempDir('kiln-dev-'), 'tiny.csv');
  fs.writeFileSync(file, CSV);
  // tabnas draws until a sample is feasible (and, in a table study, in the table): only CELLS[1] qualifies.
  const run = await runStudy({
    study: { name: 'd', space: 'nb201', objective: 'acc', table: file, constraints: ['worst_latency(fast,slow)<=1'], controller: 'tabnas', controllerOptions: { maxRejections: 1_000_000 }, seed: 1 },
    budget: 2,
    storage: memoryStorage(),
  });
  assert.ok(run.trials.every((t) => t.arch === CELLS[1] && t.feasible && t.metrics['worst_latency(fast,slow)'] === 1));
});
