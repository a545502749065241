import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createController, logProb, policyProbs, type Architecture, type Controller, type ControllerOptions, type PolicySnapshot, type SearchSpace,
} from '../src/nas/index.js';

/**
 * The TabNAS paper's toy (notes/nas.md): input 2 -> hidden widths (a, b), a, b in {2, 3, 4}
 * -> output 1, parameter limit 25, losses from the paper's notebook; best feasible 4-2.
 */
const WIDTHS = ['2', '3', '4'];
const key = (a: Architecture) => `${WIDTHS[a.values[0]]}-${WIDTHS[a.values[1]]}`;
const LOSS: Record<string, number> = {
  '2-2': 0.9, '2-3': 0.9, '3-2': 0.9, '2-4': 0.66, '4-2': 0.6, '3-3': 0.66, '3-4': 0.3, '4-3': 0.3, '4-4': 0.1,
};
// Sum of (in*out + out) over consecutive sizes; 3-4 and 4-4 as the notebook lists them.
const PARAMS: Record<string, number> = {
  '2-2': 15, '2-3': 19, '2-4': 23, '3-2': 20, '3-3': 25, '4-2': 25, '4-3': 31, '3-4': 33, '4-4': 41,
};
const LIMIT = 25;
const ALL: Architecture[] = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => ({ values: [i, j] })));
const feasible = (a: Architecture) => PARAMS[key(a)] <= LIMIT;

export const toySpace: SearchSpace = {
  name: 'tabnas-toy',
  description: 'two hidden layers of width 2, 3 or 4',
  decisions: [{ name: 'layer1', choices: WIDTHS }, { name: 'layer2', choices: WIDTHS }],
  sample: (rng) => ({ values: [rng.int(3), rng.int(3)] }),
  mutate: (a) => a,
  isValid: () => true,
  encode: () => new Float32Array(0),
  graph: () => { throw new Error('no graph'); },
  toString: key,
  parse: () => { throw new Error('no parse'); },
  key,
};

const paramsCost = () => ({ name: 'params', metric: 'params', cost: (a: Architecture) => PARAMS[key(a)] });

function runToy(name: 'tabnas' | 'reinforce', options: ControllerOptions, seed: number, iterations = 500): Controller {
  const c = createController(name, toySpace, seed, options, name === 'tabnas' ? { feasible, candidates: ALL } : { cost: paramsCost, candidates: ALL });
  for (let t = 0; t < iterations; t++) {
    const a = c.ask();
    const q = 1 - LOSS[key(a)];
    c.tell(a, { score: q, feasible: true, metrics: {} });
  }
  return c;
}

/** The final policy's probability of each architecture, and of each renormalized over feasible ones. */
function finalPolicy(c: Controller) {
  const probs = policyProbs({ logits: (c.state() as PolicySnapshot).logits });
  const p = Object.fromEntries(ALL.map((a) => [key(a), Math.exp(logProb(probs, a))]));
  const pv = ALL.filter(feasible).reduce((s, a) => s + p[key(a)], 0);
  const conditional = Object.fromEntries(ALL.filter(feasible).map((a) => [key(a), p[key(a)] / pv]));
  const argmax = (d: Record<string, number>) => Object.entries(d).reduce((b, e) => (e[1] > b[1] ? e : b))[0];
  return { p, conditional, favourite: argmax(p), feasibleFavourite: argmax(conditional) };
}

const SETTINGS = {
  'rejection + MC correction': { name: 'tabnas', options: {} },
  'rejection only': { name: 'tabnas', options: { correction: false } },
  'abs reward': { name: 'reinforce', options: { reward: 'abs', costMetric: 'params', target: LIMIT, beta: -1, lr: 0.05, adamBeta1: 0.9, baselineMomentum: 0.9 } },
} as const;

