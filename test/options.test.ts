import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tf, initBackend } from '../src/backend/index.js';
import {
  KilnError, checkOptionValue, checkOptions, describeOptions, parseOptionValue, parseOptions, projectRoot, withDefaults,
  type OptionSpec, type OptionValue,
} from '../src/core/index.js';
import { controllerOptions, controllers, createController, nb201Space } from '../src/nas/index.js';
import { attacks, type AttackOptions, type Classifier } from '../src/robust/index.js';
import { MetricEnv, metrics } from '../src/storybench/index.js';
import { optionFlags } from '../src/cli/flags.js';

const CLI = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

before(async () => {
  await initBackend('cpu');
});

/** A value of the spec's type: its default, else the first choice or the lower bound. */
function sampleValue(s: OptionSpec): OptionValue {
  if (s.default !== undefined) return s.default;
  if (s.type === 'boolean') return true;
  if (s.type === 'string') return s.choices?.[0] ?? 'x';
  return Math.max(s.min ?? 1, 1);
}

/** What every declaration must satisfy: unique names, a description, and a default that parses back to itself. */
function assertWellDeclared(owner: string, specs: readonly OptionSpec[]): void {
  assert.ok(Array.isArray(specs), `${owner} declares its options`);
  assert.equal(new Set(specs.map((s) => s.name)).size, specs.length, `${owner}: option names are unique`);
  for (const s of specs) {
    assert.ok(['number', 'integer', 'boolean', 'string'].includes(s.type), `${owner} ${s.name}: known type`);
    assert.ok(s.description.length > 0, `${owner} ${s.name}: described`);
    const v = sampleValue(s);
    assert.equal(checkOptionValue(owner, s, v), v, `${owner} ${s.name}: ${String(v)} is valid`);
    assert.equal(parseOptionValue(owner, s, String(v)), v, `${owner} ${s.name}: '${String(v)}' parses back`);
  }
  assert.equal(describeOptions(specs).length, specs.length);
}

test('every registered controller declares its options, and the factory accepts exactly those', () => {
  assert.ok(controllers.names().length >= 5);
  for (const name of controllers.names()) {
    const specs = controllerOptions(name);
    assertWellDeclared(`controller '${name}'`, specs);
    // The defaults build a controller (reward shaping aside, which needs a study's cost models).
    createController(name, nb201Space, 1, withDefaults(specs, {}));
    for (const s of specs) {
      try {
        createController(name, nb201Space, 1, { [s.name]: sampleValue(s) });
      } catch (e) {
        assert.ok(e instanceof KilnError && !/has no option/.test(e.message), `${name} accepts its declared option ${s.name}: ${String(e)}`);
      }
    }
    assert.throws(() => createController(name, nb201Space, 1, { notAnOption: 1 }), /has no option 'notAnOption'/);
  }
});

test('every registered attack declares its options, and runs with their defaults', () => {
  const w = tf.randomNormal([16, 3], 0, 1, 'float32', 3);
  const model: Classifier = (x) => tf.tidy(() => x.reshape([x.shape[0], -1]).matMul(w) as tf.Tensor2D);
  const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1], 'int32');
  for (const name of attacks.names()) {
    const attack = attacks.get(name);
    assertWellDeclared(`attack '${name}'`, attack.options);
    assert.ok(attack.options.some((s) => s.name === 'eps'), `${name} declares eps`);
    if (attack.needsManifold) continue;
    const opts = withDefaults(attack.options, { eps: 0.1, steps: 2 }) as unknown as AttackOptions;
    const { x: adv } = attack.run(model, x, y, opts);
    assert.deepEqual(adv.shape, x.shape, `${name} runs with its declared defaults`);
    adv.dispose();
  }
  tf.dispose([w, x, y]);
});

test('every registered metric declares the environment options it reads, with the environment defaults', () => {
  const env = new MetricEnv().describe();
  for (const name of metrics.names()) {
    const specs = metrics.get(name).options;
    assertWellDeclared(`metric '${name}'`, specs);
    assert.ok(specs.length > 0, `${name} reads features`);
    for (const s of specs) assert.equal(env[s.name], s.default, `${name}: ${s.name} defaults as MetricEnv does`);
  }
});

