import { Command } from 'commander';
import { createProgress, KilnError } from '../../core/index.js';
import { ARTIFACTS_HELP, interruptSignal, intParser, outputDirParser, positiveParser } from '../flags.js';
import { DEFAULT_GRACE_MS, DEFAULT_HEARTBEAT_MS, joinStudy, openStorage } from '../../nas/index.js';

interface WorkerFlags {
  storage: string;
  study: string;
  budget?: number;
  heartbeat: number;
  grace: number;
  artifacts?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('join a study made by kiln search or kiln study create and evaluate its trials until the budget is reached')
    .requiredOption('--storage <uri>', 'the study\'s storage: postgresql://USER:PASSWORD@HOST:PORT/DB (many machines) or sqlite:FILE.db (one machine)')
    .requiredOption('--study <name>', 'the study to join')
    .option('--budget <n>', 'evaluated trials to reach (default: the budget the study was created with)', intParser('--budget'))
    .option('--heartbeat <s>', 'seconds between heartbeats of this worker\'s running trial', positiveParser('--heartbeat'), DEFAULT_HEARTBEAT_MS / 1000)
    .option('--grace <s>', 'seconds without a heartbeat after which another worker\'s running trial is failed and retried',
      positiveParser('--grace'), DEFAULT_GRACE_MS / 1000)
    .option('--artifacts <dir>', ARTIFACTS_HELP, outputDirParser('--artifacts'))
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', `
Any number of workers, on any number of machines, may join one study: each reserves the next trial in a
transaction that also counts the budget, so together they stop at exactly --budget evaluated trials. A
worker killed mid-trial loses only that trial: once its heartbeat is older than --grace (at once when it
was a process of the same machine) another worker fails it and retries its architecture. Keep --grace
well above --heartbeat. The study's table must be at the same path, with the same content, on every machine.
A study whose evaluator trains models (--evaluator train) stores its options (dataset, steps, batch, lr,
seed); each worker loads that registered dataset itself and trains every trial it takes with them.

Examples (one command creates the study, then workers join it):
  kiln study create --space nb201 --table data/nb201/nb201-cifar10.csv --objective cifar10_test_acc \\
    --constraint 'latency_ms_pixel3<=6' --budget 500 --storage postgresql://kiln:kiln@db:5432/kiln --study s1
  kiln worker --storage postgresql://kiln:kiln@db:5432/kiln --study s1     # on each machine
  kiln study create --space mlp2 --evaluator train --evaluator-option dataset=digits --evaluator-option steps=200 \\
    --objective val_acc --controller random --budget 40 --storage postgresql://kiln:kiln@db:5432/kiln --study m1
  kiln worker --storage postgresql://kiln:kiln@db:5432/kiln --study m1 --artifacts /shared/m1   # on each machine
  kiln dashboard --storage postgresql://kiln:kiln@db:5432/kiln --artifacts /shared/m1     # links every trial to its files`)
    .action(async (flags: WorkerFlags) => {
      if (flags.grace <= flags.heartbeat) throw new KilnError(`--grace (${flags.grace} s) must be longer than --heartbeat (${flags.heartbeat} s)`);
      const storage = openStorage(flags.storage);
      const stop = interruptSignal('stopping after the current trial');
      try {
        const study = joinStudy({ storage, name: flags.study, graceMs: flags.grace * 1000, artifacts: flags.artifacts });
        const budget = flags.budget ?? storage.getStudy(flags.study)!.budget;
        if (budget === null) throw new KilnError(`study '${flags.study}' has no budget yet; pass --budget`);
        const progress = createProgress({ label: `worker ${flags.study}`, total: budget, quiet: flags.json });
        let mine = 0;
        const run = await study.run({
          budget, signal: stop.signal, heartbeatMs: flags.heartbeat * 1000,
          onTrial(_, done) {
            mine++;
            progress.update(done, `${mine} by this worker`);
          },
        });
        progress.done(run.stopped ? 'stopped' : '');
        const byMe = run.trials.filter((t) => t.worker === study.worker);
        const summary = {
          study: run.spec.name, storage: storage.uri, worker: study.worker, budget, done: run.done, stopped: run.stopped,
          finished: byMe.filter((t) => t.state === 'complete').length, evaluated: byMe.filter((t) => t.state === 'complete' && t.feasible).length,
          retried: run.interrupted, best: run.best ?? null,
        };
        process.stdout.write(flags.json ? JSON.stringify(summary, null, 2) + '\n'
          : `worker ${summary.worker}: ${summary.finished} trials finished here (${summary.evaluated} evaluated)\n` +
            `study ${summary.study}: ${run.done}/${budget} trials evaluated` + (run.interrupted ? `; ${run.interrupted} trial(s) of gone workers failed and re-queued` : '') + '\n' +
            (run.best ? `best trial ${run.best.number}: ${run.spec.objective} ${run.best.value} ${run.best.arch}\n` : 'no feasible trial yet\n'));
        if (run.stopped) {
          process.stderr.write(`kiln: stopped at ${run.done}/${budget} trials; other workers carry on, or start this one again\n`);
          process.exitCode = 130;
        }
      } finally {
        stop.dispose();
        storage.close();
      }
    });
}
