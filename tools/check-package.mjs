#!/usr/bin/env node
// Installs Kiln as a user would and uses it: `npm pack`, then in a fresh project `npm install` of the
// tarball (the npm registry alone), a TypeScript file importing `kiln` and its subpaths compiled
// with `tsc --strict` (NodeNext), and the result run under plain Node ESM. Also checks that the
// tarball holds what a user needs and nothing else. Run by .ci/run; takes a few minutes (npm
// installs tfjs and builds better-sqlite3 and, where libtorch is installed, the native addon).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-package-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
const fail = (message) => {
  console.error(`check-package: ${message}`);
  process.exit(1);
};

const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root))[0];
const files = packed.files.map((f) => f.path);
const unwanted = files.filter((f) => /^(dist\/(test|bench)|test|bench|src|\.ci|native\/build)\//.test(f) || f.endsWith('.map'));
if (unwanted.length) fail(`the tarball holds files a user does not need: ${unwanted.slice(0, 5).join(', ')}`);
for (const needed of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'native/binding.gyp', 'tools/build-native.mjs', 'data/nb201/nb201-cifar10.csv', 'models/video/generator/model.json']) {
  if (!files.includes(needed)) fail(`the tarball lacks ${needed}`);
}
console.log(`check-package: ${packed.filename}: ${files.length} files, ${(packed.size / 1e6).toFixed(1)} MB`);

const project = path.join(work, 'app');
fs.mkdirSync(project);
fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'kiln-user', private: true, type: 'module' }, null, 2));
const tsVersion = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies.typescript;
const nodeTypes = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies['@types/node'];
run('npm', ['install', '--no-audit', '--no-fund', path.join(work, packed.filename), `typescript@${tsVersion}`, `@types/node@${nodeTypes}`], project);

fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
  // skipLibCheck: tfjs's own declarations fail strict checks (true of any project importing @tensorflow/tfjs).
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'out', types: ['node'] },
  include: ['main.ts'],
}, null, 2));
fs.writeFileSync(path.join(project, 'main.ts'), `
import { backendInfo, dataPath, loadDataset, splitDataset, mlp, fit, tf, type FitResult } from 'kiln';
import { runStudy, memoryStorage } from 'kiln/nas';
import { createAnalyzer } from 'kiln/explain';
import { attacks } from 'kiln/robust';
import { worldVocabulary } from 'kiln/video';
import { metrics } from 'kiln/storybench';
import { createOptimizer } from 'kiln/train';
import { datasets } from 'kiln/data';
import { saveModel } from 'kiln/nn';
import { linePlot } from 'kiln/report';
import { detectionDatasets } from 'kiln/detect';

const splits = splitDataset(loadDataset('iris'), { seed: 1 });
const model = mlp({ inputs: splits.train.shape, hidden: [8], outputs: splits.train.classNames.length });
const result: FitResult = await fit(model, splits, { epochs: 2, batchSize: 16, lr: 0.01, seed: 1 });
const relevance = createAnalyzer('gradient', model, { stripSoftmax: true }).analyze(tf.tensor2d(splits.test.x.slice(0, 8), [2, 4]));
const run = await runStudy({
  study: { name: 's', space: 'nb201', table: dataPath('nb201', 'nb201-cifar10.csv'), objective: 'cifar10_test_acc', controller: 'random', seed: 1 },
  storage: memoryStorage(), budget: 5,
});
console.log(JSON.stringify({
  backend: backendInfo().active, epochs: result.epochs, relevance: relevance.shape, trials: run.done,
  attacks: attacks.names().length > 0, words: worldVocabulary().length > 0, metrics: metrics.names().length > 0,
  optimizer: typeof createOptimizer, datasets: datasets.names().includes('iris'), save: typeof saveModel, plot: typeof linePlot,
  detect: detectionDatasets.names().includes('shapes-det'),
}));
`);
try {
  run(path.join(project, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], project);
} catch (err) {
  console.error(err.stdout);
  fail('the user project does not compile against the types of kiln (tsc output above)');
}
const out = run(process.execPath, ['out/main.js'], project).trim().split('\n').pop();
const summary = JSON.parse(out);
if (!(summary.epochs >= 1 && summary.trials === 5 && summary.attacks && summary.words && summary.metrics && summary.datasets && summary.detect)) {
  fail(`the user program ran but gave ${out}`);
}
const cli = run(process.execPath, [path.join(project, 'node_modules', '.bin', 'kiln'), '--version'], project).trim();
console.log(`check-package: a fresh project installs the tarball, compiles under tsc --strict and runs (${out}); kiln --version ${cli}`);
fs.rmSync(work, { recursive: true, force: true });
