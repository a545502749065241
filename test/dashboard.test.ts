import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openStorage, paretoFront, sqliteStorage, writeTrialArtifacts, type StudySpec, type Trial } from '../src/nas/index.js';
import { startDashboard } from '../src/server/index.js';
import { launchChromium, noChromium } from './browser.js';
import { tempDir } from './temp-dir.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(here, '..', '..');
const CLI = path.join(here, '..', 'src', 'cli', 'main.js');
const SLOW_WRITES = path.join(here, 'fixtures', 'dashboard', 'slow-writes.js');

const tmpDir = () => tempDir('kiln-dash-');

const spec = (over: Partial<StudySpec> = {}): StudySpec => ({
  name: 'tiny', space: 'nb201', objective: 'acc', direction: 'max', constraints: ['lat<=6'], controller: 'random',
  controllerOptions: {}, evaluator: 'table', seed: 0, ...over,
});

/** Two workers (far away, so never judged gone) and a trial stored without one. */
const W1 = 'host-a:11:0123abcd:0';
const W2 = 'host-b:22:4567cdef:0';

/**
 * A study with one trial in every state: evaluated points (a known front), infeasible, not
 * evaluable, failed, running; trials of two workers and one without a worker.
 */
function tinyStorage(file: string, over: Partial<StudySpec> = {}): void {
  const s = sqliteStorage(file);
  const name = s.createStudy(spec(over)).spec.name;
  s.setBudget(name, 10);
  const objective = over.objective ?? 'acc';
  const done = (arch: string, lat: number, acc: number, worker: string) =>
    s.finishTrial(name, s.createTrial(name, arch, worker).number, { state: 'complete', feasible: true, value: acc, metrics: { lat, [objective]: acc, params: 1, area: lat * 2 } });
  done('a', 2, 80, W1); // front
  done('b', 3, 79, W1); // dominated by a
  done('c', 4, 85, W2); // front
  done('d', 5.5, 90, W2); // front
  s.finishTrial(name, s.createTrial(name, 'e', W1).number, { state: 'complete', feasible: false, value: null, metrics: { lat: 7 } });
  s.finishTrial(name, s.createTrial(name, 'f').number, { state: 'complete', feasible: false, value: null, metrics: {}, error: 'not in the table' });
  s.finishTrial(name, s.createTrial(name, 'g', W2).number, { state: 'failed', feasible: false, value: null, metrics: {}, error: 'boom' });
  s.createTrial(name, 'h', W2);
  s.close();
}

/** A GET with a chosen Host header (fetch does not let a caller set it). */
const getWithHost = (url: string, host: string) =>
  new Promise<number>((resolve, reject) => http.get(url, { headers: { host } }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject));

