import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataPath, KilnError } from '../src/core/index.js';
import {
  columnKind, createConstraintSet, createEvaluator, evaluators, costModels, loadTable, nb201ParamCount, nb201Space,
  parseConstraints, resolveCostModel, tableFromCsv, formatConstraint,
} from '../src/nas/index.js';

const nb201 = () => loadTable(dataPath('nb201', 'nb201-cifar10.csv'), nb201Space);
const arch = (s: string) => nb201Space.parse(s);
const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';

test('nb201 parameter count matches the TinyNetwork (C=16, N=5) by hand', () => {
  const all = (op: string) => arch(`|${op}~0|+|${op}~0|${op}~1|+|${op}~0|${op}~1|${op}~2|`);
  // Fixed part: stem 3*3*3*16+32, two residual reductions, final BN, classifier.
  const fixed = 464 + (4608 + 64 + 9216 + 64 + 512) + (18432 + 128 + 36864 + 128 + 2048) + 128 + 650;
  assert.equal(nb201ParamCount(all('none')), fixed);
  assert.equal(nb201ParamCount(all('avg_pool_3x3')), fixed);
  // One 3x3 conv edge in all 15 cells: 5 * (9C^2 + 2C) for C = 16, 32, 64.
  const conv3 = 5 * (9 * 256 + 32 + 9 * 1024 + 64 + 9 * 4096 + 128);
  const conv1 = 5 * (256 + 32 + 1024 + 64 + 4096 + 128);
  assert.equal(nb201ParamCount(all('nor_conv_3x3')), fixed + 6 * conv3);
  assert.equal(nb201ParamCount(all('nor_conv_3x3')), 1531546);
  assert.equal(nb201ParamCount(arch(BEST)), fixed + 4 * conv3 + conv1);
});

test('params counts the classifier of the dataset the table describes (NAS-Bench-201: 1.531, 1.537, 1.539 M at most)', () => {
  const fullest = arch('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|');
  const expected: Record<string, number> = { 'nb201-cifar10.csv': 1531546, 'nb201-cifar100.csv': 1537396, 'nb201-imagenet16-120.csv': 1538696 };
  for (const [file, params] of Object.entries(expected)) {
    const table = loadTable(dataPath('nb201', file), nb201Space);
    assert.equal(resolveCostModel('params', { space: nb201Space, table }).cost(fullest), params, file);
  }
  // Without a table the network is CIFAR-10's.
  assert.equal(resolveCostModel('params', { space: nb201Space }).cost(fullest), 1531546);
});

test('table columns are costs (known before training) or outcomes; only costs are computed before evaluating', () => {
  for (const c of ['latency_ms_pixel3', 'params', 'flops', 'mflops_cifar10', 'energy_mj', 'memory_mb']) assert.equal(columnKind(c), 'cost', c);
  for (const c of ['cifar10_test_acc', 'val_loss', 'accuracy', 'latent_score']) assert.equal(columnKind(c), 'outcome', c);
  const set = createConstraintSet(parseConstraints('latency_ms_pixel3<=6,cifar10_test_acc>=91'), { space: nb201Space, table: nb201() });
  const a = arch(BEST);
  assert.deepEqual(Object.keys(set.costs(a)), ['latency_ms_pixel3']);
  assert.equal(set.feasibleCosts({ latency_ms_pixel3: 5 }), true, 'the accuracy limit is not checked before evaluating');
  assert.equal(set.feasible({ latency_ms_pixel3: 5 }), false, 'an unevaluated trial does not meet an outcome limit');
  assert.equal(set.feasible({ latency_ms_pixel3: 5, cifar10_test_acc: 91.2 }), true);
  assert.equal(set.feasible({ latency_ms_pixel3: 5, cifar10_test_acc: 90 }), false);
});

test('constraints parse: operators, lists, whitespace', () => {
  const cs = parseConstraints(['latency_ms_pixel3<=6', 'params < 1e6; latency_ms_raspi4>=2,cifar10_test_acc>90.5']);
  assert.deepEqual(cs.map(formatConstraint), ['latency_ms_pixel3<=6', 'params<1000000', 'latency_ms_raspi4>=2', 'cifar10_test_acc>90.5']);
  for (const bad of ['latency<=', '<=6', 'latency=6', 'latency<=six', 'a b<=1', 'lat<=6 ms']) {
    assert.throws(() => parseConstraints(bad), /malformed constraint/, bad);
  }
});

