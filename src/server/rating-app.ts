import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import {
  GROUND_TRUTH, QUESTIONS, RatingStore, findRuns, judgementsCsv, pairKey, parseAnswers, readResult, renderAtTask, resultSamples, winRates,
  type SystemRun,
} from '../storybench/index.js';
import { filmstripPng, type Frames } from '../media/index.js';
import { ratingPage } from './rating-page.js';
import { HttpError, listen, send, sendError, sendJson, type RunningServer } from './http.js';

/**
 * The StoryBench human-rating app (node:http, no framework). Raters see two systems' videos of
 * one item side by side with the prompt of every segment, and answer the paper's questions. Blind:
 * systems are not named, sides are shuffled per rater and item, both videos are rendered at the same
 * size the same way, and media are served under random ids drawn for this session (nothing in a URL
 * tells a run or a system apart). Each item stays on screen at least `minSeconds` before its
 * judgement is accepted (checked by the server too). Every judgement goes to SQLite; a rater resumes
 * at their next unrated comparison. The result endpoints (CSV export, win rates) need the admin
 * token, so raters cannot see anyone's judgements during a study. Every request is validated and a
 * bad one gets a 4xx with a one-line message.
 */
export interface RatingAppOptions {
  db: string;
  results: string[];
  host?: string;
  port?: number;
  /** Seconds an item must be shown before it can be judged (default 5). */
  minSeconds?: number;
  /** Token for the result endpoints (default: 24 random bytes, hex). */
  adminToken?: string;
}

/** The running app, with the token its result endpoints need. */
export interface RatingApp extends RunningServer {
  adminToken: string;
  minSeconds: number;
}

export interface RatingPair {
  task: string;
  dataset: string;
  item: string;
  runs: [number, number];
  texts: string[];
  frames: number[];
}

const RATER = /^[\p{L}\p{N} _.@-]{1,64}$/u;

