/**
 * Generation from a prompt alone (no conditioning frames), scored from the pixels and by the judge
 * (`scorePromptAlone`): --stories single-prompt stories "a COLOUR SHAPE moves DIRECTION" on a named
 * background, 16 frames, 95% Wilson intervals.
 * Run: node dist/bench/video-prompt.js [--stories 48] [--seed 1] [--generator DIR] [--tokenizer DIR]
 */
import path from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { projectRoot } from '../src/core/index.js';
import { wilson } from '../src/math/index.js';
import { PROMPT_FIGURES, PROMPT_LABELS, loadGenerator, loadJudge, loadTokenizer, scorePromptAlone } from '../src/video/index.js';
import { arg } from './args.js';

const models = path.join(projectRoot(), 'models', 'video');
const count = Number(arg('--stories', '48'));
const seed = Number(arg('--seed', '1'));

await initBackend();
const tok = await loadTokenizer(arg('--tokenizer', path.join(models, 'tokenizer')));
const gen = await loadGenerator(arg('--generator', path.join(models, 'generator')));
const judgeModel = await loadJudge(path.join(models, 'judge'));
const r = scorePromptAlone(tok, gen, judgeModel, { stories: count, seed });
console.log(`${count} single-prompt stories from the prompt alone ("a COLOUR SHAPE moves DIRECTION", ${r.frames} frames, named background, default sampling, seed ${seed}); ${r.seconds.toFixed(0)} s`);
for (const f of PROMPT_FIGURES) {
  const { hits, n } = r.counts[f];
  const w = wilson(hits, n);
  console.log(`${PROMPT_LABELS[f].padEnd(40)} ${(100 * w.rate).toFixed(1).padStart(5)}% [${(100 * w.low).toFixed(1)}, ${(100 * w.high).toFixed(1)}]  n=${n}`);
}
