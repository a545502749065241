import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRng, projectRoot } from '../src/core/index.js';
import { initBackend, setSeed } from '../src/backend/index.js';
import {
  BACKGROUNDS, COLOURS, CViViT, DEFAULT_TOKENIZER, RECIPES, RUN_FIGURES, VIDEO_EXPERIMENTS, VIDEO_EXPERIMENT_NAMES, VIDEO_EXPERIMENT_QUICK, checkVideoExperimentConfig,
  maskWindow, recipesOf, renderStory, runDir, runVideoExperiments, sampleExample, sampleImageExample, sampleStill, sampleStory, singleCaption,
  summariseExperiment, writeVideoExperimentReport, type RunScores, type VideoExperimentConfig,
} from '../src/video/index.js';
import { buildJudge } from '../src/video/judge.js';
import { tempDir } from './temp-dir.js';

const TINY = { ...DEFAULT_TOKENIZER, patch: 8, dim: 16, heads: 2, mlp: 32, codebook: 16, codeDim: 4 };

before(async () => {
  await initBackend();
  setSeed(5);
});

function tinyTokenizer(): CViViT {
  const tok = new CViViT(TINY);
  tok.build();
  return tok;
}

function stories(split: 'train' | 'test', n: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const story = sampleStory(rng, `${split}_${i}`, { split, segments: 2 });
    return { story, video: renderStory(story) };
  });
}

test('a still shows one object of its caption\'s colour on its background, and captions name colour and shape', () => {
  const rng = createRng(2);
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const s = sampleStill(rng);
    assert.equal(s.frame.t, 1);
    const m = /^a (\w+) (square|circle|triangle)$/.exec(s.caption);
    assert.ok(m, s.caption);
    seen.add(m[2]);
    const count = (rgb: readonly number[]) => {
      let n = 0;
      for (let p = 0; p < s.frame.data.length; p += 3) if (rgb.every((c, k) => s.frame.data[p + k] === c)) n++;
      return n;
    };
    assert.ok(count(BACKGROUNDS[s.background]) > 32 * 32 / 2, 'the background fills most of the frame');
    assert.ok(count(COLOURS[m[1]]) >= 9, `${s.caption}: too few pixels of the named colour`);
  }
  assert.equal(seen.size, 3, 'every shape appears');
});

test('a still-image window trains only its first time step; the rest is masked with no loss', () => {
  const P = 4;
  const target = Int32Array.from({ length: 5 * P }, (_, i) => i % 7);
  const rng = createRng(3);
  for (let trial = 0; trial < 50; trial++) {
    const { input, weights } = maskWindow(rng, target, 0, P, 99, 4, 1);
    for (let pos = P; pos < target.length; pos++) {
      assert.equal(input[pos], 99, 'a later step shows a code');
      assert.equal(weights[pos], 0, 'a later step carries loss');
    }
    const trained = [...weights.subarray(0, P)].filter((w) => w > 0);
    assert.ok(trained.length > 0 && trained.every((w) => w === 1), 'the first step is trained with plain weights');
  }
  const tok = tinyTokenizer();
  const e = sampleImageExample(createRng(4), tok, 5);
  assert.equal(e.targetSteps, 1);
  assert.equal(e.knownSteps, 0);
  assert.match(e.prompt, /^a \w+ (square|circle|triangle)$/);
  assert.equal(e.clip.length, tok.framesFor(5) * 32 * 32 * 3);
});

test('single-caption data gives every window of a story the same one of its prompts; story-like data follows the segments', () => {
  const tok = tinyTokenizer();
  const data = stories('train', 6, 7);
  for (const s of data) {
    assert.ok(s.story.segments.some((seg) => seg.prompt === singleCaption(s.story)));
    assert.equal(singleCaption(s.story), singleCaption(structuredClone(s.story)), 'the caption depends on the story only');
  }
  const one = [data[0]];
  const rng = createRng(8);
  const single = new Set(Array.from({ length: 60 }, () => sampleExample(rng, one, tok, 5, 2, 'single').prompt));
  assert.deepEqual([...single], [singleCaption(data[0].story)]);
  const segments = new Set(Array.from({ length: 60 }, () => sampleExample(rng, one, tok, 5, 2, 'segments').prompt));
  assert.deepEqual([...segments].sort(), data[0].story.segments.map((s) => s.prompt).sort());
  // Across stories the single caption is not always the first prompt.
  assert.ok(stories('train', 30, 9).some((s) => singleCaption(s.story) !== s.story.segments[0].prompt));
});

test('experiment settings are checked before any work', () => {
  const ok: VideoExperimentConfig = { ...VIDEO_EXPERIMENT_QUICK };
  checkVideoExperimentConfig(ok);
  for (const [bad, named] of [[{ seeds: 1 }, /--seeds/], [{ steps: 0 }, /--steps/], [{ imageShare: 1 }, /--image-share/], [{ dim: 15 }, /--dim/], [{ lr: NaN }, /--lr/]] as const) {
    assert.throws(() => checkVideoExperimentConfig({ ...ok, ...bad }), named);
  }
  assert.deepEqual(recipesOf(['joint-images', 'story-data']).sort(), ['single-caption', 'videos', 'videos+images']);
  for (const name of VIDEO_EXPERIMENT_NAMES) {
    const e = VIDEO_EXPERIMENTS[name];
    assert.notEqual(e.reference.recipe, e.treatment.recipe, name);
    for (const key of e.headline) assert.ok(RUN_FIGURES.some((f) => f.key === key), `${name} headline ${key}`);
  }
});

