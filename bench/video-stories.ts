/**
 * Stories of 1 to 8 prompts from the prompts alone (`scoreLongStories`): per number of prompts and
 * per prompt position, each figure for the generated stories with its 95% Wilson interval and, in
 * parentheses, the same rule on the ground truth. Markdown tables on stdout.
 * Run: node dist/bench/video-stories.js [--per-length 6] [--lengths 1,2,3,4,5,6,7,8] [--seed 1] [--generator DIR] [--tokenizer DIR]
 */
import path from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { createProgress, projectRoot } from '../src/core/index.js';
import { wilson } from '../src/math/index.js';
import { STORY_FIGURES, STORY_LABELS, loadGenerator, loadJudge, loadTokenizer, scoreLongStories, type StoryTally } from '../src/video/index.js';
import { arg } from './args.js';

const models = path.join(projectRoot(), 'models', 'video');
const perLength = Number(arg('--per-length', '6'));
const lengths = arg('--lengths', '1,2,3,4,5,6,7,8').split(',').map(Number);
const seed = Number(arg('--seed', '1'));

await initBackend();
const tok = await loadTokenizer(arg('--tokenizer', path.join(models, 'tokenizer')));
const gen = await loadGenerator(arg('--generator', path.join(models, 'generator')));
const judgeModel = await loadJudge(path.join(models, 'judge'));
const progress = createProgress({ label: 'stories', total: lengths.length * perLength });
const r = scoreLongStories(tok, gen, judgeModel, { lengths, perLength, seed, onStory: (n) => progress.update(n) });
progress.done();

const cell = (g: StoryTally[keyof StoryTally], t: StoryTally[keyof StoryTally]) => {
  if (g.n === 0) return '-';
  const w = wilson(g.hits, g.n);
  return `${(100 * w.rate).toFixed(0)} [${(100 * w.low).toFixed(0)}, ${(100 * w.high).toFixed(0)}] (${t.n ? (100 * t.hits / t.n).toFixed(0) : '-'})`;
};
const table = (title: string, key: 'byLength' | 'byPosition', head: string) => {
  console.log(`\n${title}\n`);
  console.log(`| ${head} | ${STORY_FIGURES.map((f) => STORY_LABELS[f]).join(' | ')} |`);
  console.log(`|---|${STORY_FIGURES.map(() => '---').join('|')}|`);
  for (const [k, g] of Object.entries(r.generated[key])) console.log(`| ${k} | ${STORY_FIGURES.map((f) => cell(g[f], r.truth[key][Number(k)][f])).join(' | ')} |`);
};
/** Every segment of every story: the by-length tallies summed. */
const all = (tallies: StoryTally[]): StoryTally => Object.fromEntries(STORY_FIGURES.map((f) => [f, {
  hits: tallies.reduce((a, t) => a + t[f].hits, 0), n: tallies.reduce((a, t) => a + t[f].n, 0),
}])) as StoryTally;
console.log(`${perLength} stories per length (${lengths.join(', ')} prompts) from the prompts alone, training-split actions, named background, default sampling, seed ${seed}; ${r.seconds.toFixed(0)} s. Cells: generated % [95% Wilson] (ground truth %).`);
table('By number of prompts in the story (all its segments):', 'byLength', 'prompts');
table('By the prompt\'s position in the story:', 'byPosition', 'prompt #');
const [g, t] = [all(Object.values(r.generated.byLength)), all(Object.values(r.truth.byLength))];
console.log(`| all | ${STORY_FIGURES.map((f) => cell(g[f], t[f])).join(' | ')} |`);
