import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { listTrialArtifacts, openStorage, trialArtifactFile, type Storage } from '../nas/index.js';
import { HttpError, listen, send, sendError, sendJson, type RunningServer } from './http.js';
import { studySummary, studyView } from './dashboard-data.js';
import { dashboardPage } from './dashboard-page.js';

/**
 * The study dashboard (node:http, no framework): one page that polls two small JSON endpoints,
 * /api/studies and /api/study?name=…&cost=…. The storage is opened read-only per request, so
 * the page follows a search that another process is writing (SQLite WAL lets readers in).
 */
export interface DashboardOptions {
  /** Storage URI as for `kiln study`, e.g. sqlite:kiln.db. */
  storage: string;
  host?: string;
  port?: number;
  /** How often the page asks for news, in milliseconds. */
  pollMs?: number;
  /** The folder workers keep trial files in (`--artifacts`); the trial table links to them. */
  artifacts?: string;
}

/** Content types of the files trials keep; anything else is served as bytes to download. */
const ARTIFACT_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.gif': 'image/gif',
  '.html': 'text/html; charset=utf-8', '.md': 'text/markdown; charset=utf-8', '.csv': 'text/csv; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Opens the storage read-only, runs `fn`, closes it; awaits so that an asynchronous backend works too. */
async function reading<T>(uri: string, fn: (s: Storage) => Promise<T>): Promise<T> {
  const storage = openStorage(uri, { create: false });
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

export async function startDashboard(opts: DashboardOptions): Promise<RunningServer> {
  if (opts.storage === 'memory' || opts.storage.startsWith('memory:')) {
    throw new KilnError(`a memory storage lives inside the process that searches; the dashboard needs one it can open, e.g. sqlite:FILE.db`);
  }
  // A missing or foreign database is a one-line error now, not a page of 500s later.
  await reading(opts.storage, async (s) => s.listStudies());
  const host = opts.host ?? '127.0.0.1';
  const page = dashboardPage({ storage: opts.storage, pollMs: opts.pollMs ?? 2000 });

  const studies = () => reading(opts.storage, async (s) =>
    Promise.all((await s.listStudies()).map(async (r) => studySummary(r, await s.trials(r.spec.name)))));
  const study = (url: URL) => {
    const name = url.searchParams.get('name');
    if (!name || name.length > 256) throw new HttpError(400, "query parameter 'name' must name a study");
    const cost = url.searchParams.get('cost') ?? undefined;
    return reading(opts.storage, async (s) => {
      const record = await s.getStudy(name);
      if (!record) throw new HttpError(404, `no study '${name}' in ${opts.storage}`);
      const view = studyView(record, await s.trials(name), cost, opts.artifacts === undefined ? undefined : listTrialArtifacts(opts.artifacts, name));
      if (cost !== undefined && !view.costMetrics.includes(cost)) throw new HttpError(400, `study '${name}' has no metric '${cost}'`);
      return view;
    });
  };

  /** /artifacts/STUDY/NUMBER/FILE: one of the files kept by a trial of a study in this storage. */
  const artifact = async (url: URL, res: http.ServerResponse) => {
    const missing = new HttpError(404, `no such trial file: ${url.pathname}`);
    let parts: string[];
    try {
      parts = url.pathname.split('/').slice(2).map(decodeURIComponent);
    } catch {
      throw missing; // Malformed %-escapes.
    }
    const [study, number, file] = parts;
    if (opts.artifacts === undefined || parts.length !== 3 || !/^\d+$/.test(number)) throw missing;
    if (!(await reading(opts.storage, async (s) => (await s.getStudy(study)) !== undefined))) throw missing;
    const found = trialArtifactFile(opts.artifacts, study, Number(number), file);
    if (found === undefined) throw missing;
    // A trial's own SVG or HTML may not run script or reach anything but itself.
    send(res, 200, ARTIFACT_TYPES[path.extname(found)] ?? 'application/octet-stream', fs.readFileSync(found), {
      'content-security-policy': "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    });
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      // Bound to loopback, answer only pages that were asked for by a loopback name (no DNS rebinding).
      const asked = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (LOOPBACK.has(host) && !LOOPBACK.has(asked)) throw new HttpError(403, `host '${asked}' not allowed`);
      const routes: Record<string, () => Promise<void> | void> = {
        '/': () => send(res, 200, 'text/html; charset=utf-8', page, {
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        }),
        '/api/studies': async () => sendJson(res, 200, await studies()),
        '/api/study': async () => sendJson(res, 200, await study(url)),
      };
      const route = url.pathname.startsWith('/artifacts/') ? () => artifact(url, res) : routes[url.pathname];
      if (!route) throw new HttpError(404, `not found: ${url.pathname}`);
      if (req.method !== 'GET') throw new HttpError(405, `method ${req.method} not allowed`);
      await route();
    } catch (e) {
      // The storage can vanish or break while the server runs: say so, keep serving.
      sendError(res, e instanceof KilnError ? new HttpError(503, e.message) : e);
    }
  });
  return listen(server, host, opts.port ?? 8090);
}