test('every experiment trains each recipe and seed once, resumes exactly, summarises over seeds and writes its report', async () => {
  const tok = tinyTokenizer();
  const out = tempDir('kiln-vexp-');
  const config: VideoExperimentConfig = { seeds: 2, steps: 2, batch: 2, lr: 2e-3, dim: 16, layers: 1, saveEvery: 2, imageShare: 0.5, evalStories: 1, promptStories: 1 };
  const inputs = { names: [...VIDEO_EXPERIMENT_NAMES], config, out, train: stories('train', 3, 1), heldOut: stories('test', 1, 2), tok, judgeModel: buildJudge(), quiet: true };
  const lines: string[] = [];
  const runs = await runVideoExperiments({ ...inputs, log: (l) => lines.push(l) });
  assert.equal(runs.length, Object.keys(RECIPES).length * 2, 'three recipes (videos shared by both experiments), two seeds');
  for (const r of runs) {
    assert.ok(fs.existsSync(path.join(runDir(out, r.recipe, r.seed), 'scores.json')));
    for (const { key } of RUN_FIGURES) assert.ok(key in r.figures, `${r.recipe} ${key}`);
    assert.ok(Number.isFinite(r.figures['prompt: visible']) && r.figures['prompt: visible'] >= 0 && r.figures['prompt: visible'] <= 100);
  }
  // A run whose scores were lost is re-scored from its finished checkpoint, to the same figures; the rest are read back.
  const lost = runs[1];
  fs.rmSync(path.join(runDir(out, lost.recipe, lost.seed), 'scores.json'));
  const again: string[] = [];
  const runs2 = await runVideoExperiments({ ...inputs, log: (l) => again.push(l) });
  assert.equal(again.filter((l) => l.endsWith('scored earlier')).length, runs.length - 1);
  assert.deepEqual(runs2.map((r) => r.figures), runs.map((r) => r.figures));
  assert.ok(runs2.every((r) => Number.isFinite(r.loss) && r.loss > 0), 'every run keeps its training loss, a re-scored one too');
  await assert.rejects(runVideoExperiments({ ...inputs, config: { ...config, steps: 3 } }), /other settings \(steps 2 here, 3 asked\)/);
  // More seeds add runs beside the kept ones.
  const more: string[] = [];
  const runs3 = await runVideoExperiments({ ...inputs, config: { ...config, seeds: 3 }, log: (l) => more.push(l) });
  assert.equal(runs3.length, Object.keys(RECIPES).length * 3);
  assert.equal(more.filter((l) => l.endsWith('scored earlier')).length, runs.length);
  assert.deepEqual(runs3.filter((r) => r.seed < 3).map((r) => r.figures), runs.map((r) => r.figures));

  for (const name of VIDEO_EXPERIMENT_NAMES) {
    const e = VIDEO_EXPERIMENTS[name];
    const s = summariseExperiment(name, runs);
    assert.equal(s.length, RUN_FIGURES.length);
    assert.deepEqual(s.slice(0, e.headline.length).map((f) => f.key), [...e.headline], 'headline figures first');
    const pick = (recipe: string, key: string) => runs.filter((r: RunScores) => r.recipe === recipe).sort((a, b) => a.seed - b.seed).map((r) => r.figures[key]);
    for (const f of s) {
      const a = pick(e.reference.recipe, f.key);
      const b = pick(e.treatment.recipe, f.key);
      assert.deepEqual(f.reference.values, a);
      assert.deepEqual(f.difference.values, b.map((v, i) => v - a[i]), 'paired by seed');
      if (f.difference.values.every(Number.isFinite)) {
        assert.ok(Math.abs(f.difference.mean - (b[0] - a[0] + b[1] - a[1]) / 2) < 1e-9);
        assert.equal(f.significant, f.difference.low > 0 || f.difference.high < 0);
      }
    }
  }
  const written = writeVideoExperimentReport(out, [...VIDEO_EXPERIMENT_NAMES], runs, config);
  const md = fs.readFileSync(written.md, 'utf8');
  for (const name of VIDEO_EXPERIMENT_NAMES) {
    assert.ok(md.includes(VIDEO_EXPERIMENTS[name].paper), name);
    assert.match(fs.readFileSync(path.join(out, 'figures', `${name}.svg`), 'utf8'), /^<svg/);
  }
  assert.match(md, /\*\*Result\.\*\* videos \+ still images minus videos only, over 2 seeds/);
  assert.equal(JSON.parse(fs.readFileSync(written.results, 'utf8')).runs.length, runs.length);
  fs.rmSync(out, { recursive: true, force: true });
});

test('kiln experiment video refuses bad settings and missing data in one line, before training', () => {
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  const dir = tempDir('kiln-vexp-cli-');
  const kiln = (args: string[]) => spawnSync(process.execPath, [cli, 'experiment', 'video', '--data', dir, '--eval-data', dir, '--out', path.join(dir, 'out'), ...args], { encoding: 'utf8' });
  for (const [flags, named] of [
    [['--experiments', 'joint-images,phenaki'], /unknown 'phenaki'/], [['--seeds', '1'], /--seeds/], [['--image-share', '1'], /--image-share/],
    [['--steps', 'many'], /--steps/], [[], /no story dataset/],
  ] as const) {
    const r = kiln([...flags]);
    assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^kiln: /);
    assert.match(lines[0], named);
  }
  assert.ok(!fs.existsSync(path.join(dir, 'out')), 'nothing written');
  fs.rmSync(dir, { recursive: true, force: true });
});
