/**
 * Bad input never gives a wrong answer: every flag parser refuses malformed values, and malformed
 * files, folders, databases and models given to each command end in one `kiln: ...` line on stderr
 * and exit code 2, quickly, with no stack trace and no input file or database changed.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, type Option } from 'commander';
import { COMMANDS } from '../src/cli/commands/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { cnn, mlp, saveModel } from '../src/nn/index.js';
import { RatingStore } from '../src/storybench/ratings.js';
import { createRng, dataPath } from '../src/core/index.js';
import { VIDEO_EXPERIMENT_QUICK, writeStoryDataset } from '../src/video/index.js';
import { tempDir } from './temp-dir.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'src', 'cli', 'main.js');
const tmp = tempDir('kiln-fuzz-');
const at = (...p: string[]) => path.join(tmp, ...p);

/** Values no numeric, list or range flag may accept. */
const MALFORMED = ['0x10', '0b11', '1e999', '-1e999', 'NaN', 'Infinity', '', ' ', '3abc', '1_000', '١٢', '１２', '1,,', '--', '\u0000'];

function allCommands(): Command[] {
  const program = new Command('kiln').exitOverride();
  for (const register of COMMANDS) register(program);
  const out: Command[] = [];
  const walk = (c: Command) => { out.push(c); c.commands.forEach(walk); };
  walk(program);
  return out;
}

const fullName = (c: Command): string => {
  const names: string[] = [];
  for (let p: Command | null = c; p && p.parent; p = p.parent) names.unshift(p.name());
  return names.join(' ');
};

test('every flag with a parser refuses hex, binary, infinite, NaN, empty, junk-suffixed and non-ASCII numbers', () => {
  let checked = 0;
  const faults: string[] = [];
  for (const command of allCommands()) {
    for (const option of command.options as readonly Option[]) {
      const parse = (option as Option & { parseArg?: (v: string, prev: unknown) => unknown }).parseArg;
      if (!parse || option.variadic) continue;
      const accepted = MALFORMED.filter((value) => {
        try {
          parse.call(option, value, option.defaultValue);
          return true;
        } catch {
          return false;
        }
      });
      // Repeatable key=value or free-text flags collect strings and are checked where they are used.
      if (accepted.length === MALFORMED.length) continue;
      if (accepted.length) faults.push(`kiln ${fullName(command)} ${option.long} accepts ${accepted.map((v) => JSON.stringify(v)).join(', ')}`);
      checked++;
    }
  }
  assert.deepEqual(faults, []);
  assert.ok(checked >= 40, `only ${checked} parsed flags found`);
});

interface Run { code: number | null; stderr: string; stdout: string; ms: number }

function kiln(args: string[], timeoutMs = 30_000): Promise<Run> {
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, env: { ...process.env, KILN_DEBUG: '', KILN_THREADS: '1' } });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => { stdout += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout, ms: Date.now() - start });
    });
  });
}

function digest(p: string): string {
  if (!fs.existsSync(p)) return 'absent';
  if (fs.statSync(p).isDirectory()) return fs.readdirSync(p).sort().map((f) => `${f}:${digest(path.join(p, f))}`).join(',');
  return crypto.createHash('sha1').update(fs.readFileSync(p)).digest('hex');
}

/** Seeded noise, with newlines and commas among the bytes so a parser sees rows and columns of garbage. */
function noise(length: number, seed: number): Buffer {
  const rng = createRng(seed);
  return Buffer.from(Array.from({ length }, (_, i) => (i % 37 === 0 ? 10 : i % 11 === 0 ? 44 : rng.int(256))));
}

