import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, setSeed } from '../src/backend/index.js';
import { CViViT, DEFAULT_TOKENIZER, MaskGit, STORY_FIGURES, createWordTokenizer, sampleStory, scoreLongStories } from '../src/video/index.js';
import { createRng } from '../src/core/index.js';
import { buildJudge } from '../src/video/judge.js';

before(async () => {
  await initBackend();
  setSeed(6);
});

test('sampled stories take 1 to 8 prompts when asked, and no more', () => {
  const rng = createRng(1);
  for (const n of [1, 5, 8]) assert.equal(sampleStory(rng, 's', { split: 'train', segments: n }).segments.length, n);
  assert.throws(() => sampleStory(rng, 's', { split: 'train', segments: 9 }), /1 to 8 segments/);
});

test('long stories are scored per segment, by length and by position, beside the ground truth', () => {
  const tok = new CViViT({ ...DEFAULT_TOKENIZER, patch: 8, dim: 16, heads: 2, mlp: 32, codebook: 16, codeDim: 4 });
  tok.build();
  const text = createWordTokenizer();
  const model = new MaskGit({ codes: 16, codeGroups: tok.groups, windowSteps: 5, tokensPerStep: tok.patchesPerStep, vocab: text.words.length, textLen: text.maxLen, dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1, labelSmoothing: 0.1 });
  model.build();
  let stories = 0;
  const r = scoreLongStories(tok, { model, text, contextSteps: 2 }, buildJudge(), { lengths: [1, 3], perLength: 2, seed: 4, onStory: (n) => { stories = n; } });
  assert.equal(stories, 4);
  for (const sys of ['generated', 'truth'] as const) {
    assert.deepEqual(Object.keys(r[sys].byLength).map(Number), [1, 3]);
    assert.deepEqual(Object.keys(r[sys].byPosition).map(Number), [1, 2, 3]);
    assert.equal(r[sys].byLength[1].action.n, 2);
    assert.equal(r[sys].byLength[3].action.n, 6);
    assert.equal(r[sys].byPosition[1].action.n, 4);
    assert.equal(r[sys].byPosition[3].changing.n, 2);
    for (const tally of [...Object.values(r[sys].byLength), ...Object.values(r[sys].byPosition)]) {
      for (const f of STORY_FIGURES) assert.ok(tally[f].hits >= 0 && tally[f].hits <= tally[f].n, `${sys} ${f}`);
    }
    // Only a later prompt can introduce an object.
    assert.equal(r[sys].byPosition[1].newObject.n, 0);
    assert.equal(r[sys].byLength[3].newObject.n, r[sys].byPosition[2].newObject.n + r[sys].byPosition[3].newObject.n);
  }
  // The rules hold on the truth: every segment changes, and an object shows in nearly every frame.
  const t = r.truth.byLength[3];
  assert.equal(t.changing.hits, t.changing.n);
  assert.ok(t.visible.hits / t.visible.n >= 0.8, `${t.visible.hits}/${t.visible.n}`);
});
