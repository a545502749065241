import { Worker } from 'node:worker_threads';
import { check, KilnError } from '../../core/index.js';
import { nativeThreads, tf } from '../../backend/index.js';

/**
 * Standalone trainings in worker threads. Independent trainings, such as the random children of a
 * baseline or the seeds of a comparison, run side by side in `workers` threads, each with its own
 * tfjs on the parent's backend and its own copy of the data. On native the cores are shared out
 * (each worker gets cores / workers libtorch threads); a wasm tfjs computes on one core each.
 * Results come back in job order.
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

/** What a worker needs besides its job: the backend to compute on and its thread share. */
export interface WorkerSetup {
  backend: string;
  threads: number;
}

function runOne(job: StandaloneJob, setup: WorkerSetup): Promise<StandaloneJobResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./standalone-worker.js', import.meta.url), { workerData: { job, setup } });
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
  const lanes = Math.min(workers, jobs.length);
  const setup: WorkerSetup = { backend: tf.getBackend(), threads: Math.max(1, Math.floor(nativeThreads() / Math.max(1, lanes))) };
  const results: StandaloneJobResult[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await runOne(jobs[i], setup);
      onDone?.(results[i], i);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}
