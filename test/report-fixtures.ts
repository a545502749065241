/**
 * Hand-made results for the capability reports (no training, no models), so report tests and
 * screenshots see every section: tables, histograms, image grids, GIF galleries, human ratings.
 */
import { createRng } from '../src/core/index.js';
import { tf } from '../src/backend/index.js';
import { DEFAULT_CONFIG, IMAGE_SIZE, LATENT_DIM, render, sampleLatents, type ExcusableResult } from '../src/robust/index.js';
import { COMPARED, DEFAULT_SAMPLING, FIGURES, SYSTEMS, renderStory, sampleStory, type EvalResult } from '../src/video/index.js';
import type { HumanSection, ScoreFile } from '../src/storybench/index.js';

export function excusableFixture(): ExcusableResult {
  const rng = createRng(7);
  const config = { ...DEFAULT_CONFIG, seeds: 2, sigmas: [0.3], eps: [1, 2], trainings: ['standard', 'noise', 'pgd'], offAttacks: ['pgd', 'autoattack'] } as ExcusableResult['config'];
  const kinds = [{ training: 'standard', sigma: 0 }, { training: 'noise', sigma: 0.3 }, { training: 'pgd', sigma: 0 }] as const;
  const distances = (n: number, scale: number) => Array.from({ length: n }, () => scale * rng.next());
  const images = (n: number) => {
    const z = tf.tensor2d(sampleLatents(n, rng), [n, LATENT_DIM]);
    const x = render(z);
    const data = x.dataSync() as Float32Array;
    tf.dispose([z, x]);
    const size = IMAGE_SIZE * IMAGE_SIZE;
    return Array.from({ length: n }, (_, i) => data.slice(i * size, (i + 1) * size));
  };
  const runs = kinds.flatMap((kind, k) => [0, 1].map((seed) => ({
    ...kind, seed, testError: 0.05 + 0.02 * seed, errorDistances: distances(20, 0.1), trainSeconds: 10, cpuSeconds: 12,
    attacks: config.eps.map((eps) => ({ eps, attacked: 50, offErrors: 45 - 12 * k, offByAttack: { pgd: 40 - 12 * k, autoattack: 45 - 12 * k },
      onErrors: 5, offDistances: distances(20, 0.5), onDistances: distances(5, 0.1) })),
  })));
  return {
    config, runs, testDistances: distances(300, 0.6),
    examples: kinds.map((kind) => ({ ...kind, eps: 2, clean: images(6), off: images(6), on: images(6) })),
    seconds: 600, cpuSeconds: 900,
  };
}

export function videoEvalFixture(): EvalResult {
  const rng = createRng(3);
  const samples = [0, 1, 2].map((i) => {
    const story = sampleStory(rng, `story${i}`, { split: 'test' });
    const v = renderStory(story);
    return { id: story.id, texts: story.segments.map((s) => s.prompt), videos: Object.fromEntries(SYSTEMS.map((s) => [s, v])) as EvalResult['samples'][number]['videos'] };
  });
  const est = (value: number, n = 61) => ({ value, low: value * 0.9, high: value * 1.1, n });
  const scores = (a: number) => ({
    action: est(a), shape: est(a + 0.1), colour: est(a + 0.05), visible: est(0.9 + a / 10, 800), motion: est(a), travel: est(10 * a), size: est(a),
    paletteColour: est(a), frechet: est(10 * (1 - a)), psnr: est(20 + 10 * a, 24),
  });
  const comparisons = COMPARED.flatMap(([system, against]) => FIGURES.map((figure, i) => ({ figure, system, against, difference: 0.1, low: i % 2 ? -0.02 : 0.03, high: 0.2, significant: i % 2 === 0 })));
  return {
    stories: 24, segments: 61, reconstructionPsnr: 27.3, secondsPerFrame: 0.08, sampling: { ...DEFAULT_SAMPLING, seed: 1 },
    rows: SYSTEMS, systems: { 'ground truth': { ...scores(0.9), psnr: est(NaN) }, reconstruction: scores(0.8), generated: scores(0.5), baseline: scores(0.3) },
    compared: COMPARED, comparisons, samples,
  };
}

export function leaderboardFixture(): { scores: ScoreFile; human: HumanSection } {
  const metric = (mean: number) => ({ perSample: [mean, mean], mean, std: 0.5 });
  const scores: ScoreFile = {
    metrics: [{ name: 'fid', better: 'lower' }, { name: 'fvd', better: 'lower' }, { name: 'sim', better: 'higher' }, { name: 'vtm', better: 'higher' }],
    extractors: { frameFeatures: 'grid-color', videoFeatures: 'grid-motion', dualEncoder: 'color-words' },
    rows: ['phenaki-small', 'repeat-last', 'oracle'].flatMap((model, i) => ['story_cont', 'action_exec'].map((task) => ({
      model, task, dataset: 'didemo-valid', samples: 4, items: 120,
      scores: { fid: metric(30 - 10 * i), fvd: { perSample: [], mean: NaN, std: NaN, note: 'needs 2+ videos | one given' }, sim: metric(60 + 10 * i), vtm: metric(20 + i) },
    }))),
  };
  const human: HumanSection = {
    raters: 3, judgements: 90,
    winRates: [{ task: 'story_cont', dataset: 'didemo-valid', system: 'oracle', opponent: 'repeat-last', wins: 40, losses: 5, ties: 5, rate: 0.889, low: 0.765, high: 0.952 }],
    agreement: ['fid', 'sim', 'vtm'].map((m) => ({ metric: m, judgements: 45, agreement: 0.8, agreementLow: 0.66, agreementHigh: 0.9, systems: 2, spearman: null, spearmanLow: null, spearmanHigh: null })),
  };
  return { scores, human };
}
