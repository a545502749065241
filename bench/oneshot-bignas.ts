/**
 * BigNAS validation: train the elastic supernet once (sandwich rule, in-place distillation), then
 * for the smallest, the largest and two middle children compare test accuracy with inherited
 * weights (before and after BN recalibration) against the same architecture trained from
 * scratch for the same number of steps (same epochs, batch, learning-rate schedule).
 * Middle children: every decision at its lower-middle choice, and at its upper-middle choice.
 * Run: node dist/bench/oneshot-bignas.js [--steps 200] [--subsample 12000] [--backbone small] [--out bench-out/bignas]
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend, setSeed } from '../src/backend/index.js';
import { numExamples } from '../src/data/index.js';
import {
  BACKBONES, bignasSupernet, bignasTrain, inheritedChild, inputSide, largestChild, scoreModel, smallestChild, splitsAtResolution, trainForSteps,
} from '../src/nas/oneshot/index.js';
import type { Architecture } from '../src/nas/index.js';
import { arg } from './args.js';
import { imageBenchSplits } from './data.js';

const STEPS = Number(arg('--steps', '200'));
const SUBSAMPLE = Number(arg('--subsample', '12000'));
const BACKBONE = BACKBONES[arg('--backbone', 'small')];
const OUT = arg('--out', 'bench-out/bignas');
const BATCH = 32;
const LR = 3e-3;

async function main(): Promise<void> {
  await initBackend(arg('--backend', '') || undefined);
  fs.mkdirSync(OUT, { recursive: true });
  const { name, splits } = imageBenchSplits(SUBSAMPLE);
  const { shape, classNames } = splits.train;
  setSeed(1);
  const net = bignasSupernet(shape, classNames.length, BACKBONE);
  const t = await bignasTrain({ supernet: net, train: splits.train, steps: STEPS, batchSize: BATCH, lr: LR, weightDecay: 1e-5, randomChildren: 2, seed: 1,
    onStep: (e) => { if (e.step % 20 === 0) console.log(`sandwich step ${e.step}/${e.steps} loss ${e.loss.toFixed(3)}`); } });
  const epochs = (STEPS * BATCH) / numExamples(splits.train);
  console.log(`supernet: ${STEPS} sandwich steps (${epochs.toFixed(2)} epochs) in ${t.seconds.toFixed(0)} s, ${t.stepsPerSecond.toFixed(3)} steps/s`);

  const mid = (up: boolean): Architecture => ({ values: net.space.decisions.map((d) => (up ? Math.ceil : Math.floor)((d.choices.length - 1) / 2)) });
  const children: [string, Architecture][] = [['smallest', smallestChild(net)], ['middle (lower)', mid(false)], ['middle (upper)', mid(true)], ['largest', largestChild(net)]];
  const rows = ['| child | architecture | MFLOPs | params | inherited, no BN recalibration | inherited + BN recalibration | from scratch, same steps | scratch s |', '|---|---|---|---|---|---|---|---|'];
  const records: unknown[] = [];
  for (const [label, a] of children) {
    const costs = net.costs(a);
    const raw = net.child(a);
    const at = splitsAtResolution(splits, inputSide(raw));
    const noRecal = await scoreModel(raw, at);
    raw.dispose();
    const model = await inheritedChild(net, a, splits.train, 16);
    const inherited = await scoreModel(model, at);
    model.dispose();
    // From scratch: the same child cut from a freshly initialized supernet, trained on images at its resolution.
    const scratch = await trainForSteps(() => {
      const fresh = bignasSupernet(shape, classNames.length, BACKBONE);
      try {
        return fresh.child(a);
      } finally {
        fresh.dispose();
      }
    }, at, { steps: STEPS, batchSize: BATCH, lr: LR, seed: 1 });
    scratch.model.dispose();
    rows.push(`| ${label} | ${net.space.toString(a)} | ${costs.mflops.toFixed(3)} | ${costs.params} | ${noRecal.testAccuracy.toFixed(4)} | ` +
      `${inherited.testAccuracy.toFixed(4)} | ${scratch.testAccuracy.toFixed(4)} | ${scratch.seconds.toFixed(0)} |`);
    console.log(rows[rows.length - 1]);
    records.push({ label, arch: net.space.toString(a), ...costs, noRecal, inherited, scratch: { val: scratch.valAccuracy, test: scratch.testAccuracy, steps: scratch.steps, seconds: scratch.seconds } });
  }
  net.dispose();
  const md = `# BigNAS: inherited vs from-scratch accuracy (${name}, ${SUBSAMPLE} examples: ${numExamples(splits.train)} train / ${numExamples(splits.test)} test)\n\n` +
    `Supernet: ${STEPS} sandwich steps of batch ${BATCH} (${epochs.toFixed(2)} epochs; largest + smallest + 2 random children, in-place distillation), ` +
    `${t.stepsPerSecond.toFixed(3)} steps/s on wasm. Scratch: ${STEPS} steps of the same batch and schedule. Test accuracy:\n\n${rows.join('\n')}\n`;
  fs.writeFileSync(path.join(OUT, 'bignas.md'), md);
  fs.writeFileSync(path.join(OUT, 'bignas.json'), JSON.stringify({ steps: STEPS, stepsPerSecond: t.stepsPerSecond, losses: t.losses, records }, null, 1));
  console.log(md);
}

await main();
