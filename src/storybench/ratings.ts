import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KilnError, check } from '../core/index.js';
import { wilson } from '../math/index.js';

/**
 * Human side-by-side judgements, following the paper's evaluation dimensions. For every compared
 * pair the rater says which video (a = left, b = right) is better, or 'tie', on each question; text
 * adherence is asked once per prompt segment. Every judgement is one SQLite row with rater, item,
 * both systems, the answers and the time; (rater, item, pair) is unique, so nothing is counted twice.
 */
export const QUESTIONS = [
  { key: 'visual_quality', label: 'Visual quality: which video looks better (sharp, artefact-free)?' },
  { key: 'entity_consistency', label: 'Entity consistency: which keeps people and objects the same throughout?' },
  { key: 'background_consistency', label: 'Background consistency: which keeps the scene background consistent?' },
  { key: 'action_realism', label: 'Action realism: which shows the actions more realistically?' },
  { key: 'transition_realism', label: 'Transition realism: which moves between segments more naturally?' },
  { key: 'overall', label: 'Overall: which video tells the story better?' },
] as const;

export type Choice = 'a' | 'b' | 'tie';
/**
 * The key of one of the rating app's `QUESTIONS`.
 *
 * @inline
 */
export type QuestionKey = (typeof QUESTIONS)[number]['key'];
export type Answers = Record<QuestionKey, Choice> & { text_adherence: Choice[] };

export interface Judgement {
  id?: number;
  rater: string;
  task: string;
  dataset: string;
  item: string;
  systemA: string;
  systemB: string;
  answers: Answers;
  createdAt?: string;
}

const CHOICES: readonly string[] = ['a', 'b', 'tie'];

/** Validates untrusted answers (from an HTTP body) for an item with `segments` prompts. */
export function parseAnswers(raw: unknown, segments: number): Answers {
  check(typeof raw === 'object' && raw !== null && !Array.isArray(raw), 'answers must be an object');
  const o = raw as Record<string, unknown>;
  const allowed = new Set<string>([...QUESTIONS.map((q) => q.key), 'text_adherence']);
  for (const k of Object.keys(o)) check(allowed.has(k), `unknown answer '${k}'`);
  const out: Partial<Answers> = {};
  for (const q of QUESTIONS) {
    const v = o[q.key];
    check(typeof v === 'string' && CHOICES.includes(v), `answer '${q.key}' must be one of a, b, tie`);
    out[q.key] = v as Choice;
  }
  const ta = o.text_adherence;
  check(
    Array.isArray(ta) && ta.length === segments && ta.every((v) => typeof v === 'string' && CHOICES.includes(v)),
    `answer 'text_adherence' must list one of a, b, tie for each of the ${segments} segments`,
  );
  out.text_adherence = ta as Choice[];
  return out as Answers;
}

export const pairKey = (x: string, y: string): string => [x, y].sort().join(' vs ');

export class RatingStore {
  private db: Database.Database;
  /**
   * Opens (or, unless `readonly`, creates) the judgements database. Read-only opens never write to the
   * file; a file that is not SQLite or holds no judgements table is a KilnError naming it.
   */
  constructor(file: string, opts: { readonly?: boolean } = {}) {
    const readonly = opts.readonly === true;
    if (readonly && !fs.existsSync(file)) throw new KilnError(`ratings database not found: ${file}`);
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) throw new KilnError(`folder for the ratings database does not exist: ${dir}`);
    try {
      this.db = new Database(file, { readonly, fileMustExist: readonly });
      const tables = (this.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((t) => t.name);
      if ((readonly || tables.length > 0) && !tables.includes('judgements')) {
        this.db.close();
        throw new KilnError(`${file} is not a ratings database (${tables.length ? `it holds ${tables.slice(0, 3).join(', ')}` : 'it is empty'}, no judgements table)`);
      }
      if (!readonly) this.createSchema();
    } catch (e) {
      if (e instanceof KilnError) throw e;
      throw new KilnError(`cannot open ratings database ${file}: ${(e as Error).message}`);
    }
  }

