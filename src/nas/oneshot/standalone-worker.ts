import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../backend/index.js';
import { loadDataset, sample, splitDataset } from '../../data/index.js';
import { BACKBONES, tunasSpace } from './conv-space.js';
import type { StandaloneJob, WorkerSetup } from './parallel.js';
import { trainForSteps } from './standalone.js';
import { freshTunasChild } from './tunas.js';

/** Worker-thread entry of runStandaloneJobs: one job in workerData, one message back. */
async function run({ job, setup }: { job: StandaloneJob; setup: WorkerSetup }): Promise<void> {
  await initBackend(setup.backend, { threads: setup.threads });
  let ds = loadDataset(job.data);
  if (job.subsample !== undefined) ds = sample(ds, job.subsample, job.splitSeed);
  const splits = splitDataset(ds, { seed: job.splitSeed });
  const backbone = BACKBONES[job.backbone];
  const arch = tunasSpace(backbone).parse(job.arch);
  const r = await trainForSteps(() => freshTunasChild(arch, splits.train.shape, splits.train.classNames.length, backbone), splits,
    { steps: job.steps, batchSize: job.batchSize, lr: job.lr, seed: job.seed });
  r.model.dispose();
  parentPort!.postMessage({ ok: true, result: { arch: job.arch, steps: r.steps, valAccuracy: r.valAccuracy, testAccuracy: r.testAccuracy, seconds: r.seconds } });
}

run(workerData as { job: StandaloneJob; setup: WorkerSetup }).catch((e: Error) => parentPort!.postMessage({ ok: false, error: e.message }));
