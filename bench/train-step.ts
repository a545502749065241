/**
 * Step times of the bench/workloads.ts workloads on Kiln's backends and in PyTorch, side by side.
 * Each system runs in its own child process (bench/step-server.ts, bench/torch_workloads.py) with
 * the thread count under test, and the systems take turns workload by workload, round by round,
 * so that drift in machine load hits them alike. Run: node dist/bench/train-step.js --help
 */
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from '../src/math/index.js';
import { projectRoot } from '../src/core/paths.js';
import { initBackend, nativeAvailability, tf } from '../src/backend/index.js';
import { setWasmFixes, WASM_FIXES } from '../src/backend/wasm-fixes.js';
import { WORKLOADS } from './workloads.js';

const HELP = `usage: node dist/bench/train-step.js [options]
  --systems <list>     native,wasm,cpu,torch (default: native, wasm and torch, where available)
  --threads <list>     thread counts; 'all' is every core (default 1,all)
  --workloads <list>   subset of ${WORKLOADS.map((w) => w.name).join(',')} (default all)
  --rounds <n>         turns each system takes per workload (default 5)
  --repeats <n>        timed steps per turn (default 4)
  --warmup <n>         untimed steps before a workload's first turn (default 8)
  --memory             also: resident memory of 560 CNN training steps in a fresh process per system (peak, growth)
  --json               print the figures as one JSON object instead of tables
  --compare-fixes      instead: wasm as shipped, then with each of Kiln's wasm fixes added, in this process
  -h, --help           this text
PyTorch runs with glibc keeping freed memory (MALLOC_MMAP_THRESHOLD_=32 MiB, MALLOC_TRIM_THRESHOLD_=1 GiB),
as Kiln's native allocator does; with glibc's defaults its step times on these machines are 2-10x
slower and erratic (page faults). OPENBLAS_NUM_THREADS and OMP_NUM_THREADS follow --threads.`;

type System = 'native' | 'wasm' | 'cpu' | 'torch';

interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: Interface;
  info: Record<string, unknown>;
}

async function request(child: Child, req: object): Promise<Record<string, unknown>> {
  if (child.proc.exitCode !== null) throw new Error(`child exited (${child.proc.exitCode})`);
  const reply = new Promise<string>((resolve) => child.lines.once('line', resolve));
  child.proc.stdin.write(JSON.stringify(req) + '\n');
  const out = JSON.parse(await reply) as Record<string, unknown>;
  if (typeof out.error === 'string') throw new Error(out.error);
  return out;
}

