import fs from 'node:fs';
import { Command } from 'commander';
import { KilnError } from '../../core/index.js';
import { bestTrial, isNotEvaluable, openStorage, openStudy, type Storage, type StudyRecord, type Trial } from '../../nas/index.js';
import { addStudyOptions, studyFromFlags, type SearchFlags } from './search.js';

const STORAGE_HELP = 'where studies live: sqlite:FILE.db, postgresql://USER:PASSWORD@HOST:PORT/DB or memory';

function withStorage<T>(uri: string, fn: (s: Storage) => T): T {
  const storage = openStorage(uri, { create: false });
  try {
    return fn(storage);
  } finally {
    storage.close();
  }
}

function requireStudy(storage: Storage, name: string): StudyRecord {
  const record = storage.getStudy(name);
  if (!record) {
    const known = storage.listStudies().map((s) => s.spec.name);
    throw new KilnError(`no study '${name}' in ${storage.uri} (studies: ${known.length ? known.join(', ') : 'none'})`);
  }
  return record;
}

function summarize(record: StudyRecord, trials: Trial[]) {
  const count = (state: Trial['state']) => trials.filter((t) => t.state === state).length;
  return {
    name: record.spec.name,
    createdAt: record.createdAt,
    complete: count('complete'),
    infeasible: trials.filter((t) => t.state === 'complete' && !t.feasible && !isNotEvaluable(t)).length,
    notEvaluable: trials.filter(isNotEvaluable).length,
    failed: count('failed'),
    running: count('running'),
    best: bestTrial(trials, record.spec.direction) ?? null,
  };
}

/** '(3 infeasible)', plus the trials a partial table could not evaluate when there are any. */
const skippedText = (s: { infeasible: number; notEvaluable: number }) =>
  `(${s.infeasible} infeasible${s.notEvaluable ? `, ${s.notEvaluable} not evaluable` : ''})`;

const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One row per trial: fixed fields, then every metric any trial has (sorted). */
export function trialsToCsv(trials: readonly Trial[]): string {
  const metrics = [...new Set(trials.flatMap((t) => Object.keys(t.metrics)))].sort();
  const header = ['number', 'arch', 'state', 'feasible', 'value', ...metrics, 'error', 'started_at', 'finished_at'];
  const rows = trials.map((t) => [
    t.number, t.arch, t.state, t.feasible, t.value, ...metrics.map((m) => t.metrics[m]), t.error, t.startedAt, t.finishedAt,
  ]);
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

function print(json: boolean | undefined, data: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text + '\n');
}

export function register(program: Command): void {
  const study = program.command('study').description('create, inspect and export stored search studies');

  addStudyOptions(study
    .command('create')
    .description('create a study (or check an existing one has these settings) and record its budget, for kiln worker to fill'))
    .action((flags: SearchFlags) => {
      const { config, budget } = studyFromFlags(flags);
      const storage = openStorage(flags.storage);
      try {
        const opened = openStudy({ study: config, storage });
        storage.setBudget(config.name, budget);
        const evaluated = opened.evaluated();
        process.stdout.write(`study ${config.name} ${opened.resumed ? 'exists' : 'created'} in ${storage.uri}: ${evaluated}/${budget} trials evaluated
` +
          `start workers with: kiln worker --storage ${flags.storage.startsWith('postgres') ? '<the same URI>' : flags.storage} --study ${config.name}\n`);
      } finally {
        storage.close();
      }
    });

  study
    .command('list')
    .description('list the studies in a storage with trial counts and best value')
    .option('--storage <uri>', STORAGE_HELP, 'sqlite:kiln.db')
    .option('--json', 'print JSON')
    .action((flags: { storage: string; json?: boolean }) => {
      withStorage(flags.storage, (storage) => {
        const rows = storage.listStudies().map((r) => ({ ...summarize(r, storage.trials(r.spec.name)), spec: r.spec }));
        const text = rows.length
          ? rows.map((r) => `${r.name}  ${r.spec.space}/${r.spec.controller}  ${r.complete} complete ${skippedText(r)}, ${r.failed} failed` +
              `  best ${r.spec.objective}=${r.best ? r.best.value : '-'}`).join('\n')
          : `no studies in ${storage.uri}`;
        print(flags.json, rows, text);
      });
    });

  study
    .command('show <name>')
    .description('a study\'s settings and trial counts')
    .option('--storage <uri>', STORAGE_HELP, 'sqlite:kiln.db')
    .option('--json', 'print JSON')
    .action((name: string, flags: { storage: string; json?: boolean }) => {
      withStorage(flags.storage, (storage) => {
        const record = requireStudy(storage, name);
        const summary = summarize(record, storage.trials(name));
        const s = record.spec;
        const text = [
          `study ${s.name} (created ${record.createdAt})`,
          `  space ${s.space}, evaluator ${s.evaluator}${s.table ? ` on ${s.table} (arch column ${s.archColumn})` : ''}` +
            (s.evaluatorOptions ? ` ${Object.entries(s.evaluatorOptions).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''),
          `  objective ${s.direction} ${s.objective}; constraints ${s.constraints.length ? s.constraints.join(', ') : 'none'}`,
          `  controller ${s.controller} ${JSON.stringify(s.controllerOptions)}, seed ${s.seed}`,
          `  trials: ${summary.complete} complete ${skippedText(summary)}, ${summary.failed} failed, ${summary.running} running`,
          `  best: ${summary.best ? `trial ${summary.best.number} ${s.objective}=${summary.best.value} ${summary.best.arch}` : 'none'}`,
        ].join('\n');
        print(flags.json, { spec: s, ...summary }, text);
      });
    });

  study
    .command('best <name>')
    .description('the best feasible trial of a study')
    .option('--storage <uri>', STORAGE_HELP, 'sqlite:kiln.db')
    .option('--json', 'print JSON')
    .action((name: string, flags: { storage: string; json?: boolean }) => {
      withStorage(flags.storage, (storage) => {
        const record = requireStudy(storage, name);
        const best = bestTrial(storage.trials(name), record.spec.direction);
        if (!best) throw new KilnError(`study '${name}' has no complete feasible trial yet`);
        const metrics = Object.entries(best.metrics).map(([k, v]) => `  ${k} ${v}`).join('\n');
        print(flags.json, best, `trial ${best.number}: ${best.arch}\n${metrics}`);
      });
    });

  study
    .command('export <name>')
    .description('every trial of a study as JSON or CSV')
    .option('--format <fmt>', 'json or csv', 'json')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--storage <uri>', STORAGE_HELP, 'sqlite:kiln.db')
    .action((name: string, flags: { format: string; out?: string; storage: string }) => {
      if (flags.format !== 'json' && flags.format !== 'csv') throw new KilnError(`--format must be json or csv, got '${flags.format}'`);
      withStorage(flags.storage, (storage) => {
        const record = requireStudy(storage, name);
        const trials = storage.trials(name);
        const body = flags.format === 'csv' ? trialsToCsv(trials) : JSON.stringify({ study: record, trials }, null, 2) + '\n';
        if (!flags.out) return void process.stdout.write(body);
        try {
          fs.writeFileSync(flags.out, body);
        } catch (e) {
          throw new KilnError(`cannot write ${flags.out}: ${(e as Error).message}`);
        }
        process.stderr.write(`kiln: wrote ${trials.length} trials to ${flags.out}\n`);
      });
    });
}
