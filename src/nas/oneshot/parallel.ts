import { Worker } from 'node:worker_threads';
import { check, KilnError } from '../../core/index.js';

/**
 * Standalone trainings in worker threads. One wasm tfjs process computes on one core (the
 * threaded wasm build is disabled under Node), so independent trainings, such as the random
 * children of a baseline or the seeds of a comparison, run side by side in `workers` threads,
 * each with its own tfjs and its own copy of the data. Results come back in job order.
 */
export interface StandaloneJob {
  /** Registered dataset name; every worker loads and splits it the same way. */
  data: string;
  subsample?: number;
  splitSeed: number;
  /** A TuNAS-space child (text form) on a backbone named in BACKBONES. */
  backbone: string;
  arch: string;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export interface StandaloneJobResult {
  arch: string;
  steps: number;
  valAccuracy: number;
  testAccuracy: number;
  /** Seconds inside the worker, data loading excluded. */
  seconds: number;
}

function runOne(job: StandaloneJob): Promise<StandaloneJobResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./standalone-worker.js', import.meta.url), { workerData: job });
    let result: StandaloneJobResult | undefined;
    worker.once('message', (m: { ok: true; result: StandaloneJobResult } | { ok: false; error: string }) => {
      if (m.ok) result = m.result;
      else reject(new KilnError(`training ${job.arch} in a worker failed: ${m.error}`));
    });
    worker.once('error', (e) => reject(new KilnError(`training ${job.arch} in a worker failed: ${e.message}`)));
    worker.once('exit', (code) => (result ? resolve(result) : reject(new KilnError(`worker for ${job.arch} exited (code ${code}) without a result`))));
  });
}

export async function runStandaloneJobs(jobs: readonly StandaloneJob[], workers = 2, onDone?: (r: StandaloneJobResult, i: number) => void): Promise<StandaloneJobResult[]> {
  check(Number.isInteger(workers) && workers >= 1, `workers must be a positive integer (got ${workers})`);
  const results: StandaloneJobResult[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await runOne(jobs[i]);
      onDone?.(results[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, lane));
  return results;
}
