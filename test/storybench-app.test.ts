import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RatingStore, resolveDataset, runBenchmark } from '../src/storybench/index.js';
import { startRatingApp } from '../src/server/index.js';
import { makeSyntheticStories } from './fixtures/storybench/synthetic.js';
import { launchChromium, noChromium } from './browser.js';
import { PNG } from 'pngjs';
import { tempDir } from './temp-dir.js';


/** Two systems (repeat-last, oracle) on story_cont for three synthetic stories. */
async function fixtureRuns(): Promise<{ root: string; out: string }> {
  const root = tempDir('sb-app-');
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
  const app = await startRatingApp({ db: path.join(root, 'r.db'), results: [out], port: 0, minSeconds: 3 });
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
    assert.equal((await fetch(`${app.url}/media/${'0'.repeat(24)}.png`)).status, 404);
    assert.equal((await fetch(`${app.url}/nope`)).status, 404);
    assert.equal((await fetch(`${app.url}/api/next?rater=ann`, { method: 'DELETE' })).status, 405);
    type Next = { minSeconds: number; comparison: { index: number; left: string; right: string; height: number; width: number; item?: string } };
    const next = (await (await fetch(`${app.url}/api/next?rater=ann`)).json()) as Next;
    // Blind media: random ids per session, nothing naming a run, a system or an item; both sides the same size.
    assert.match(next.comparison.left, /^\/media\/[0-9a-f]{24}\.png$/);
    assert.equal(next.comparison.item, undefined);
    // Judging before the minimum display time is refused; after it, accepted once.
    assert.equal((await post({ rater: 'bob', comparison: next.comparison.index, answers: fullAnswers })).status, 400, 'not shown to bob');
    const early = await post({ rater: 'ann', comparison: next.comparison.index, answers: fullAnswers });
    assert.equal(early.status, 425);
    assert.match(((await early.json()) as { error: string }).error, /watch the videos at least 3 s/);
    const strip = async (url: string) => {
      const res = await fetch(app.url + url);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
      return png;
    };
    const [l, r] = [await strip(next.comparison.left), await strip(next.comparison.right)];
    assert.deepEqual([l.width, l.height], [r.width, r.height]);
    assert.deepEqual([next.comparison.height, next.comparison.width], [24, 40]);
    assert.equal(l.height, 24 * 16, 'a filmstrip of every frame');
    await new Promise((done) => setTimeout(done, 3000));
    assert.equal((await post({ rater: 'ann', comparison: next.comparison.index, answers: fullAnswers })).status, 200);
    assert.equal((await post({ rater: 'ann', comparison: next.comparison.index, answers: fullAnswers })).status, 409);
    // Results need the admin token.
    for (const endpoint of ['export.csv', 'winrates']) {
      assert.equal((await fetch(`${app.url}/api/${endpoint}`)).status, 401);
      assert.equal((await fetch(`${app.url}/api/${endpoint}?token=${'x'.repeat(48)}`)).status, 401);
    }
    const csv = await (await fetch(`${app.url}/api/export.csv?token=${app.adminToken}`)).text();
    assert.equal(csv.trim().split('\n').length, 2);
    const rates = await fetch(`${app.url}/api/winrates`, { headers: { authorization: `Bearer ${app.adminToken}` } });
    assert.equal(rates.status, 200);
  } finally {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('end to end in Chromium: controls, shortcuts, minimum time, blinding, narrow layout; a rater stops and resumes', { skip: noChromium }, async () => {
  const { root, out } = await fixtureRuns();
  const db = path.join(root, 'ratings.db');
  const app = await startRatingApp({ db, results: [path.join(out, 'repeat-last'), path.join(out, 'oracle')], port: 0, minSeconds: 4 });
  const browser = await launchChromium();
  const requested: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1250 } });
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    const login = async () => {
      await page.goto(app.url);
      await page.fill('#rater', 'Ann Example');
      await page.click('#start');
    };
    // Browser-side conditions as strings: the test compiles without DOM types.
    const progressIs = (text: string) => page.waitForFunction(`document.getElementById('progress').textContent === ${JSON.stringify(text)}`);
    const clock = () => page.textContent('#clock');
    const drawn = (side: string) => page.waitForFunction(`(() => { const c = document.getElementById('${side}');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; return d.some((v, i) => i % 4 !== 3 && v > 0); })()`);
    await login();
    await progressIs('0 / 3 rated');
    for (const side of ['left', 'right']) await drawn(side);
    assert.match((await page.textContent('#keys'))!, /Space.*play\/pause.*previous\/next frame.*Enter.*submit/s);

    // Controls: pause holds the frame, the step buttons move by one, the scrubber seeks, the segment marker follows.
    await page.click('#play');
    assert.equal(await page.textContent('#play'), 'Play');
    const held = await clock();
    await page.waitForTimeout(400);
    assert.equal(await clock(), held, 'paused');
    await page.evaluate(`(() => { const s = document.getElementById('scrub'); s.value = '0'; s.dispatchEvent(new Event('input')); })()`);
    assert.equal(await clock(), 'frame 1 / 16');
    await page.click('#fwd');
    assert.equal(await clock(), 'frame 2 / 16');
    await page.click('#back');
    assert.equal(await clock(), 'frame 1 / 16');
    const marked = () => page.evaluate(`[[...document.querySelectorAll('#segments div')].findIndex((d) => d.classList.contains('now')),
      [...document.querySelectorAll('#prompts li')].findIndex((d) => d.classList.contains('now'))]`);
    assert.deepEqual(await marked(), [0, 0]);
    await page.evaluate(`(() => { const s = document.getElementById('scrub'); s.value = '7'; s.dispatchEvent(new Event('input')); })()`);
    assert.deepEqual(await marked(), [1, 1], 'frame 8 is in the second segment (6 + 10 frames)');

    // Shortcuts: Space plays and pauses, arrows step, A/T/B answer the highlighted question in order.
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    assert.equal(await clock(), 'frame 3 / 16');
    await page.keyboard.press('Space');
    assert.equal(await page.textContent('#play'), 'Pause');
    await page.keyboard.press('Space');
    assert.equal(await page.textContent('#play'), 'Play');
    const questions = await page.locator('#answers fieldset').count();
    assert.equal(questions, 8, 'two segments and six questions');
    await page.keyboard.press('a');
    await page.keyboard.press('b');
    for (let k = 2; k < questions; k++) await page.keyboard.press('t');
    assert.equal(await page.isChecked('input[name="text_0"][value="a"]'), true);
    assert.equal(await page.isChecked('input[name="text_1"][value="b"]'), true);
    assert.equal(await page.isChecked('input[name="overall"][value="tie"]'), true);
    await page.waitForFunction(`!document.getElementById('submit').disabled`);
    await page.screenshot({ path: path.join(os.tmpdir(), 'storybench-rating-app.png') });
    await page.keyboard.press('Enter');
    await progressIs('1 / 3 rated');

    // The mouse path: submit waits for the minimum time and for every answer; a double click sends one judgement.
    assert.equal(await page.isDisabled('#submit'), true, 'too early');
    assert.match((await page.textContent('#submit'))!, /in \d s/);
    for (let s = 0; s < 2; s++) await page.check(`input[name="text_${s}"][value="a"]`);
    for (const key of ['visual_quality', 'entity_consistency', 'background_consistency', 'action_realism', 'transition_realism']) {
      await page.check(`input[name="${key}"][value="tie"]`);
    }
    await page.check('input[name="overall"][value="b"]');
    await page.waitForFunction(`!document.getElementById('submit').disabled`);
    await page.dblclick('#submit');
    await progressIs('2 / 3 rated');

    // Narrow window: the videos stack, neither is clipped.
    await page.setViewportSize({ width: 360, height: 900 });
    for (const side of ['#left', '#right']) {
      const box = (await page.locator(side).boundingBox())!;
      assert.ok(box.x >= 0 && box.x + box.width <= 360 && box.width > 100, `${side} at ${box.x}+${box.width} fits a 360 px window`);
    }
    await page.screenshot({ path: path.join(os.tmpdir(), 'storybench-rating-app-narrow.png'), fullPage: true });

    // Stop (leave the page) and resume later under the same name: the next unrated item comes up.
    await page.goto('about:blank');
    await login();
    await progressIs('2 / 3 rated');
  } finally {
    await browser.close();
    await app.close();
  }
  // Blinding: every video the page fetched came from an opaque id.
  const media = requested.filter((p) => p.startsWith('/media/'));
  assert.ok(media.length >= 6);
  for (const p of media) assert.match(p, /^\/media\/[0-9a-f]{24}\.png$/);
  const store = new RatingStore(db);
  const rows = store.all();
  store.close();
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => r.item), ['item00000', 'item00001']);
  assert.deepEqual(rows.map((r) => r.answers.overall), ['tie', 'b']);
  assert.deepEqual(rows.map((r) => r.answers.text_adherence), [['a', 'b'], ['a', 'a']]);
  for (const r of rows) {
    assert.equal(r.rater, 'Ann Example');
    assert.equal(r.task, 'story_cont');
    assert.deepEqual([r.systemA, r.systemB].sort(), ['oracle', 'repeat-last']);
    assert.equal(r.answers.visual_quality, 'tie');
    assert.ok(!Number.isNaN(Date.parse(r.createdAt!)));
  }
  fs.rmSync(root, { recursive: true, force: true });
});