let model: string;
before(async () => {
  await initBackend();
  setSeed(1);
  const save = async (name: string, edit?: (m: tf.LayersModel) => void) => {
    const m = mlp({ inputs: 64, hidden: [8], outputs: 10 });
    edit?.(m);
    await saveModel(m, at(name));
    m.dispose();
    return at(name);
  };
  model = await save('model');
  await save('nan-model', (m) => m.setWeights(m.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, NaN) : w))));
  const image = cnn({ inputShape: [28, 28, 1], outputs: 10 });
  image.setWeights(image.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, Infinity) : w)));
  await saveModel(image, at('inf-image-model'));
  image.dispose();
  fs.cpSync(model, at('extra-bytes'), { recursive: true });
  fs.appendFileSync(at('extra-bytes', 'weights.bin'), Buffer.alloc(12));
  fs.cpSync(model, at('short-weights'), { recursive: true });
  fs.truncateSync(at('short-weights', 'weights.bin'), 100);
  fs.mkdirSync(at('garbage-model'));
  fs.writeFileSync(at('garbage-model', 'model.json'), noise(300, 8));
  fs.mkdirSync(at('empty-dir'));
  fs.writeFileSync(at('empty.csv'), '');
  fs.writeFileSync(at('random.bin'), noise(2000, 7));
  fs.writeFileSync(at('dup-columns.csv'), 'a,b,a,label\n1,2,3,x\n4,5,6,y\n7,8,9,x\n1,1,1,y\n');
  fs.writeFileSync(at('not-a-png.png'), 'hello');
  fs.copyFileSync(dataPath('nb201', 'nb201-cifar10.csv'), at('table.csv'));
  const rows = fs.readFileSync(at('table.csv'), 'utf8').split('\n').slice(0, 60).filter(Boolean);
  const repeated = rows[0].split(',')[1]; // a metric column, named twice
  fs.writeFileSync(at('dup-table.csv'), rows.map((r, i) => `${r},${i === 0 ? repeated : 0}`).join('\n') + '\n');
  fs.writeFileSync(at('corrupt.db'), Buffer.concat([Buffer.from('SQLite format 3\u0000'), noise(4000, 9)]));
  new RatingStore(at('ratings.db')).close();
  const search = await kiln(['search', '--space', 'nb201', '--table', at('table.csv'), '--objective', 'cifar10_test_acc',
    '--budget', '3', '--storage', `sqlite:${at('study.db')}`, '--study', 's']);
  assert.equal(search.code, 0, search.stderr);
  fs.writeFileSync(at('file-not-dir'), 'x');
  writeStoryDataset({ out: at('stories'), count: 4, seed: 1 });
  fs.mkdirSync(at('vexp-corrupt'));
  fs.writeFileSync(at('vexp-corrupt', 'config.json'), noise(500, 10));
  fs.mkdirSync(at('vexp-scores', 'runs', 'videos', 'seed-1'), { recursive: true });
  fs.writeFileSync(at('vexp-scores', 'config.json'), JSON.stringify(VIDEO_EXPERIMENT_QUICK));
  fs.writeFileSync(at('vexp-scores', 'runs', 'videos', 'seed-1', 'scores.json'), '{"recipe": "videos", "seed": 1, "figures": {"continuation: action": "high"}}');
});

const videoExperiment = (out: string, data = at('stories')) => ['experiment', 'video', '--data', data, '--eval-data', data, '--out', out, '--quick'];

const searchArgs = (over: Record<string, string>) => {
  const flags: Record<string, string> = { '--space': 'nb201', '--table': at('table.csv'), '--objective': 'cifar10_test_acc', '--budget': '3', '--storage': 'memory', ...over };
  return ['search', ...Object.entries(flags).flat()];
};