test('TabNAS toy over 100 seeds: the MC correction finds 4-2, the abs reward ends infeasible', () => {
  const SEEDS = 100;
  const rates: Record<string, { hit: number; infeasible: number; avg: Record<string, number> }> = {};
  for (const [label, s] of Object.entries(SETTINGS)) {
    const r = { hit: 0, infeasible: 0, avg: {} as Record<string, number> };
    for (let seed = 0; seed < SEEDS; seed++) {
      const f = finalPolicy(runToy(s.name, s.options as ControllerOptions, seed));
      if (f.feasibleFavourite === '4-2') r.hit++;
      if (!feasible({ values: [WIDTHS.indexOf(f.favourite[0]), WIDTHS.indexOf(f.favourite[2])] })) r.infeasible++;
      for (const [k, v] of Object.entries(f.conditional)) r.avg[k] = (r.avg[k] ?? 0) + v / SEEDS;
    }
    rates[label] = r;
  }
  const line = (l: string) => `${l}: 4-2 most likely feasible in ${rates[l].hit}/${SEEDS} seeds, unconditional favourite infeasible in ${rates[l].infeasible}`;
  console.log(Object.keys(SETTINGS).map(line).join('\n'));
  const corrected = rates['rejection + MC correction'];
  const argmaxAvg = Object.entries(corrected.avg).reduce((b, e) => (e[1] > b[1] ? e : b))[0];
  assert.equal(argmaxAvg, '4-2', `seed-averaged conditional distribution peaks at 4-2 (${JSON.stringify(corrected.avg)})`);
  // notes/nas.md: about 76% / 68% / 22% in a faithful implementation; this one measures
  // 76 / 66 / 59 (the abs run's conditional favourite depends on details the notes leave
  // open, such as the baseline; its unconditional favourite is infeasible in every seed).
  assert.ok(corrected.hit >= 66 && corrected.hit <= 86, line('rejection + MC correction'));
  assert.ok(rates['rejection only'].hit >= 56 && rates['rejection only'].hit <= corrected.hit, line('rejection only'));
  assert.ok(rates['abs reward'].hit < corrected.hit, line('abs reward'));
  assert.ok(rates['abs reward'].infeasible >= 90, 'abs reward ends on infeasible architectures most of the time');
  assert.equal(rates['rejection + MC correction'].avg['4-3'], undefined, 'conditional is over feasible archs only');
});

test('tabnas never proposes an infeasible architecture and counts its rejections', () => {
  const c = createController('tabnas', toySpace, 3, {}, { feasible, candidates: ALL });
  for (let t = 0; t < 50; t++) {
    const a = c.ask();
    assert.ok(feasible(a), `${key(a)} is feasible`);
    c.tell(a, { score: 1 - LOSS[key(a)], feasible: true, metrics: {} });
  }
  const st = c.state() as { rejected: number; skipped: number };
  assert.ok(st.rejected > 0, 'some samples were rejected');
  assert.ok(feasible(c.pick!()!), 'the pick is the most likely feasible architecture');
});

test('tabnas: an unmeetable constraint and bad options fail clearly', () => {
  const none = createController('tabnas', toySpace, 1, { maxRejections: 50 }, { feasible: () => false });
  assert.throws(() => none.ask(), /50 infeasible architectures in a row/);
  assert.throws(() => createController('tabnas', toySpace, 1, { mcSamples: 0 }), /mcSamples/);
  assert.throws(() => createController('tabnas', toySpace, 1, { correction: 'yes' }), /correction/);
});

test('MC sample count anneals linearly from mcSamples to mcSamplesEnd', () => {
  // With mcSamples=1 the estimate often misses the feasible set early (skipped steps);
  // annealed up to 64 samples it no longer does.
  const c = runToy('tabnas', { mcSamples: 1, mcSamplesEnd: 64, mcAnneal: 100 }, 0, 300);
  const fixed = runToy('tabnas', { mcSamples: 1 }, 0, 300);
  const skipped = (x: Controller) => (x.state() as { skipped: number }).skipped;
  assert.ok(skipped(c) < skipped(fixed), `annealed skips ${skipped(c)} < fixed ${skipped(fixed)}`);
});
