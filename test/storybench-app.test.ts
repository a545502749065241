import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RatingStore, resolveDataset, runBenchmark } from '../src/storybench/index.js';
import { startRatingApp } from '../src/server/index.js';
import { makeSyntheticStories } from './fixtures/storybench/synthetic.js';
import { launchChromium, noChromium } from './browser.js';


/** Two systems (repeat-last, oracle) on story_cont for three synthetic stories. */
async function fixtureRuns(): Promise<{ root: string; out: string }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-app-'));
  const data = path.join(root, 'data');
  const out = path.join(root, 'results');
  makeSyntheticStories(data, 3);
  for (const model of ['repeat-last', 'oracle']) {
    await runBenchmark({ task: 'story_cont', dataset: resolveDataset(data), model, samples: 2, out });
  }
  return { root, out };
}

const fullAnswers = { visual_quality: 'a', entity_consistency: 'a', background_consistency: 'tie', action_realism: 'b', transition_realism: 'a', overall: 'a', text_adherence: ['a', 'b'] };

test('rating API validates every request and refuses double submission', async () => {
  const { root, out } = await fixtureRuns();
  const app = await startRatingApp({ db: path.join(root, 'r.db'), results: [out], port: 0 });
  try {
    assert.match(app.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'binds to localhost by default');
    const post = (body: unknown, type = 'application/json') =>
      fetch(`${app.url}/api/judgements`, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const bad: [unknown, RegExp, string?][] = [
      ['{nope', /not valid JSON/],
      [{ rater: 'ann', comparison: 0, answers: fullAnswers }, /application\/json/, 'text/plain'],
      [{ rater: '', comparison: 0, answers: fullAnswers }, /'rater'/],
      [{ rater: 'ann', comparison: 99, answers: fullAnswers }, /'comparison' must be an integer in \[0, 3\)/],
      [{ rater: 'ann', comparison: 0, answers: { ...fullAnswers, overall: 'x' } }, /'overall' must be one of a, b, tie/],
      [{ rater: 'ann', comparison: 0, answers: { ...fullAnswers, text_adherence: ['a'] } }, /text_adherence/],
      [{ rater: 'ann', comparison: 0, answers: fullAnswers, admin: true }, /unknown field 'admin'/],
    ];
    for (const [body, message, type] of bad) {
      const res = await post(body, type);
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, message);
    }
    assert.equal((await fetch(`${app.url}/api/next`)).status, 400);
    assert.equal((await fetch(`${app.url}/api/next?rater=${encodeURIComponent('<script>')}`)).status, 400);
    assert.equal((await fetch(`${app.url}/media/0/..%2F..%2Fetc.gif`)).status, 404);
    assert.equal((await fetch(`${app.url}/nope`)).status, 404);
    assert.equal((await fetch(`${app.url}/api/next?rater=ann`, { method: 'DELETE' })).status, 405);
    const next = (await (await fetch(`${app.url}/api/next?rater=ann`)).json()) as { comparison: { index: number; left: string } };
    const gif = await fetch(app.url + next.comparison.left);
    assert.equal(gif.headers.get('content-type'), 'image/gif');
    assert.equal(Buffer.from(await gif.arrayBuffer()).subarray(0, 6).toString(), 'GIF89a');
    assert.equal((await post({ rater: 'ann', comparison: next.comparison.index, answers: fullAnswers })).status, 200);
    assert.equal((await post({ rater: 'ann', comparison: next.comparison.index, answers: fullAnswers })).status, 409);
    const csv = await (await fetch(`${app.url}/api/export.csv`)).text();
    assert.equal(csv.trim().split('\n').length, 2);
  } finally {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('end to end in Chromium: a rater judges two items, stops, resumes', { skip: noChromium }, async () => {
  const { root, out } = await fixtureRuns();
  const db = path.join(root, 'ratings.db');
  const app = await startRatingApp({ db, results: [path.join(out, 'repeat-last'), path.join(out, 'oracle')], port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1250 } });
    const login = async () => {
      await page.goto(app.url);
      await page.fill('#rater', 'Ann Example');
      await page.click('#start');
    };
    // Browser-side conditions as strings: the test compiles without DOM types.
    const progressIs = (text: string) => page.waitForFunction(`document.getElementById('progress').textContent === ${JSON.stringify(text)}`);
    const rateOne = async (expected: string) => {
      await progressIs(expected);
      for (const side of ['left', 'right']) {
        await page.waitForFunction(`(() => { const i = document.getElementById('${side}'); return i.complete && i.naturalWidth > 0; })()`);
      }
      assert.equal(await page.isDisabled('#submit'), true, 'submit waits for every answer');
      const segments = await page.locator('#prompts li').count();
      assert.equal(segments, 2);
      for (let s = 0; s < segments; s++) await page.check(`input[name="text_${s}"][value="a"]`);
      for (const key of ['visual_quality', 'entity_consistency', 'background_consistency', 'action_realism', 'transition_realism']) {
        await page.check(`input[name="${key}"][value="tie"]`);
      }
      await page.check('input[name="overall"][value="b"]');
      return page;
    };
    await login();
    await rateOne('0 / 3 rated');
    await page.screenshot({ path: path.join(os.tmpdir(), 'storybench-rating-app.png') });
    // A double click sends one judgement (the button disables itself; the database would refuse a second).
    await page.dblclick('#submit');
    await rateOne('1 / 3 rated');
    await page.click('#submit');
    await progressIs('2 / 3 rated');
    // Stop (leave the page) and resume later under the same name: the next unrated item comes up.
    await page.goto('about:blank');
    await login();
    await progressIs('2 / 3 rated');
  } finally {
    await browser.close();
    await app.close();
  }
  const store = new RatingStore(db);
  const rows = store.all();
  store.close();
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => r.item), ['item00000', 'item00001']);
  for (const r of rows) {
    assert.equal(r.rater, 'Ann Example');
    assert.equal(r.task, 'story_cont');
    assert.deepEqual([r.systemA, r.systemB].sort(), ['oracle', 'repeat-last']);
    assert.equal(r.answers.overall, 'b');
    assert.deepEqual(r.answers.text_adherence, ['a', 'a']);
    assert.equal(r.answers.visual_quality, 'tie');
    assert.ok(!Number.isNaN(Date.parse(r.createdAt!)));
  }
  fs.rmSync(root, { recursive: true, force: true });
});
