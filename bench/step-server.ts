/**
 * A child process for bench/train-step.ts: one tfjs backend, workloads built once and timed on
 * request, so that several systems can take turns on the same machine. Protocol: one JSON object
 * per line on stdin ({"workload", "warmup", "repeats"} or {"memory": true}), one JSON line back.
 * The backend comes from KILN_BACKEND, its threads from KILN_THREADS.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { initBackend, tf } from '../src/backend/index.js';
import { WORKLOADS, type Workload } from './workloads.js';

interface Request {
  workload?: string;
  warmup?: number;
  repeats?: number;
  memory?: boolean;
}

/** Peak and current resident memory of this process, in MB (Linux /proc). */
function residentMb(): { peak: number; now: number } {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
}

async function main(): Promise<void> {
  const backend = await initBackend(process.env.KILN_BACKEND);
  const built = new Map<string, ReturnType<Workload['build']>>();
  const rl = readline.createInterface({ input: process.stdin });
  process.stdout.write(JSON.stringify({ ready: true, backend, tfjs: tf.version.tfjs }) + '\n');
  for await (const line of rl) {
    const req = JSON.parse(line) as Request;
    try {
      if (req.memory) {
        process.stdout.write(JSON.stringify({ ...residentMb(), tensors: tf.memory().numTensors }) + '\n');
        continue;
      }
      const w = WORKLOADS.find((x) => x.name === req.workload);
      if (!w) throw new Error(`unknown workload ${req.workload}`);
      if (!built.has(w.name)) built.set(w.name, w.build());
      const step = built.get(w.name)!.step;
      for (let i = 0; i < (req.warmup ?? 0); i++) step();
      const ms: number[] = [];
      for (let i = 0; i < (req.repeats ?? 1); i++) {
        const start = performance.now();
        step();
        ms.push(performance.now() - start);
      }
      process.stdout.write(JSON.stringify({ ms }) + '\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ error: (err instanceof Error ? err.message : String(err)).split('\n')[0] }) + '\n');
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`step-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