test('constraint sets resolve table columns and computed costs, and reject the impossible', () => {
  const table = nb201();
  const ctx = { space: nb201Space, table };
  const set = createConstraintSet(parseConstraints('latency_ms_pixel3<=6,params<=500000'), ctx);
  const a = arch(BEST);
  const costs = set.costs(a);
  assert.equal(costs.latency_ms_pixel3, table.row(table.rowOf(a)).latency_ms_pixel3);
  assert.equal(costs.params, nb201ParamCount(a));
  assert.equal(set.feasible(costs), false);
  const cheap = arch('|none~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|none~2|');
  assert.equal(set.feasible(set.costs(cheap)), true);

  assert.throws(() => createConstraintSet(parseConstraints('latency_ms_iphone<=6'), ctx), /unknown cost metric 'latency_ms_iphone' \(table columns: .*latency_ms_pixel3.*; computed: params\)/);
  assert.throws(() => createConstraintSet(parseConstraints('params<=5,params>=10'), ctx), /contradict/);
  assert.throws(() => createConstraintSet(parseConstraints('params<5,params>5'), ctx), /contradict/);
  assert.throws(() => createConstraintSet(parseConstraints('latency_ms_pixel3<=0.001'), ctx), /no architecture in .* satisfies latency_ms_pixel3<=0.001/);
  assert.throws(() => createConstraintSet(parseConstraints('latency_ms_pixel3<=1.2,params>=1000000'), ctx), /no architecture/);
});

test('latency columns are per-device cost models', () => {
  const m = resolveCostModel('latency_ms_raspi4', { space: nb201Space, table: nb201() });
  assert.equal(m.metric, 'latency_ms');
  assert.equal(m.device, 'raspi4');
  assert.ok(costModels.names().includes('params'));
});

test('the table evaluator works on any table of the same shape', async () => {
  const csv = [
    'architecture,imagenet_acc,note,latency_ms_phone',
    `${BEST},44.5,x,3.5`,
    '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1.0,y,0.1',
  ].join('\n');
  const table = tableFromCsv(csv, nb201Space, 'tiny.csv', { archColumn: 'architecture' });
  assert.deepEqual(table.columns, ['imagenet_acc', 'latency_ms_phone']);
  const ev = createEvaluator('table', { space: nb201Space, table });
  assert.deepEqual(await ev.evaluate(arch(BEST)), { imagenet_acc: 44.5, latency_ms_phone: 3.5 });
  await assert.rejects(ev.evaluate(arch('|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|')), /is not in table tiny.csv/);
  assert.throws(() => table.column('note'), /column 'note' of table tiny.csv is not numeric/);
  assert.throws(() => table.column('cifar10_test_acc'), /does not exist \(known numeric columns: imagenet_acc, latency_ms_phone\)/);
  assert.throws(() => tableFromCsv(csv, nb201Space, 'tiny.csv'), /no architecture column 'arch'/);
  assert.throws(() => tableFromCsv(csv.replace('|none~0|+', '|nope~0|+'), nb201Space, 'tiny.csv', { archColumn: 'architecture' }), /line 3: .*unknown op 'nope'/);
  assert.throws(() => createEvaluator('table', { space: nb201Space }), /needs a benchmark table/);
  assert.deepEqual(evaluators.names(), ['table', 'train']);
});

test('the nb201 table: lookups by architecture, quoted CSV fields', async () => {
  const table = nb201();
  assert.equal(table.size, 15625);
  const ev = createEvaluator('table', { space: nb201Space, table });
  const m = await ev.evaluate(arch(BEST));
  assert.equal(m.cifar10_test_acc, 94.3733);
  assert.equal(table.rowOf(arch(BEST)), 6111);
  assert.ok(!('index' in m), 'the row-id column is not a metric');
  const quoted = tableFromCsv(`arch,"acc"\r\n"${BEST}","1.5"\r\n`, nb201Space, 'q.csv');
  assert.deepEqual(quoted.row(0), { acc: 1.5 });
  assert.throws(() => loadTable('no/such.csv', nb201Space), KilnError);
});
