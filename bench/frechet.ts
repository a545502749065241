/**
 * Frechet distance timing: for each feature size d, two random feature sets of 2d samples each
 * (the second correlated and shifted, so the covariances differ), timed in two parts: the two
 * covariances, then frechetDistance on them (Cholesky fast path). --samples-factor 0.5 gives
 * rank-deficient covariances, which take the exact eigendecomposition path.
 * CPU time (process.cpuUsage) is reported besides wall time because the machine is shared.
 * Run: node dist/bench/frechet.js [--dims 256,512,1024,2048] [--samples-factor 2] [--seed 1]
 */
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/index.js';
import { columnMean, covariance } from '../src/math/linalg.js';
import { frechetDistance } from '../src/math/frechet.js';

const { values: args } = parseArgs({
  options: {
    dims: { type: 'string', default: '256,512,1024,2048' },
    'samples-factor': { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
  },
});

function timed<T>(f: () => T): { value: T; wallS: number; cpuS: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
}

const rng = createRng(Number(args.seed));
console.log(`| d | samples | covariances cpu s (wall) | frechetDistance cpu s (wall) | total cpu s | distance | regularized |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const d of args.dims.split(',').map(Number)) {
  const samples = Math.max(2, Math.round(Number(args['samples-factor']) * d));
  const truth = Array.from({ length: samples }, () => Float64Array.from({ length: d }, () => rng.normal()));
  // preds: each feature mixes in its neighbour, scaled and shifted.
  const preds = Array.from({ length: samples }, () => {
    const z = Float64Array.from({ length: d }, () => rng.normal());
    return Float64Array.from(z, (v, j) => 1.1 * v + 0.5 * z[(j + 1) % d] + 0.05);
  });
  const cov = timed(() => {
    const mu1 = columnMean(truth);
    const mu2 = columnMean(preds);
    return { mu1, mu2, s1: covariance(truth, mu1), s2: covariance(preds, mu2) };
  });
  const { mu1, mu2, s1, s2 } = cov.value;
  const fd = timed(() => frechetDistance(mu1, s1, mu2, s2));
  console.log(`| ${d} | ${samples} | ${cov.cpuS.toFixed(2)} (${cov.wallS.toFixed(2)}) | ${fd.cpuS.toFixed(2)} (${fd.wallS.toFixed(2)}) | ${(cov.cpuS + fd.cpuS).toFixed(2)} | ${fd.value.distance.toFixed(6)} | ${fd.value.regularized} |`);
}