  private createSchema(): void {
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS judgements (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      rater TEXT NOT NULL,
      task TEXT NOT NULL,
      dataset TEXT NOT NULL,
      item TEXT NOT NULL,
      system_a TEXT NOT NULL,
      system_b TEXT NOT NULL,
      pair TEXT NOT NULL,
      overall TEXT NOT NULL CHECK (overall IN ('a', 'b', 'tie')),
      answers TEXT NOT NULL,
      created_at TEXT NOT NULL,
      UNIQUE (rater, task, dataset, item, pair)
    )`);
  }

  /** Stores a judgement; a second judgement of the same item and pair by the same rater is refused. */
  add(j: Judgement): number {
    check(j.systemA !== j.systemB, 'a judgement compares two different systems');
    try {
      const info = this.db
        .prepare(
          `INSERT INTO judgements (rater, task, dataset, item, system_a, system_b, pair, overall, answers, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(j.rater, j.task, j.dataset, j.item, j.systemA, j.systemB, pairKey(j.systemA, j.systemB), j.answers.overall,
          JSON.stringify(j.answers), j.createdAt ?? new Date().toISOString());
      return Number(info.lastInsertRowid);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new KilnError(`rater ${j.rater} has already judged ${j.item} (${pairKey(j.systemA, j.systemB)})`);
      }
      throw e;
    }
  }

  all(): Judgement[] {
    const rows = this.db.prepare('SELECT * FROM judgements ORDER BY id').all() as Record<string, string | number>[];
    return rows.map((r) => ({
      id: Number(r.id),
      rater: String(r.rater),
      task: String(r.task),
      dataset: String(r.dataset),
      item: String(r.item),
      systemA: String(r.system_a),
      systemB: String(r.system_b),
      answers: JSON.parse(String(r.answers)) as Answers,
      createdAt: String(r.created_at),
    }));
  }

  /** Keys `task|dataset|item|pair` this rater has already judged. */
  done(rater: string): Set<string> {
    const rows = this.db.prepare('SELECT task, dataset, item, pair FROM judgements WHERE rater = ?').all(rater) as Record<string, string>[];
    return new Set(rows.map((r) => `${r.task}|${r.dataset}|${r.item}|${r.pair}`));
  }

  close(): void {
    this.db.close();
  }
}

// ---- summaries ---------------------------------------------------------------------------------

/** Every judgement stored in a ratings database written by the rating app. */
export function readJudgements(file: string): Judgement[] {
  const store = new RatingStore(file, { readonly: true });
  try {
    return store.all();
  } finally {
    store.close();
  }
}

export { wilson } from '../math/index.js';

export interface WinRate {
  task: string;
  dataset: string;
  system: string;
  opponent: string;
  wins: number;
  losses: number;
  ties: number;
  /** Wins over decisive judgements (ties excluded), with its Wilson 95% interval. */
  rate: number;
  low: number;
  high: number;
}

/** Overall-preference win rate of each system against each opponent. */
export function winRates(judgements: readonly Judgement[]): WinRate[] {
  const table = new Map<string, WinRate>();
  const entry = (j: Judgement, system: string, opponent: string) => {
    const key = `${j.task}|${j.dataset}|${system}|${opponent}`;
    let e = table.get(key);
    if (!e) {
      e = { task: j.task, dataset: j.dataset, system, opponent, wins: 0, losses: 0, ties: 0, rate: NaN, low: NaN, high: NaN };
      table.set(key, e);
    }
    return e;
  };
  for (const j of judgements) {
    const a = entry(j, j.systemA, j.systemB);
    const b = entry(j, j.systemB, j.systemA);
    const o = j.answers.overall;
    if (o === 'tie') {
      a.ties++;
      b.ties++;
    } else {
      (o === 'a' ? a : b).wins++;
      (o === 'a' ? b : a).losses++;
    }
  }
  const out = [...table.values()].map((e) => ({ ...e, ...wilson(e.wins, e.wins + e.losses) }));
  return out.sort((x, y) => `${x.task}${x.dataset}${x.system}${x.opponent}`.localeCompare(`${y.task}${y.dataset}${y.system}${y.opponent}`));
}

const csvField = (v: string | number): string => {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One row per judgement; text adherence answers joined with ';' in segment order. */
export function judgementsCsv(judgements: readonly Judgement[]): string {
  const header = ['id', 'rater', 'task', 'dataset', 'item', 'system_a', 'system_b', ...QUESTIONS.map((q) => q.key), 'text_adherence', 'created_at'];
  const lines = judgements.map((j) =>
    [j.id ?? '', j.rater, j.task, j.dataset, j.item, j.systemA, j.systemB, ...QUESTIONS.map((q) => j.answers[q.key]),
      j.answers.text_adherence.join(';'), j.createdAt ?? ''].map(csvField).join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}
