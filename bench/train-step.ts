/**
 * Milliseconds per training step (median after warm-up) of the notes/backend.md workloads on
 * each tfjs backend, optionally comparing wasm as shipped with Kiln's fixes switched on one by
 * one. Run: node dist/bench/train-step.js --help
 */
import { parseArgs } from 'node:util';
import { median } from '../src/core/index.js';
import { initBackend, resolveBackendName, setWasmFixes, tf, WASM_FIXES, type BackendName } from '../src/backend/index.js';
import { WORKLOADS, type Workload } from './workloads.js';

const HELP = `usage: node dist/bench/train-step.js [options]
  --backends <list>     comma-separated backends to time (default wasm,cpu)
  --workloads <list>    comma-separated subset of ${WORKLOADS.map((w) => w.name).join(',')} (default all)
  --repeats <n>         timed steps per cell on wasm, median reported (default 10)
  --cpu-repeats <n>     timed steps per cell on cpu (default 3: a cpu CNN step takes ~30 s); 0 skips cpu
  --skip-cpu-cnn        do not time the CNN training step on cpu
  --warmup <n>          untimed steps first (default 2)
  --fixes <list>        wasm fixes to use: all, none or a comma list of ${WASM_FIXES.join(',')} (default all)
  --no-fixes            same as --fixes none (wasm as shipped)
  --compare-fixes       time wasm as shipped, then with each fix added in turn (ignores --fixes)
  -h, --help            this text
Cells: wall-clock median (process CPU-time median) in ms. On a shared machine wall time is
noisy; CPU time much less so. The batchnorm-grad fix is a gradient, so it applies to cpu too.`;

interface Column { label: string; backend: BackendName; fixes: string[] }

function parseList(value: string, known: readonly string[], what: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!known.includes(item)) throw new Error(`unknown ${what} '${item}' (known: ${known.join(', ')})`);
  }
  return items;
}

function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
}

function columns(backends: BackendName[], fixes: string[], compare: boolean): Column[] {
  const cols: Column[] = [];
  for (const backend of backends) {
    if (backend === 'wasm' && compare) {
      cols.push({ label: 'wasm as shipped', backend, fixes: [] });
      WASM_FIXES.forEach((fix, i) => cols.push({ label: `wasm +${fix}`, backend, fixes: WASM_FIXES.slice(0, i + 1) }));
    } else {
      cols.push({ label: backend === 'wasm' ? `wasm (fixes: ${fixes.length === WASM_FIXES.length ? 'all' : fixes.join(',') || 'none'})` : backend, backend, fixes });
    }
  }
  return cols;
}

interface Timing { wall: number[]; cpu: number[]; error?: string }

/** Wall-clock and process CPU milliseconds of one call. */
function measure(step: () => void): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  step();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu0);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

/**
 * Times one workload under several fix sets of one backend. The model is built once and the
 * fix sets take turns step by step, so drift in machine load hits every column alike.
 */
function timeColumns(workload: Workload, cols: Column[], warmup: number, repeats: number): Timing[] {
  const built = workload.build();
  const timings: Timing[] = cols.map(() => ({ wall: [], cpu: [] }));
  const live = (i: number) => timings[i].error === undefined;
  const attempt = (i: number, record: boolean) => {
    if (!live(i)) return;
    setWasmFixes(cols[i].fixes);
    try {
      const t = measure(built.step);
      if (record) {
        timings[i].wall.push(t.wall);
        timings[i].cpu.push(t.cpu);
      }
    } catch (err) {
      timings[i].error = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 70);
    }
  };
  try {
    for (let r = 0; r < warmup; r++) cols.forEach((_, i) => attempt(i, false));
    for (let r = 0; r < repeats; r++) cols.forEach((_, i) => attempt(i, true));
  } finally {
    built.dispose();
  }
  return timings;
}

function cell(t: Timing | undefined): string {
  if (t === undefined) return 'skipped';
  if (t.error !== undefined) return `fails: ${t.error}`;
  return `${median(t.wall).toFixed(1)} (${median(t.cpu).toFixed(1)})`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'wasm,cpu' },
      workloads: { type: 'string', default: WORKLOADS.map((w) => w.name).join(',') },
      repeats: { type: 'string', default: '10' },
      'cpu-repeats': { type: 'string', default: '3' },
      'skip-cpu-cnn': { type: 'boolean', default: false },
      warmup: { type: 'string', default: '2' },
      fixes: { type: 'string', default: 'all' },
      'no-fixes': { type: 'boolean', default: false },
      'compare-fixes': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const backends = values.backends.split(',').map((b) => resolveBackendName(b.trim()));
  const names = parseList(values.workloads, WORKLOADS.map((w) => w.name), 'workload');
  const fixSpec = values['no-fixes'] ? 'none' : values.fixes;
  const fixes = fixSpec === 'all' ? [...WASM_FIXES] : fixSpec === 'none' ? [] : parseList(fixSpec, WASM_FIXES, 'wasm fix');
  const repeats = parseCount(values.repeats, '--repeats');
  const cpuRepeats = parseCount(values['cpu-repeats'], '--cpu-repeats');
  const warmup = parseCount(values.warmup, '--warmup');
  const cols = columns(backends, fixes, values['compare-fixes']);

  const cells = new Map<string, Timing>();
  for (const backend of backends) {
    await initBackend(backend);
    const group = cols.filter((c) => c.backend === backend);
    const n = backend === 'cpu' ? cpuRepeats : repeats;
    for (const workload of WORKLOADS.filter((w) => names.includes(w.name))) {
      if (n === 0 || (backend === 'cpu' && workload.name === 'cnn' && values['skip-cpu-cnn'])) continue;
      const timings = timeColumns(workload, group, backend === 'cpu' ? Math.min(warmup, 1) : warmup, n);
      group.forEach((c, i) => {
        cells.set(`${workload.name}|${c.label}`, timings[i]);
        console.error(`${workload.name} on ${c.label}: ${cell(timings[i])}`);
      });
    }
  }
  setWasmFixes(WASM_FIXES);

  console.log(`\nms per step: wall-clock median (process CPU-time median), ${repeats} timed steps (cpu backend: ${cpuRepeats}) ` +
    `after ${warmup} warm-up; tfjs ${tf.version.tfjs}, Node ${process.version}`);
  console.log(`| workload | ${cols.map((c) => c.label).join(' | ')} |`);
  console.log(`|---|${cols.map(() => '---:').join('|')}|`);
  for (const name of names) {
    console.log(`| ${name} | ${cols.map((c) => cell(cells.get(`${name}|${c.label}`))).join(' | ')} |`);
  }
}

main().catch((err: unknown) => {
  console.error(`train-step: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