test('dashboard API: counts per state, plots with front and constraint, escaping, validation', async () => {
  const dir = tmpDir();
  const file = path.join(dir, '<b>&.db');
  tinyStorage(file, { objective: 'acc<i>' });
  const app = await startDashboard({ storage: `sqlite:${file}`, port: 0 });
  try {
    assert.match(app.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'binds to localhost by default');
    const page = await (await fetch(app.url)).text();
    assert.ok(page.includes('&lt;b&gt;&amp;.db') && !page.includes('<b>&.db'), 'the storage URI is escaped in the page');

    const studies = (await (await fetch(`${app.url}/api/studies`)).json()) as {
      name: string; counts: Record<string, number>; best: { number: number }; budget: number; workerCount: number;
    }[];
    assert.deepEqual(studies.map((s) => s.name), ['tiny']);
    assert.deepEqual(studies[0].counts, { evaluated: 4, infeasible: 1, notEvaluable: 1, failed: 1, running: 1, total: 8 });
    assert.deepEqual([studies[0].budget, studies[0].workerCount], [10, 2]);
    assert.equal(studies[0].best.number, 3);

    const view = (await (await fetch(`${app.url}/api/study?name=tiny`)).json()) as {
      cost: string; costMetrics: string[]; plotted: number[]; front: number[]; scatterSvg: string; curveSvg: string; trials: { status: string; worker: string | null }[];
      workers: { worker: string | null; counts: Record<string, number> }[];
    };
    const byWorker = new Map(view.workers.map((w) => [w.worker, w.counts]));
    assert.deepEqual(byWorker.get(W1), { evaluated: 2, infeasible: 1, notEvaluable: 0, failed: 0, running: 0, total: 3 });
    assert.deepEqual(byWorker.get(W2), { evaluated: 2, infeasible: 0, notEvaluable: 0, failed: 1, running: 1, total: 4 });
    assert.deepEqual(byWorker.get(null), { evaluated: 0, infeasible: 0, notEvaluable: 1, failed: 0, running: 0, total: 1 });
    assert.equal(view.workers.length, 3);
    assert.deepEqual(view.trials.map((t) => t.worker), [W1, W1, W2, W2, W1, null, W2, W2]);
    assert.equal(view.cost, 'lat', 'the constrained metric is the default cost');
    assert.deepEqual(view.costMetrics, ['lat', 'area', 'params'], 'constrained metrics first; the objective is no cost');
    assert.deepEqual(view.plotted, [0, 1, 2, 3]);
    assert.deepEqual(view.front, [0, 2, 3]);
    assert.equal(view.scatterSvg.match(/<circle class="point/g)?.length, 4);
    assert.equal(view.scatterSvg.match(/<circle class="point front"/g)?.length, 3);
    assert.match(view.scatterSvg, /<path class="pareto" d="M[\d.]+,[\d.]+ H[\d.]+ V[\d.]+ H[\d.]+ V[\d.]+"/);
    assert.match(view.scatterSvg, /<line class="constraint"[^>]*>.*lat &lt;= 6/);
    assert.ok(view.scatterSvg.includes('acc&lt;i&gt;') && !view.scatterSvg.includes('acc<i>'), 'labels are escaped');
    assert.equal(view.curveSvg.match(/<circle class="trial"/g)?.length, 4);
    assert.deepEqual(view.trials.map((t) => t.status), ['evaluated', 'evaluated', 'evaluated', 'evaluated', 'infeasible', 'not evaluable', 'failed', 'running']);

    const other = (await (await fetch(`${app.url}/api/study?name=tiny&cost=params`)).json()) as { cost: string; scatterSvg: string };
    assert.equal(other.cost, 'params');
    assert.doesNotMatch(other.scatterSvg, /class="constraint"/, 'no constraint on params');

    const status = async (p: string, init?: RequestInit) => (await fetch(app.url + p, init)).status;
    assert.equal(await status('/api/study'), 400);
    assert.equal(await status('/api/study?name=nope'), 404);
    assert.equal(await status('/api/study?name=tiny&cost=acc%3Ci%3E'), 400, 'the objective is not a cost');
    assert.equal(await status('/api/studies', { method: 'POST' }), 405);
    assert.equal(await status('/nope'), 404);
    assert.equal(await getWithHost(`${app.url}/api/studies`, 'evil.example:80'), 403, 'DNS rebinding is refused');
    assert.equal(await getWithHost(`${app.url}/api/studies`, 'localhost'), 200);
  } finally {
    await app.close();
  }

  await assert.rejects(startDashboard({ storage: `sqlite:${path.join(dir, 'missing.db')}`, port: 0 }), /no storage at sqlite:/);
  const foreign = path.join(dir, 'foreign.db');
  new Database(foreign).exec('CREATE TABLE judgements (id INTEGER)');
  await assert.rejects(startDashboard({ storage: `sqlite:${foreign}`, port: 0 }), /not a Kiln study database/);
  await assert.rejects(startDashboard({ storage: 'memory', port: 0 }), /memory storage/);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Files for trials 0 and 2 of study 'tiny' (an evaluated and a dominated trial), as a training evaluator keeps them. */
async function tinyArtifacts(root: string): Promise<void> {
  for (const n of [0, 2]) {
    await writeTrialArtifacts(root, 'tiny', n, async (dir) => {
      fs.writeFileSync(path.join(dir, 'trial.json'), JSON.stringify({ trial: n }));
      fs.writeFileSync(path.join(dir, 'loss.svg'), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    });
  }
  fs.mkdirSync(path.join(root, 'tiny', 'trial-1.tmp-999'), { recursive: true }); // a killed worker's unfinished folder
  fs.writeFileSync(path.join(root, 'tiny', 'trial-1.tmp-999', 'trial.json'), '{}');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'not a trial file');
}

/** The tiny study in a fresh folder, with files for trials 0 and 2 under its artifacts/ folder. */
async function tinyStudyWithFiles(): Promise<{ dir: string; file: string; root: string }> {
  const dir = tmpDir();
  const file = path.join(dir, 's.db');
  tinyStorage(file);
  const root = path.join(dir, 'artifacts');
  await tinyArtifacts(root);
  return { dir, file, root };
}

test('dashboard artifacts: each trial lists the files it kept; only those are served, sandboxed', async () => {
  const { dir, file, root } = await tinyStudyWithFiles();
  const app = await startDashboard({ storage: `sqlite:${file}`, port: 0, artifacts: root });
  const bare = await startDashboard({ storage: `sqlite:${file}`, port: 0 });
  try {
    const view = (await (await fetch(`${app.url}/api/study?name=tiny`)).json()) as { trials: { number: number; artifacts: string[] }[] };
    assert.deepEqual(view.trials.map((t) => t.artifacts), [['loss.svg', 'trial.json'], [], ['loss.svg', 'trial.json'], [], [], [], [], []]);
    const res = await fetch(`${app.url}/artifacts/tiny/2/trial.json`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { trial: 2 });
    const svg = await fetch(`${app.url}/artifacts/tiny/0/loss.svg`);
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.match(svg.headers.get('content-security-policy') ?? '', /sandbox/, 'a trial\'s SVG cannot run its script');
    const status = async (p: string) => (await fetch(app.url + p)).status;
    for (const p of ['/artifacts/tiny/1/trial.json', '/artifacts/tiny/2/nope.json', '/artifacts/nope/0/trial.json', '/artifacts/tiny/x/trial.json',
      '/artifacts/tiny/0/..%2F..%2Fsecret.txt', '/artifacts/tiny/0/%2E%2E', '/artifacts/tiny/0', '/artifacts/tiny/0/trial.json/x', '/artifacts/%E0%A4%A/0/a']) {
      assert.equal(await status(p), 404, p);
    }
    assert.equal((await fetch(`${bare.url}/artifacts/tiny/0/trial.json`)).status, 404, 'no --artifacts: nothing served');
    const none = (await (await fetch(`${bare.url}/api/study?name=tiny`)).json()) as { trials: { artifacts: string[] }[] };
    assert.ok(none.trials.every((t) => t.artifacts.length === 0));
  } finally {
    await app.close();
    await bare.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('end to end in Chromium: the trial table links each trial to its files', { skip: noChromium }, async () => {
  const { dir, file, root } = await tinyStudyWithFiles();
  const app = await startDashboard({ storage: `sqlite:${file}`, port: 0, artifacts: root });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
    await page.goto(app.url);
    await page.waitForSelector('#trials th[data-key="artifacts"]');
    assert.deepEqual(await page.locator('#trials tr[data-trial="2"] td.files a').allTextContents(), ['loss.svg', 'trial.json']);
    assert.equal(await page.locator('#trials tr[data-trial="1"] td.files a').count(), 0);
    // Clicking opens the file in a new tab.
    const [opened] = await Promise.all([page.context().waitForEvent('page'), page.click('#trials tr[data-trial="2"] td.files a:text("trial.json")')]);
    await opened.waitForLoadState();
    assert.equal(opened.url(), `${app.url}/artifacts/tiny/2/trial.json`);
    assert.deepEqual(JSON.parse(await opened.textContent('body') ?? ''), { trial: 2 });
  } finally {
    await browser.close();
    await app.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Exit { code: number | null; stdout: string; stderr: string }

function kiln(args: string[], opts: { preload?: string; env?: Record<string, string> } = {}): { child: ChildProcess; exit: Promise<Exit>; stdout(): string } {
  const child = spawn(process.execPath, [...(opts.preload ? ['--import', opts.preload] : []), CLI, ...args],
    { cwd: ROOT, env: { ...process.env, KILN_DEBUG: '', KILN_THREADS: '1', ...opts.env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const exit = new Promise<Exit>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, exit, stdout: () => stdout };
}

test('kiln dashboard: bad flags and storages are one-line exit-2 errors; a good one serves until Ctrl-C', async () => {
  const dir = tmpDir();
  const db = path.join(dir, 's.db');
  tinyStorage(db);
  fs.writeFileSync(path.join(dir, 'junk.db'), 'not sqlite at all, just text that is long enough to be read as a header....');
  const bad: [string[], RegExp][] = [
    [['--storage', `sqlite:${path.join(dir, 'none.db')}`], /^kiln: no storage at sqlite:.*none\.db/],
    [['--storage', `sqlite:${path.join(dir, 'junk.db')}`], /^kiln: .*junk\.db/],
    [['--storage', `sqlite:${db}`, '--port', '70000'], /^kiln: --port must be an integer >= 0 and <= 65535, got '70000'/],
    [['--storage', `sqlite:${db}`, '--port', '0x50'], /^kiln: --port must be an integer/],
    [['--storage', `sqlite:${db}`, '--host', 'bad host!'], /^kiln: --host must be an IP address or a host name, got 'bad host!'/],
  ];
  for (const [args, message] of bad) {
    const r = await kiln(['dashboard', ...args]).exit;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const run = kiln(['dashboard', '--storage', `sqlite:${db}`, '--port', '0']);
  try {
    const deadline = Date.now() + 20_000;
    while (!/on http:\/\/127\.0\.0\.1:\d+/.test(run.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout())![1];
    const studies = (await (await fetch(`${url}/api/studies`)).json()) as { name: string }[];
    assert.deepEqual(studies.map((s) => s.name), ['tiny']);
  } finally {
    run.child.kill('SIGINT');
  }
  assert.equal((await run.exit).code, 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The page's counter for one state, as a number. */
const counter = (id: string) => `Number(document.getElementById('${id}').textContent)`;

test('end to end in Chromium: the page follows two kiln workers filling a study, shows each one\'s progress, then sorts, plots the front and the constraint', { skip: noChromium }, async () => {
  const dir = tmpDir();
  const storage = `sqlite:${path.join(dir, 's.db')}`;
  const created = await kiln(['study', 'create', '--space', 'nb201', '--table', 'data/nb201/nb201-cifar10.csv', '--objective', 'cifar10_test_acc',
    '--constraint', 'latency_ms_pixel3<=6', '--budget', '300', '--storage', storage, '--study', 's1']).exit;
  assert.equal(created.code, 0, created.stderr);
  // The real CLI in child processes; their storage writes are paced so the run lasts seconds (see the preload).
  const workers = [0, 1].map(() => kiln(['worker', '--storage', storage, '--study', 's1'], { preload: SLOW_WRITES, env: { KILN_TEST_WRITE_MS: '2' } }));
  const running = () => workers.some((w) => w.child.exitCode === null);
  const app = await startDashboard({ storage, port: 0, pollMs: 300 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1500 }, bypassCSP: true }) // string predicates need eval;
    await page.goto(app.url);
    await page.waitForFunction(`document.getElementById('study-name').textContent === 's1'`);
    const first = Number(await page.textContent('#n-evaluated'));
    await page.waitForFunction(`${counter('n-evaluated')} > ${first}`, undefined, { timeout: 30_000 });
    assert.ok(running(), 'the count rose while the workers were still running');
    assert.ok(first < 300, `first poll saw ${first} evaluations`);
    assert.equal(await page.textContent('#of-budget'), ' of 300');

    for (const w of workers) {
      const result = await w.exit;
      assert.equal(result.code, 0, result.stderr);
    }
    const s = openStorage(storage, { create: false });
    const trials: Trial[] = s.trials('s1');
    s.close();
    const evaluated = trials.filter((t) => t.state === 'complete' && t.feasible);
    assert.equal(evaluated.length, 300);
    await page.waitForFunction(`${counter('n-evaluated')} === 300 && ${counter('n-total')} === ${trials.length}`);
    assert.equal(Number(await page.textContent('#n-infeasible')), trials.filter((t) => t.state === 'complete' && !t.feasible).length);
    assert.equal(await page.locator('#trials tbody tr').count(), trials.length);
    // One row per worker, with that worker's counts.
    const ids = [...new Set(trials.map((t) => t.worker!))];
    assert.equal(await page.locator('#workers tbody tr').count(), ids.length);
    for (const id of ids) {
      const own = trials.filter((t) => t.worker === id);
      const row = page.locator(`#workers tbody tr[data-worker="${id}"] td`);
      assert.deepEqual((await row.allTextContents()).slice(0, 6), [id, String(own.filter((t) => t.state === 'complete' && t.feasible).length),
        String(own.filter((t) => t.state === 'complete' && !t.feasible).length), '0', '0', '0']);
    }

    // Scatter: a point per evaluated trial, the front computed here, and the constraint line right of every (feasible) point.
    assert.equal(await page.locator('#scatter circle.point').count(), 300);
    const front = paretoFront(evaluated.map((t) => [t.metrics.latency_ms_pixel3, t.value!]), ['min', 'max']);
    assert.ok(front.length >= 2);
    assert.equal(await page.locator('#scatter circle.front').count(), front.length);
    assert.equal(await page.locator('#scatter path.pareto').count(), 1);
    assert.equal(await page.locator('#scatter line.constraint').count(), 1);
    const lineX = Number(await page.getAttribute('#scatter line.constraint', 'x1'));
    const xs = (await page.evaluate(`[...document.querySelectorAll('#scatter circle.point')].map((c) => Number(c.getAttribute('cx')))`)) as number[];
    assert.ok(Math.max(...xs) <= lineX, 'every evaluated trial meets latency_ms_pixel3<=6');
    assert.equal(await page.locator('#curve path.best').count(), 1);

    // Sort by the objective: descending first (best on top), then ascending; trials without a value stay last.
    const values = async () => (await page.locator('#trials tbody tr td:nth-child(3)').allTextContents()).map((v) => (v === '\u2013' ? null : Number(v)));
    const sorted = (v: (number | null)[], dir: 1 | -1) => {
      const known = v.filter((x): x is number => x !== null);
      return known.every((x, i) => i === 0 || (x - known[i - 1]) * dir >= 0) && v.slice(known.length).every((x) => x === null);
    };
    assert.ok(!sorted(await values(), -1), 'unsorted by value before the click');
    await page.click('#trials th[data-key="value"] button');
    assert.equal(await page.getAttribute('#trials th[data-key="value"]', 'aria-sort'), 'descending');
    const desc = await values();
    assert.ok(sorted(desc, -1));
    assert.equal(desc[0], Math.max(...evaluated.map((t) => t.value!)));
    await page.click('#trials th[data-key="value"] button');
    assert.ok(sorted(await values(), 1));

    await page.screenshot({ path: path.join(os.tmpdir(), 'kiln-dashboard.png'), fullPage: true });
    // Another cost metric: same points, no constraint line (nothing constrains it).
    await page.selectOption('#cost', 'latency_ms_raspi4');
    await page.waitForFunction(`document.querySelector('#scatter svg').textContent.includes('latency_ms_raspi4')`);
    assert.equal(await page.locator('#scatter line.constraint').count(), 0);
    assert.equal(await page.locator('#scatter circle.point').count(), 300);
  } finally {
    await browser.close();
    await app.close();
    for (const w of workers) w.child.kill();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