test('option texts parse to their declared type; unknown names and bad values name the option and its type', () => {
  const specs: OptionSpec[] = [
    { name: 'steps', type: 'integer', default: 40, min: 1, description: 'iterations' },
    { name: 'rate', type: 'number', min: 0, max: 1, description: 'a rate' },
    { name: 'refit', type: 'boolean', default: true, description: 'refit' },
    { name: 'model', type: 'string', choices: ['mlp', 'gcn'], description: 'model' },
  ];
  assert.deepEqual(parseOptions("thing 't'", specs, { steps: '3', rate: '0.5', refit: 'false', model: 'gcn' }),
    { steps: 3, rate: 0.5, refit: false, model: 'gcn' });
  assert.throws(() => parseOptions("thing 't'", specs, { steps: '2.5' }), /option 'steps' of thing 't' must be <integer >= 1> \(got "2.5"\)/);
  assert.throws(() => parseOptions("thing 't'", specs, { rate: '2' }), /<number in \[0, 1\]>/);
  assert.throws(() => parseOptions("thing 't'", specs, { refit: 'yes' }), /<true\|false>/);
  assert.throws(() => parseOptions("thing 't'", specs, { model: 'cnn' }), /<mlp\|gcn>/);
  assert.throws(() => parseOptions("thing 't'", specs, { stepz: '1' }),
    /thing 't' has no option 'stepz' \(options: steps=<integer >= 1>, rate=<number in \[0, 1\]>, refit=<true\|false>, model=<mlp\|gcn>\)/);
  assert.throws(() => checkOptions("thing 't'", specs, { steps: '3' }), /must be <integer >= 1>/, 'typed values are not coerced');
  assert.throws(() => optionFlags(['steps'], "thing 't'", specs), /--option takes key=value/);
  assert.throws(() => optionFlags(['steps=0'], "thing 't'", specs), /^KilnError: --option: option 'steps'/);
  assert.deepEqual(withDefaults(specs, { steps: 3 }), { steps: 3, refit: true });
});

test('kiln attack: --list shows typed options; a bad --option is a one-line error with exit 2', () => {
  const list = spawnSync(process.execPath, [CLI, 'attack', '--list'], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /pgd-linf \(linf\)[^\n]*\n(\s+--option [^\n]+\n)*\s+--option steps=<integer >= 1>  iterations \(default 40\)/);
  assert.match(list.stdout, /deepfool-l2[\s\S]*--option overshoot=<number >= 0>/);
  const bad = spawnSync(process.execPath, [CLI, 'attack', '--model', 'none.json', '--attack', 'fgsm', '--option', 'steps=3'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "kiln: --option: attack 'fgsm' has no option 'steps' (options: eps=<number >= 0>)\n");
  const typed = spawnSync(process.execPath, [CLI, 'attack', '--model', 'none.json', '--attack', 'deepfool-l2', '--option', 'overshoot=lots'],
    { encoding: 'utf8' });
  assert.equal(typed.status, 2);
  assert.equal(typed.stderr, 'kiln: --option: option \'overshoot\' of attack \'deepfool-l2\' must be <number >= 0> (got "lots")\n');
});

test('kiln storybench score: --option is checked against the chosen metrics; --help lists them with types', () => {
  const bad = spawnSync(process.execPath, [CLI, 'storybench', 'score', 'nowhere', '--metrics', 'vtm', '--option', 'frameFeatures=x'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^kiln: --option: metrics vtm has no option 'frameFeatures' \(options: dualEncoder=<string>, bootstraps=<integer >= 0>\)\n$/);
  const negative = spawnSync(process.execPath, [CLI, 'storybench', 'score', 'nowhere', '--metrics', 'vtm', '--option', 'bootstraps=-1'], { encoding: 'utf8' });
  assert.equal(negative.status, 2);
  assert.match(negative.stderr, /^kiln: --option: option 'bootstraps' of metrics vtm must be <integer >= 0> \(got "-1"\)\n$/);
  const help = spawnSync(process.execPath, [CLI, 'storybench', 'score', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /fid: [^\n]+\n\s+--option frameFeatures=<string> [^\n]+\(default kiln-judge\)/);
});