/** A python3 that imports torch (Debian's python3-torch lives under /usr/bin/python3), or null. */
function findTorchPython(): string | null {
  for (const exe of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(exe, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return exe;
  }
  return null;
}

async function startChild(system: System, threads: number, python: string | null): Promise<Child> {
  const common = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  const proc = system === 'torch'
    ? spawn(python!, [path.join(projectRoot(), 'bench', 'torch_workloads.py'), '--serve', '--threads', String(threads)], {
      env: { ...process.env, ...common, MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(1 << 30) },
    })
    : spawn(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), 'step-server.js')], {
      env: { ...process.env, ...common, KILN_BACKEND: system, KILN_THREADS: String(threads) },
    });
  proc.stderr.on('data', (d: Buffer) => process.stderr.write(`[${system}] ${d}`));
  proc.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`[${system}] exited with code ${code}\n`);
  });
  const lines = createInterface({ input: proc.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${system} child exited (${code}) before it was ready`)));
  });
  return { proc, lines, info: JSON.parse(first) as Record<string, unknown> };
}

function stop(child: Child): void {
  child.proc.stdin.end();
  child.proc.kill();
}

interface Options {
  systems: System[];
  threads: number[];
  workloads: string[];
  rounds: number;
  repeats: number;
  warmup: number;
}

/** Median ms per step for every workload and system at one thread count. */
async function timeAll(o: Options, threads: number, python: string | null): Promise<Record<string, Partial<Record<System, number>>>> {
  const systems = o.systems.filter((s) => threads === 1 || (s !== 'wasm' && s !== 'cpu'));  // wasm and cpu use one thread
  const children = new Map<System, Child>();
  for (const s of systems) children.set(s, await startChild(s, threads, python));
  const result: Record<string, Partial<Record<System, number>>> = {};
  try {
    for (const w of o.workloads) {
      const times = new Map<System, number[]>(systems.map((s) => [s, []]));
      for (let r = 0; r < o.rounds; r++) {
        for (const s of systems) {
          const cpuSlow = s === 'cpu' && r > 0;  // the cpu backend takes seconds per step: one turn
          if (cpuSlow) continue;
          const reply = await request(children.get(s)!, { workload: w, warmup: r === 0 ? (s === 'cpu' ? 1 : o.warmup) : 0, repeats: s === 'cpu' ? 2 : o.repeats });
          times.get(s)!.push(...(reply.ms as number[]));
        }
      }
      result[w] = Object.fromEntries(systems.map((s) => [s, median(times.get(s)!)]));
      process.stderr.write(`threads ${threads} ${w}: ${systems.map((s) => `${s} ${result[w][s]!.toFixed(2)}`).join(', ')}\n`);
    }
  } finally {
    for (const c of children.values()) stop(c);
  }
  return result;
}

interface MemoryFigures {
  /** Peak resident MB over the run. */
  peak: number;
  /** Resident MB after 60 steps and after 500 more. */
  after60: number;
  after560: number;
}

/** Resident memory of CNN training, each system in a fresh process: peak, and growth from step 60 to 560. */
async function memoryUse(systems: System[], threads: number, python: string | null): Promise<Partial<Record<System, MemoryFigures>>> {
  const out: Partial<Record<System, MemoryFigures>> = {};
  for (const s of systems.filter((x) => x !== 'cpu')) {
    const child = await startChild(s, threads, python);
    try {
      await request(child, { workload: 'cnn', warmup: 0, repeats: 60 });
      const first = await request(child, { memory: true });
      await request(child, { workload: 'cnn', warmup: 0, repeats: 500 });
      const last = await request(child, { memory: true });
      out[s] = { peak: last.peak as number, after60: first.now as number, after560: last.now as number };
    } finally {
      stop(child);
    }
  }
  return out;
}

function table(byWorkload: Record<string, Partial<Record<System, number>>>, systems: System[]): string {
  const hasRatio = systems.includes('native') && systems.includes('torch');
  const head = `| workload | ${systems.map((s) => (s === 'torch' ? 'PyTorch' : s)).join(' | ')}${hasRatio ? ' | native / PyTorch' : ''} |`;
  const rows = Object.entries(byWorkload).map(([w, cells]) => {
    const ratio = hasRatio && cells.native !== undefined && cells.torch !== undefined ? ` | ${(cells.native / cells.torch).toFixed(2)}x` : '';
    return `| ${w} | ${systems.map((s) => (cells[s] === undefined ? '-' : cells[s]!.toFixed(2))).join(' | ')}${ratio} |`;
  });
  return [head, `|---|${systems.map(() => '---:').join('|')}${hasRatio ? '|---:' : ''}|`, ...rows].join('\n');
}

function parseList<T extends string>(value: string, known: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!(known as readonly string[]).includes(item)) throw new Error(`unknown ${what} '${item}' (known: ${known.join(', ')})`);
  return items as T[];
}

function parseCount(value: string, flag: string, min = 0): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`${flag} must be an integer >= ${min}, got '${value}'`);
  return Number(value);
}

/** The old in-process comparison: wasm as shipped, then each of Kiln's fixes added in turn. */
async function compareFixes(workloads: string[], warmup: number, repeats: number): Promise<void> {
  await initBackend('wasm');
  const cols = [[] as string[], ...WASM_FIXES.map((_, i) => WASM_FIXES.slice(0, i + 1))];
  console.log(`| workload | wasm as shipped | ${WASM_FIXES.map((f) => `+ ${f}`).join(' | ')} |`);
  console.log(`|---|${cols.map(() => '---:').join('|')}|`);
  for (const w of WORKLOADS.filter((x) => workloads.includes(x.name))) {
    const built = w.build();
    const times: number[][] = cols.map(() => []);
    const errors: (string | undefined)[] = cols.map(() => undefined);
    for (let r = 0; r < warmup + repeats; r++) {
      cols.forEach((fixes, i) => {
        if (errors[i]) return;
        setWasmFixes(fixes);
        try {
          const start = performance.now();
          built.step();
          if (r >= warmup) times[i].push(performance.now() - start);
        } catch (err) {
          errors[i] = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 60);
        }
      });
    }
    built.dispose();
    console.log(`| ${w.name} | ${cols.map((_, i) => errors[i] ? `fails: ${errors[i]}` : median(times[i]).toFixed(1)).join(' | ')} |`);
  }
  setWasmFixes(WASM_FIXES);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      systems: { type: 'string' },
      threads: { type: 'string', default: '1,all' },
      workloads: { type: 'string', default: WORKLOADS.map((w) => w.name).join(',') },
      rounds: { type: 'string', default: '5' },
      repeats: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '8' },
      memory: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'compare-fixes': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const workloads = parseList(values.workloads, WORKLOADS.map((w) => w.name), 'workload');
  const warmup = parseCount(values.warmup, '--warmup');
  const repeats = parseCount(values.repeats, '--repeats', 1);
  if (values['compare-fixes']) {
    await compareFixes(workloads, warmup, repeats);
    return;
  }
  const python = findTorchPython();
  const available: System[] = [...(nativeAvailability().ok ? ['native' as const] : []), 'wasm', ...(python ? ['torch' as const] : [])];
  const systems = values.systems ? parseList(values.systems, ['native', 'wasm', 'cpu', 'torch'] as const, 'system') : available;
  if (systems.includes('torch') && !python) throw new Error('PyTorch is not installed (apt-get install python3-torch)');
  if (systems.includes('native') && !nativeAvailability().ok) throw new Error('the native backend is unavailable here');
  const threads = [...new Set(values.threads.split(',').map((t) => (t.trim() === 'all' ? os.availableParallelism() : parseCount(t.trim(), '--threads', 1))))];
  const o: Options = { systems, threads, workloads, rounds: parseCount(values.rounds, '--rounds', 1), repeats, warmup };

  const load = () => os.loadavg()[0];
  const loadBefore = load();
  const byThreads: Record<string, Record<string, Partial<Record<System, number>>>> = {};
  for (const t of threads) byThreads[t] = await timeAll(o, t, python);
  const memory = values.memory ? await memoryUse(systems, threads[0], python) : undefined;
  const meta = { node: process.version, tfjs: tf.version.tfjs, cores: os.availableParallelism(), loadBefore, loadAfter: load(), rounds: o.rounds, repeats, warmup };

  if (values.json) {
    console.log(JSON.stringify({ meta, msPerStep: byThreads, peakResidentMb: memory }));
    return;
  }
  console.log(`\nms per step, median of ${o.rounds} turns x ${repeats} steps after ${warmup} warm-up steps; ` +
    `Node ${meta.node}, tfjs ${meta.tfjs}; load average ${loadBefore.toFixed(2)} -> ${meta.loadAfter.toFixed(2)}`);
  for (const t of threads) {
    console.log(`\n${t} thread${t === 1 ? '' : 's'}${t === 1 ? '' : ' (wasm and cpu use one)'}:`);
    console.log(table(byThreads[t], systems.filter((s) => t === 1 || (s !== 'wasm' && s !== 'cpu'))));
  }
  if (memory) {
    console.log(`\nresident memory of CNN training (batch 64), MB, ${threads[0]} thread${threads[0] === 1 ? '' : 's'}, fresh process per system:`);
    console.log('| system | peak | after 60 steps | after 560 steps | growth |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [s, m] of Object.entries(memory)) {
      console.log(`| ${s === 'torch' ? 'PyTorch' : s} | ${m.peak.toFixed(0)} | ${m.after60.toFixed(0)} | ${m.after560.toFixed(0)} | ${(m.after560 - m.after60).toFixed(1)} |`);
    }
    if (memory.native && memory.torch) console.log(`peak native / PyTorch: ${(memory.native.peak / memory.torch.peak).toFixed(2)}x`);
  }
}

main().catch((err: unknown) => {
  console.error(`train-step: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