/** Every pair of systems on every item they share, grouped by task and dataset. */
export function buildComparisons(runs: SystemRun[]): RatingPair[] {
  const out: RatingPair[] = [];
  const groups = new Map<string, number[]>();
  runs.forEach((r, i) => {
    const key = `${r.manifest.task}|${r.manifest.dataset}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const members of groups.values()) {
    for (let a = 0; a < members.length; a++) {
      for (let b = a + 1; b < members.length; b++) {
        const [x, y] = [runs[members[a]], runs[members[b]]];
        const theirs = new Set(y.manifest.items.map((i) => i.name));
        for (const { name } of x.manifest.items) {
          if (!theirs.has(name)) continue;
          const r = readResult(path.join(x.dir, 'raw', `${name}.npz`));
          out.push({ task: x.manifest.task, dataset: x.manifest.dataset, item: name, runs: [members[a], members[b]], texts: r.texts, frames: r.frames });
        }
      }
    }
  }
  // Interleave pairs item by item so a short session still covers every pair.
  return out.sort((p, q) => p.item.localeCompare(q.item) || p.task.localeCompare(q.task) || p.dataset.localeCompare(q.dataset) || p.runs[0] - q.runs[0] || p.runs[1] - q.runs[1]);
}

/** Which run is shown on the left, fixed per rater and comparison (balances position bias). */
function leftFirst(rater: string, index: number): boolean {
  let h = 2166136261;
  for (const ch of `${rater}#${index}`) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619);
  return ((h >>> 0) & 1) === 0;
}

export async function startRatingApp(opts: RatingAppOptions): Promise<RatingApp> {
  const minSeconds = opts.minSeconds ?? 5;
  if (!(Number.isFinite(minSeconds) && minSeconds >= 0 && minSeconds <= 600)) throw new KilnError(`--min-seconds must be a number in [0, 600], got ${minSeconds}`);
  const adminToken = opts.adminToken ?? crypto.randomBytes(24).toString('hex');
  if (!/^[\w-]{16,128}$/.test(adminToken)) throw new KilnError('the admin token must be 16-128 letters, digits, _ or -');
  const runs = opts.results.flatMap((r) => findRuns(r)).filter((r) => r.manifest.model !== GROUND_TRUTH);
  const seen = new Set<string>();
  const unique = runs.filter((r) => !seen.has(r.dir) && (seen.add(r.dir), true));
  const comparisons = buildComparisons(unique);
  if (!comparisons.length) throw new KilnError('nothing to rate: --results needs at least two systems with results on the same task, dataset and items');
  const store = new RatingStore(opts.db);
  const strips = new Map<string, Buffer>();
  // Opaque media ids: random per session and per (comparison, side shown), so URLs say nothing about systems.
  const mediaIds = new Map<string, string>();
  const mediaById = new Map<string, { comparison: number; run: number }>();
  const mediaId = (comparison: number, run: number): string => {
    const key = `${comparison}/${run}`;
    let id = mediaIds.get(key);
    if (!id) {
      id = crypto.randomBytes(12).toString('hex');
      mediaIds.set(key, id);
      mediaById.set(id, { comparison, run });
    }
    return id;
  };
  // When each rater was last shown each comparison (the minimum display time is counted from there).
  const shown = new Map<string, number>();

  const keyOf = (c: RatingPair) => `${c.task}|${c.dataset}|${c.item}|${pairKey(unique[c.runs[0]].manifest.model, unique[c.runs[1]].manifest.model)}`;
  const sides = (rater: string, index: number): [number, number] => {
    const [x, y] = comparisons[index].runs;
    return leftFirst(rater, index) ? [x, y] : [y, x];
  };

  const query = (url: URL, name: string, re: RegExp, what: string): string => {
    const v = url.searchParams.get(name);
    if (v === null || !re.test(v)) throw new HttpError(400, `query parameter '${name}' must be ${what}`);
    return v;
  };

  const next = (rater: string) => {
    const done = store.done(rater);
    const index = comparisons.findIndex((c) => !done.has(keyOf(c)));
    const progress = { rated: comparisons.filter((c) => done.has(keyOf(c))).length, total: comparisons.length };
    if (index < 0) return { done: true, progress };
    const c = comparisons[index];
    const [left, right] = sides(rater, index);
    const media = (run: number) => `/media/${mediaId(index, run)}.png`;
    if (!shown.has(`${rater}#${index}`)) shown.set(`${rater}#${index}`, Date.now());
    const size = displaySize(c);
    return {
      done: false, progress, minSeconds,
      comparison: { index, task: c.task, dataset: c.dataset, texts: c.texts, frames: c.frames, fps: 8, height: size.height, width: size.width, left: media(left), right: media(right) },
    };
  };

  const readBody = (req: http.IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reject(new HttpError(400, 'body must be application/json'));
      let size = 0;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 65536) reject(new HttpError(400, 'body too large'));
        else chunks.push(c);
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new HttpError(400, 'body is not valid JSON'));
        }
      });
      req.on('error', reject);
    });

  const submit = (body: unknown) => {
    if (typeof body !== 'object' || body === null) throw new HttpError(400, 'body must be a JSON object');
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (!['rater', 'comparison', 'answers'].includes(k)) throw new HttpError(400, `unknown field '${k}'`);
    if (typeof b.rater !== 'string' || !RATER.test(b.rater)) throw new HttpError(400, "'rater' must be 1-64 letters, digits, spaces or _.@-");
    if (!Number.isInteger(b.comparison) || (b.comparison as number) < 0 || (b.comparison as number) >= comparisons.length) {
      throw new HttpError(400, `'comparison' must be an integer in [0, ${comparisons.length})`);
    }
    const index = b.comparison as number;
    const c = comparisons[index];
    let answers;
    try {
      answers = parseAnswers(b.answers, c.texts.length);
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    const since = shown.get(`${b.rater}#${index}`);
    if (since === undefined) throw new HttpError(400, `comparison ${index} has not been shown to ${b.rater} (ask /api/next first)`);
    const elapsed = (Date.now() - since) / 1000;
    // A quarter second of slack for the round trip.
    if (elapsed + 0.25 < minSeconds) throw new HttpError(425, `watch the videos at least ${minSeconds} s before judging (${elapsed.toFixed(1)} s so far)`);
    const [left, right] = sides(b.rater, index);
    try {
      const id = store.add({ rater: b.rater, task: c.task, dataset: c.dataset, item: c.item,
        systemA: unique[left].manifest.model, systemB: unique[right].manifest.model, answers });
      return { id };
    } catch (e) {
      if (e instanceof KilnError) throw new HttpError(409, e.message);
      throw e;
    }
  };

  // Both sides of a comparison share one size (the larger one's), and both go through the same rendering.
  const displaySize = (c: RatingPair) => {
    const [x, y] = c.runs.map((run) => firstSample(run, c.item));
    return x.h * x.w >= y.h * y.w ? { height: x.h, width: x.w } : { height: y.h, width: y.w };
  };
  const samples = new Map<string, Frames>();
  const firstSample = (run: number, item: string): Frames => {
    const key = `${run}/${item}`;
    let clip = samples.get(key);
    if (!clip) {
      const r = unique[run];
      clip = resultSamples(readResult(path.join(r.dir, 'raw', `${item}.npz`)), r.manifest.samples)[0];
      samples.set(key, clip);
      if (samples.size > 64) samples.delete(samples.keys().next().value!);
    }
    return clip;
  };

  const media = (id: string): Buffer => {
    const m = mediaById.get(id);
    if (!m) throw new HttpError(404, 'no such video');
    let png = strips.get(id);
    if (!png) {
      const c = comparisons[m.comparison];
      png = filmstripPng(renderAtTask(firstSample(m.run, c.item), displaySize(c)));
      strips.set(id, png);
      if (strips.size > 256) strips.delete(strips.keys().next().value!);
    }
    return png;
  };

  const admin = (req: http.IncomingMessage, url: URL): void => {
    const given = url.searchParams.get('token') ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const ok = given.length === adminToken.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(adminToken));
    if (!ok) throw new HttpError(401, 'results need the admin token printed when the app started (?token=... or Authorization: Bearer ...)');
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = `${req.method} ${url.pathname}`;
      const m = /^\/media\/([0-9a-f]{24})\.png$/.exec(url.pathname);
      if (route === 'GET /') send(res, 200, 'text/html; charset=utf-8', ratingPage(QUESTIONS));
      else if (route === 'GET /api/next') sendJson(res, 200, next(query(url, 'rater', RATER, '1-64 letters, digits, spaces or _.@-')));
      else if (route === 'POST /api/judgements') sendJson(res, 200, submit(await readBody(req)));
      else if (route === 'GET /api/export.csv') {
        admin(req, url);
        send(res, 200, 'text/csv; charset=utf-8', judgementsCsv(store.all()));
      } else if (route === 'GET /api/winrates') {
        admin(req, url);
        sendJson(res, 200, winRates(store.all()));
      } else if (req.method === 'GET' && m) send(res, 200, 'image/png', media(m[1]));
      else if (['/', '/api/next', '/api/judgements', '/api/export.csv', '/api/winrates'].includes(url.pathname) || m) throw new HttpError(405, `method ${req.method} not allowed`);
      else throw new HttpError(404, `not found: ${url.pathname}`);
    } catch (e) {
      sendError(res, e);
    }
  });
  const running = await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 8080, () => store.close());
  return { ...running, adminToken, minSeconds };
}
