import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  type Answers, type Judgement, type ScoreFile, RatingStore, judgementsCsv, metricAgreement, parseAnswers, wilson, winRates,
} from '../src/storybench/index.js';
import { spearman } from '../src/math/index.js';
import { tempDir } from './temp-dir.js';

const answers = (overall: 'a' | 'b' | 'tie', segments = 2): Answers => ({
  visual_quality: overall, entity_consistency: 'tie', background_consistency: 'a', action_realism: 'b', transition_realism: 'tie',
  overall, text_adherence: new Array(segments).fill(overall),
});

test('Wilson interval matches the closed form', () => {
  const w = wilson(8, 10);
  assert.equal(w.rate, 0.8);
  assert.ok(Math.abs(w.low - 0.4901625) < 1e-6 && Math.abs(w.high - 0.9433178) < 1e-6, `${w.low} ${w.high}`);
  const none = wilson(0, 20);
  assert.equal(none.low, 0);
  assert.ok(none.high > 0.1 && none.high < 0.2);
  // All of them: the interval reaches the rate itself, whatever the rounding (4 of 4 once gave 1 - 1e-16).
  for (let n = 1; n <= 200; n++) assert.equal(wilson(n, n).high, 1, `${n} of ${n}`);
});

test('answers are validated strictly', () => {
  assert.deepEqual(parseAnswers(answers('a'), 2), answers('a'));
  assert.throws(() => parseAnswers({ ...answers('a'), overall: 'left' }, 2), /'overall' must be one of a, b, tie/);
  assert.throws(() => parseAnswers(answers('a', 1), 2), /text_adherence.*2 segments/);
  assert.throws(() => parseAnswers({ ...answers('a'), extra: 'a' }, 2), /unknown answer 'extra'/);
  assert.throws(() => parseAnswers('a', 2), /answers must be an object/);
});

test('store: one judgement per rater, item and pair; CSV export; win rates', () => {
  const dir = tempDir('sb-ratings-');
  const db = path.join(dir, 'r.db');
  let store = new RatingStore(db);
  const base = { task: 'story_cont', dataset: 'toy' };
  store.add({ ...base, rater: 'ann', item: 'item00000', systemA: 'x', systemB: 'y', answers: answers('a') });
  store.add({ ...base, rater: 'ann', item: 'item00001', systemA: 'y', systemB: 'x', answers: answers('a') });
  store.add({ ...base, rater: 'bob', item: 'item00000', systemA: 'y', systemB: 'x', answers: answers('tie') });
  // Same rater, item and pair, sides swapped: still a duplicate.
  assert.throws(() => store.add({ ...base, rater: 'ann', item: 'item00000', systemA: 'y', systemB: 'x', answers: answers('b') }), /already judged/);
  store.close();
  store = new RatingStore(db); // survives a restart
  const all = store.all();
  assert.equal(all.length, 3);
  assert.deepEqual(store.done('ann'), new Set(['story_cont|toy|item00000|x vs y', 'story_cont|toy|item00001|x vs y']));
  const csv = judgementsCsv(all).trim().split('\n');
  assert.equal(csv.length, 4);
  assert.match(csv[0], /^id,rater,task,dataset,item,system_a,system_b,visual_quality,/);
  assert.match(csv[1], /^1,ann,story_cont,toy,item00000,x,y,a,tie,a,b,tie,a,a;a,/);
  const x = winRates(all).find((w) => w.system === 'x')!;
  assert.deepEqual([x.wins, x.losses, x.ties], [1, 1, 1]);
  assert.equal(x.rate, 0.5);
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('metric agreement with people: pairwise rate, Spearman over systems, bootstrap intervals', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  const systems = ['s1', 's2', 's3'];
  const score = (v: Record<string, number>, better: 'lower' | 'higher') => systems.map((m) => ({ model: m, task: 't', dataset: 'd', samples: 1, items: 4,
    scores: { [better === 'lower' ? 'fid' : 'sim']: { perSample: [v[m]], mean: v[m], std: 0 } } }));
  const scores: ScoreFile = {
    metrics: [{ name: 'fid', better: 'lower' }, { name: 'sim', better: 'higher' }],
    extractors: {},
    rows: score({ s1: 10, s2: 20, s3: 30 }, 'lower').map((r, i) => ({ ...r, scores: { ...r.scores, ...score({ s1: 1, s2: 2, s3: 3 }, 'higher')[i].scores } })),
  };
  // People prefer s1 > s2 > s3, which fid (lower is better) agrees with and sim (higher is better) contradicts.
  const js: Judgement[] = [];
  let k = 0;
  for (const [a, b] of [['s1', 's2'], ['s2', 's3'], ['s1', 's3']]) {
    for (let i = 0; i < 6; i++) js.push({ rater: `r${k++}`, task: 't', dataset: 'd', item: `i${i}`, systemA: i % 2 ? a : b, systemB: i % 2 ? b : a, answers: answers(i % 2 ? 'a' : 'b') });
  }
  const [fid, sim] = metricAgreement(scores, js, 200);
  assert.equal(fid.metric, 'fid');
  assert.equal(fid.agreement, 1);
  assert.equal(fid.spearman, 1);
  assert.equal(sim.agreement, 0);
  assert.equal(sim.spearman, -1);
  assert.equal(fid.judgements, 18);
  assert.ok(fid.agreementLow! <= 1 && fid.agreementHigh === 1);
});
