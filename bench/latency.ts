/**
 * Latency predictors against measurement on real runtimes. For the TuNAS image space (28x28x1,
 * small backbone) and the 2-layer MLP width space (64 inputs, 10 classes): a per-op lookup table
 * and two linear models on per-op features (fitted to lookup-table sums, and to whole-model
 * measurements) are built from --fit random children; then --n other random children are
 * measured on tfjs-wasm and onnxruntime-node at batch 1 and 32 (warm-up 3, median of 15) and
 * compared with each predictor (MAPE, max APE), and with a second measurement of the same
 * model (the noise floor). The measured table is written as CSV with
 * latency_ms_<device> columns and read back through the device-set metrics of src/nas/devices.ts.
 * --statistic min summarizes repeats by their minimum instead of the median (loaded machines).
 * Run: node dist/bench/latency.js [--n 30] [--fit 40] [--statistic median|min] [--out bench-out/latency]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { deviceSetCost, deviceSetMetric, tableFromCsv, type Architecture, type SearchSpace } from '../src/nas/index.js';
import { mlpLatencyFeatures, mlpSupernet, mlpWidths, mlpWidthSpace, tunasSupernet } from '../src/nas/oneshot/index.js';
import {
  DEFAULT_DEVICES, extendLookupTable, fitLatencyModel, latencyTableCsv, lookupLatency, measureDevices, predictionError, type LookupTable,
} from '../src/nas/latency/index.js';
import { arg } from './args.js';

const N = Number(arg('--n', '30'));
const FIT = Number(arg('--fit', '40'));
const OUT = arg('--out', 'bench-out/latency');
const STAT = arg('--statistic', 'median') as 'median' | 'min';
const TIMING = { warmup: 3, repeats: 15, statistic: STAT };

interface Subject {
  label: string;
  space: SearchSpace;
  build: (a: Architecture) => tf.LayersModel;
  features: (a: Architecture) => number[];
}

async function study(s: Subject, rows: string[], summary: string[]): Promise<void> {
  const t0 = performance.now();
  const devices = DEFAULT_DEVICES;
  // One lookup table per device (a table's entry for an op is measured on the devices it was built for).
  const tables: Record<string, LookupTable> = Object.fromEntries(devices.map((d) => [d.name, {}]));
  const models = [];
  for (const d of devices) {
    // Sequential: measurements must not overlap (onnxruntime runs off the JS thread).
    const lookupFit = await fitLatencyModel(s.space, s.build, d, { samples: FIT, seed: 1, table: tables[d.name], features: s.features, ...TIMING });
    const measuredFit = await fitLatencyModel(s.space, s.build, d, { samples: FIT, seed: 1, features: s.features, fitTo: 'measured', ...TIMING });
    models.push({ d, lookupFit, measuredFit });
  }
  const rng = createRng(7);
  const test: { arch: Architecture; latency: Record<string, number>; again: Record<string, number>; lookup: Record<string, number> }[] = [];
  const seen = new Set<string>();
  // Distinct children (the MLP space has only 49).
  for (let draws = 0; test.length < N && draws < 100 * N; draws++) {
    const arch = s.space.sample(rng);
    if (seen.has(s.space.key(arch))) continue;
    seen.add(s.space.key(arch));
    const model = s.build(arch);
    for (const d of devices) await extendLookupTable(tables[d.name], [model], [d], TIMING);
    const latency = await measureDevices(model, devices, TIMING);
    // A second measurement of the same model: the noise floor no predictor can beat.
    const again = await measureDevices(model, devices, TIMING);
    test.push({ arch, latency, again, lookup: Object.fromEntries(devices.map((d) => [d.name, lookupLatency(tables[d.name], model, d.name)])) });
    model.dispose();
  }
  for (const { d, lookupFit, measuredFit } of models) {
    const measured = test.map((t) => t.latency[d.name]);
    const preds: [string, number[]][] = [
      ['re-measurement (noise floor)', test.map((t) => t.again[d.name])],
      ['lookup-table sum', test.map((t) => t.lookup[d.name])],
      ['linear (fit to lookup)', test.map((t) => lookupFit.cost.cost(t.arch))],
      ['linear (fit to measured)', test.map((t) => measuredFit.cost.cost(t.arch))],
    ];
    const lo = Math.min(...measured);
    const hi = Math.max(...measured);
    for (const [name, p] of preds) {
      const e = predictionError(p, measured);
      rows.push(`| ${s.label} | ${d.name} | ${lo.toFixed(3)}-${hi.toFixed(3)} | ${name} | ${(100 * e.mape).toFixed(1)}% | ${(100 * e.maxApe).toFixed(0)}% |`);
      console.log(rows[rows.length - 1]);
    }
  }
  const csv = latencyTableCsv(s.space, test, devices);
  const file = path.join(OUT, `${s.space.name}-measured.csv`);
  fs.writeFileSync(file, csv);
  const tbl = tableFromCsv(csv, s.space, file);
  const names = devices.map((d) => d.name);
  const avg = deviceSetCost(deviceSetMetric('avg_latency', names), tbl);
  const worst = deviceSetCost(deviceSetMetric('worst_latency', names), tbl);
  const byAvg = [...test].sort((a, b) => avg.cost(a.arch) - avg.cost(b.arch));
  const byWorst = [...test].sort((a, b) => worst.cost(a.arch) - worst.cost(b.arch));
  const fmt = (t: (typeof test)[number]) => `${s.space.toString(t.arch)} (avg ${avg.cost(t.arch).toFixed(2)}, worst ${worst.cost(t.arch).toFixed(2)})`;
  summary.push(`- ${s.label}: ${Object.keys(tables[devices[0].name]).length} lookup entries per device; table ${file}; ${avg.name}: fastest ${fmt(byAvg[0])}, slowest ${fmt(byAvg[byAvg.length - 1])}; ` +
    `worst-case fastest ${fmt(byWorst[0])}; ${test.filter((t) => worst.cost(t.arch) <= 1).length}/${test.length} children have worst_latency <= 1 ` +
    `(no slower than the median child on every device); ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(summary[summary.length - 1]);
}

async function main(): Promise<void> {
  await initBackend('wasm');
  fs.mkdirSync(OUT, { recursive: true });
  setSeed(1);
  const conv = tunasSupernet([28, 28, 1], 10);
  const mlpSpace = mlpWidthSpace(2);
  const mlp = mlpSupernet(mlpSpace, 64, 10);
  const rows = ['| space | device | measured range ms | predictor | MAPE | max APE |', '|---|---|---|---|---|---|'];
  const summary: string[] = [];
  await study({ label: 'tunas 28x28x1', space: conv.space, build: (a) => conv.child(a), features: (a) => conv.latencyFeatures(a) }, rows, summary);
  await study({ label: 'mlp2 64->10', space: mlpSpace, build: (a) => mlp.child(a), features: (a) => mlpLatencyFeatures(64, mlpWidths(mlpSpace, a), 10) }, rows, summary);
  const md = `# Latency predictors vs measurement (up to ${N} distinct random children, ${FIT} for fitting; ${STAT} of 15 repeats)\n\n${rows.join('\n')}\n\n${summary.join('\n')}\n`;
  fs.writeFileSync(path.join(OUT, 'latency.md'), md);
  console.log(md);
}

await main();