/** [what, args, files that must stay as they were, what the one line must say] */
const CASES: [string, () => string[], () => string[], RegExp][] = [
  ['search: table is a folder', () => searchArgs({ '--table': at('empty-dir') }), () => [], /table file .*empty-dir is a folder/],
  ['search: table missing', () => searchArgs({ '--table': at('missing.csv') }), () => [], /table file not found/],
  ['search: table empty', () => searchArgs({ '--table': at('empty.csv') }), () => [at('empty.csv')], /empty/i],
  ['search: table of random bytes', () => searchArgs({ '--table': at('random.bin') }), () => [at('random.bin')], /is not a text file/],
  ['search: table with a duplicated column', () => searchArgs({ '--table': at('dup-table.csv') }), () => [at('dup-table.csv')], /twice|duplicate/i],
  ['search: corrupt database', () => searchArgs({ '--storage': `sqlite:${at('corrupt.db')}` }), () => [at('corrupt.db')], /cannot open sqlite storage .*corrupt\.db/],
  ['search: database in a missing folder', () => searchArgs({ '--storage': `sqlite:${at('no', 'such', 'x.db')}` }), () => [], /folder for sqlite storage does not exist/],
  ['search: empty constraint', () => searchArgs({ '--constraint': '' }), () => [], /empty constraint/],
  ['search: constraint on a missing column', () => searchArgs({ '--constraint': 'nope<=3' }), () => [], /nope/],
  ['search: unknown objective', () => searchArgs({ '--objective': 'nope' }), () => [], /objective 'nope'/],
  ['search: unknown controller', () => searchArgs({ '--controller': 'nope' }), () => [], /nope/],
  ['study list: corrupt database', () => ['study', 'list', '--storage', `sqlite:${at('corrupt.db')}`], () => [at('corrupt.db')], /corrupt\.db/],
  ['study list: a ratings database', () => ['study', 'list', '--storage', `sqlite:${at('ratings.db')}`], () => [at('ratings.db')], /not a Kiln study database/],
  ['study list: missing database', () => ['study', 'list', '--storage', `sqlite:${at('missing.db')}`], () => [at('missing.db')], /no storage at sqlite:.*missing\.db/],
  ['study show: unknown study', () => ['study', 'show', 'nope', '--storage', `sqlite:${at('study.db')}`], () => [at('study.db')], /nope/],
  ['study create: corrupt database', () => ['study', 'create', '--table', at('table.csv'), '--objective', 'cifar10_test_acc', '--storage', `sqlite:${at('corrupt.db')}`], () => [at('corrupt.db')], /cannot open sqlite storage .*corrupt\.db/],
  ['worker: a ratings database', () => ['worker', '--storage', `sqlite:${at('ratings.db')}`, '--study', 's'], () => [at('ratings.db')], /not a Kiln study database/],
  ['worker: unknown study', () => ['worker', '--storage', `sqlite:${at('study.db')}`, '--study', 'nope'], () => [at('study.db')], /no study 'nope' in sqlite:.*\(studies: s\)/],
  ['train: CSV missing', () => ['train', '--data', at('missing.csv'), '--out', at('t1')], () => [], /CSV file not found/],
  ['train: CSV is a folder', () => ['train', '--data', at('empty-dir'), '--out', at('t2')], () => [at('empty-dir')], /CSV file .*empty-dir is a folder/],
  ['train: CSV of random bytes', () => ['train', '--data', at('random.bin'), '--out', at('t4')], () => [at('random.bin')], /is not a text file/],
  ['train: CSV with a duplicated column', () => ['train', '--data', at('dup-columns.csv'), '--out', at('t3')], () => [at('dup-columns.csv')], /column 'a' twice/],
  ['train: --out is a file', () => ['train', '--data', 'iris', '--out', at('file-not-dir')], () => [at('file-not-dir')], /--out .*file-not-dir/],
  ['explain: model missing', () => ['explain', '--model', at('missing'), '--dataset', 'digits', '--strip-softmax', '--out', at('e1')], () => [], /model file not found/],
  ['explain: folder without a model', () => ['explain', '--model', at('empty-dir'), '--dataset', 'digits', '--strip-softmax', '--out', at('e2')], () => [at('empty-dir')], /model file not found: .*empty-dir/],
  ['explain: model.json of random bytes', () => ['explain', '--model', at('garbage-model'), '--dataset', 'digits', '--strip-softmax', '--out', at('e3')], () => [at('garbage-model')], /malformed model file/],
  ['explain: weights.bin with extra bytes', () => ['explain', '--model', at('extra-bytes'), '--dataset', 'digits', '--strip-softmax', '--out', at('e4')], () => [at('extra-bytes')], /hold \d+ bytes, but its manifest describes \d+/],
  ['explain: weights.bin cut short', () => ['explain', '--model', at('short-weights'), '--dataset', 'digits', '--strip-softmax', '--out', at('e5')], () => [at('short-weights')], /hold \d+ bytes, but its manifest describes \d+/],
  ['explain: model with NaN weights', () => ['explain', '--model', at('nan-model'), '--dataset', 'digits', '--strip-softmax', '--out', at('e6')], () => [at('nan-model')], /NaN or infinite values in weight/],
  ['explain: unknown analyzer', () => ['explain', '--model', model, '--dataset', 'digits', '--strip-softmax', '--analyzer', 'nope', '--out', at('e7')], () => [model], /unknown analyzer 'nope'/],
  ['explain: input that is not a PNG', () => ['explain', '--model', model, '--input', at('not-a-png.png'), '--strip-softmax', '--out', at('e8')], () => [model], /not-a-png\.png/],
  ['explain: index past the dataset', () => ['explain', '--model', model, '--dataset', 'digits', '--strip-softmax', '--index', '99999999', '--out', at('e9')], () => [model], /index must be/],
  ['attack: model with NaN weights', () => ['attack', '--model', at('inf-image-model'), '--dataset', 'mnist', '--n', '8'], () => [at('inf-image-model')], /NaN or infinite values in weight/],
  ['attack: unknown attack', () => ['attack', '--model', at('inf-image-model'), '--dataset', 'mnist', '--attack', 'nope'], () => [], /nope/],
  ['attack: unknown norm', () => ['attack', '--model', at('inf-image-model'), '--attack', 'apgd-ce', '--norm', 'L3'], () => [], /--norm must be Linf, L2 or L1/],
  ['attack: an attack with no L1 form', () => ['attack', '--model', at('inf-image-model'), '--attack', 'pgd-linf', '--norm', 'L1'], () => [], /no L1 form/],
  ['attack: an attack with no Linf form', () => ['attack', '--model', at('inf-image-model'), '--attack', 'deepfool-l2', '--norm', 'Linf'], () => [], /no Linf form/],
  ['experiment excusable: unknown training', () => ['experiment', 'excusable', '--training', 'standard,mixup', '--out', at('x1')], () => [], /--training: unknown 'mixup'/],
  ['experiment excusable: unknown off-manifold attack', () => ['experiment', 'excusable', '--attacks', 'pgd,cw', '--out', at('x2')], () => [], /--attacks: unknown 'cw'/],
  ['experiment excusable: PGD training at eps 0', () => ['experiment', 'excusable', '--training', 'pgd', '--adv-eps', '0', '--out', at('x3')], () => [], /--adv-eps must be above 0/],
  ['experiment excusable: noise training without a sigma', () => ['experiment', 'excusable', '--training', 'noise', '--sigmas', '0', '--out', at('x4')], () => [], /needs a sigma above 0/],
  ['attack: --version for another attack', () => ['attack', '--model', at('inf-image-model'), '--attack', 'pgd-linf', '--version', 'plus'], () => [], /AutoAttack's/],
  ['attack: unknown AutoAttack version', () => ['attack', '--model', at('inf-image-model'), '--attack', 'autoattack', '--version', 'best'], () => [], /standard\|plus\|rand\|custom/],
  ['attack: --attacks without custom', () => ['attack', '--model', at('inf-image-model'), '--attack', 'autoattack', '--attacks', 'fab'], () => [], /--version custom/],
  ['attack: malformed curve budget', () => ['attack', '--model', at('inf-image-model'), '--curve', '0.1,abc'], () => [], /--curve must be a number/],
  ['story: a million frames', () => ['story', 'a red square', '--frames', '1000000', '--out', at('s1.gif')], () => [], /at most 2048/],
  ['story: output in a missing folder', () => ['story', 'a red square', '--frames', '8', '--out', at('no', 'such', 's.gif')], () => [], /does not exist/],
  ['story: an empty prompt', () => ['story', '', '--frames', '8', '--out', at('s2.gif')], () => [], /prompt/i],
  ['storybench ratings: a study database', () => ['storybench', 'ratings', '--db', at('study.db')], () => [at('study.db')], /not a ratings database/],
  ['storybench ratings: corrupt database', () => ['storybench', 'ratings', '--db', at('corrupt.db')], () => [at('corrupt.db')], /corrupt\.db/],
  ['storybench ratings: missing database', () => ['storybench', 'ratings', '--db', at('missing2.db')], () => [at('missing2.db')], /ratings database not found/],
  ['storybench rate: port out of range', () => ['storybench', 'rate', '--results', `${at('empty-dir')},${at('empty-dir')}`, '--port', '99999', '--db', at('r1.db')], () => [], /--port/],
  ['storybench rate: host that is no address', () => ['storybench', 'rate', '--results', `${at('empty-dir')},${at('empty-dir')}`, '--host', '999.1.1.1', '--db', at('r2.db')], () => [], /999\.1\.1\.1/],
  ['storybench rate: database in a missing folder', () => ['storybench', 'rate', '--results', `${at('empty-dir')},${at('empty-dir')}`, '--db', at('no', 'such', 'r.db')], () => [], /does not exist/],
  ['storybench run: unknown dataset', () => ['storybench', 'run', '--task', 'action_exe', '--dataset', 'nope', '--model', 'repeat-last', '--out', at('sb1')], () => [], /nope/],
  ['oneshot tunas: CSV missing', () => ['oneshot', 'tunas', '--data', at('missing.csv'), '--latency-target', '5', '--out', at('o1')], () => [], /CSV file not found|missing\.csv/],
  ['experiment video: data folder missing', () => videoExperiment(at('vx1'), at('missing-data')), () => [], /no story dataset at .*missing-data/],
  ['experiment video: --out is a file', () => videoExperiment(at('file-not-dir')), () => [at('file-not-dir')], /--out .*file-not-dir/],
  ['experiment video: settings of random bytes in --out', () => videoExperiment(at('vexp-corrupt')), () => [at('vexp-corrupt')], /experiment settings .*config\.json is not/],
  ['experiment video: run scores that are not scores', () => videoExperiment(at('vexp-scores')), () => [at('vexp-scores')], /run scores .*scores\.json do not hold the scores of videos seed 1/],
  ['video train-generator: cosine floor above the rate', () => ['video', 'train-generator', '--data', at('missing-data'), '--lr', '1e-4', '--schedule', 'cosine', '--min-lr', '1e-3', '--checkpoint', at('g1')], () => [], /--min-lr \(0\.001\) must not be above --lr \(0\.0001\)/],
  ['video train-generator: unknown schedule', () => ['video', 'train-generator', '--data', at('missing-data'), '--schedule', 'step', '--checkpoint', at('g2')], () => [], /--schedule.*step/],
  ['video eval: data folder missing', () => ['video', 'eval', '--data', at('missing-data'), '--out', at('v1')], () => [], /missing-data/],
  ['video eval: a decoding flag without a generator', () => ['video', 'eval', '--data', at('missing-data'), '--out', at('v1'), '--no-generator', '--choice-temperature', '2'], () => [], /--no-generator scores the tokenizer alone; the decoding flag --choice-temperature applies to a generator/],
];

for (const [what, args, inputs, reason] of CASES) {
  test(`bad input refused: ${what}`, async () => {
    const argv = args();
    const files = inputs();
    const before = files.map(digest);
    const r = await kiln(argv);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    const shown = `kiln ${argv.map((a) => JSON.stringify(a)).join(' ')} -> exit ${r.code} after ${r.ms} ms, stderr:\n${r.stderr}`;
    assert.equal(r.code, 2, shown);
    assert.equal(lines.length, 1, shown);
    assert.match(lines[0], /^kiln: /, shown);
    assert.doesNotMatch(lines[0], /internal error/, shown);
    assert.match(lines[0], reason, `refused for another reason than ${what}: ${shown}`);
    assert.deepEqual(files.map(digest), before, `an input changed: ${shown}`);
  });
}
