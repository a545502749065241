import type { Architecture, Decision, SearchSpace } from '../space/index.js';
import { choiceSpace } from './choice-space.js';

/**
 * MobileNet-like image spaces over a fixed backbone: a stride-2 3x3 stem, stages of inverted
 * bottleneck blocks (1x1 expand, kxk depthwise, 1x1 project, BN, ReLU6, residual when shapes
 * match), global pooling, a linear classifier. A `ConvPlan` is one child's concrete layout; the
 * supernet, the standalone builder and the cost counters all walk the same plan.
 */

export interface Backbone {
  /** Max output channels per stage. */
  channels: readonly number[];
  strides: readonly number[];
  /** Max blocks per stage. */
  depth: number;
  stem: number;
  maxExpansion: number;
  kernels: readonly number[];
}

export const BACKBONE: Backbone = { channels: [16, 24, 32], strides: [1, 2, 2], depth: 2, stem: 16, maxExpansion: 6, kernels: [3, 5, 7] };

/** A backbone small enough to search on two CPU cores at 28x28: 14 -> 7 -> 4 -> 4 pixels after the stem. */
export const SMALL_BACKBONE: Backbone = { channels: [8, 16, 24], strides: [2, 2, 1], depth: 2, stem: 8, maxExpansion: 6, kernels: [3, 5, 7] };

/** Backbones by name, for --backbone flags. */
export const BACKBONES: Readonly<Record<string, Backbone>> = { small: SMALL_BACKBONE, default: BACKBONE };

export interface BlockPlan {
  /** Position in the max layout: stage * depth + index (names its variables). */
  slot: number;
  inC: number;
  hidden: number;
  outC: number;
  kernel: number;
  stride: number;
  expand: boolean;
  residual: boolean;
}

export interface ConvPlan {
  resolution: number;
  blocks: BlockPlan[];
  lastC: number;
}

const pct = (m: string) => Number(m.slice(1));

/** TuNAS space: per block kernel, expansion and (after a stage's first block) skip; per stage filter multiplier. */
export function tunasSpace(b: Backbone = BACKBONE): SearchSpace {
  const decisions: Decision[] = [];
  b.channels.forEach((_, s) => {
    decisions.push({ name: `s${s + 1}_filters`, choices: ['f0.5', 'f0.75', 'f1'] });
    for (let i = 0; i < b.depth; i++) {
      const p = `s${s + 1}b${i + 1}`;
      if (i > 0) decisions.push({ name: `${p}_skip`, choices: ['on', 'skip'] });
      decisions.push({ name: `${p}_kernel`, choices: b.kernels.map((k) => `k${k}`) });
      decisions.push({ name: `${p}_expansion`, choices: ['e1', 'e3', 'e6'] });
    }
  });
  return choiceSpace('tunas', `TuNAS MobileNet-like space: ${b.channels.length} stages x ${b.depth} inverted-bottleneck blocks; ` +
    'kernel 3/5/7, expansion 1/3/6 and skip per block, filter multiplier 0.5/0.75/1 per stage', decisions);
}

/** BigNAS elastic space: input resolution, and per stage depth, width multiplier and kernel. */
export function bignasSpace(b: Backbone = BACKBONE, resolutions: readonly number[] = [20, 24, 28]): SearchSpace {
  const decisions: Decision[] = [{ name: 'resolution', choices: resolutions.map((r) => `r${r}`) }];
  b.channels.forEach((_, s) => {
    decisions.push({ name: `s${s + 1}_depth`, choices: Array.from({ length: b.depth }, (_, i) => `d${i + 1}`) });
    decisions.push({ name: `s${s + 1}_width`, choices: ['w0.5', 'w0.75', 'w1'] });
    decisions.push({ name: `s${s + 1}_kernel`, choices: b.kernels.map((k) => `k${k}`) });
  });
  return choiceSpace('bignas', `BigNAS elastic space: resolution ${resolutions.join('/')}, per stage depth 1-${b.depth}, ` +
    'width 0.5/0.75/1, kernel 3/5/7 (expansion 4)', decisions);
}

export const BIGNAS_EXPANSION = 4;

const channelsAt = (max: number, mult: number) => Math.max(4, Math.round(max * mult));

/** The concrete layout of a child of `space` (tunas or bignas) at input size `inputSide`. */
export function convPlan(space: SearchSpace, a: Architecture, b: Backbone, inputSide: number): ConvPlan {
  const choice = (name: string) => {
    const i = space.decisions.findIndex((d) => d.name === name);
    return space.decisions[i].choices[a.values[i]];
  };
  const tunas = space.name === 'tunas';
  const resolution = tunas ? inputSide : pct(choice('resolution'));
  const blocks: BlockPlan[] = [];
  let inC = b.stem;
  b.channels.forEach((maxC, s) => {
    const mult = pct(choice(tunas ? `s${s + 1}_filters` : `s${s + 1}_width`));
    const outC = channelsAt(maxC, mult);
    const depth = tunas ? b.depth : pct(choice(`s${s + 1}_depth`));
    for (let i = 0; i < depth; i++) {
      const p = `s${s + 1}b${i + 1}`;
      if (tunas && i > 0 && choice(`${p}_skip`) === 'skip') continue;
      const expansion = tunas ? pct(choice(`${p}_expansion`)) : BIGNAS_EXPANSION;
      const kernel = pct(choice(tunas ? `${p}_kernel` : `s${s + 1}_kernel`));
      const stride = i === 0 ? b.strides[s] : 1;
      blocks.push({ slot: s * b.depth + i, inC, hidden: inC * expansion, outC, kernel, stride, expand: expansion > 1, residual: stride === 1 && inC === outC });
      inC = outC;
    }
  });
  return { resolution, blocks, lastC: inC };
}

/** Params and multiply-adds (millions) of a child plan with `classes` outputs and `inC` image channels. */
export function convPlanCosts(plan: ConvPlan, b: Backbone, inC: number, classes: number): { params: number; mflops: number } {
  let side = Math.ceil(plan.resolution / 2);
  const bn = (c: number) => 2 * c; // gamma, beta (moving stats are not trained)
  let params = 9 * inC * b.stem + bn(b.stem);
  let madds = side * side * 9 * inC * b.stem;
  for (const k of plan.blocks) {
    if (k.expand) {
      params += k.inC * k.hidden + bn(k.hidden);
      madds += side * side * k.inC * k.hidden;
    }
    side = Math.ceil(side / k.stride);
    params += k.kernel * k.kernel * k.hidden + bn(k.hidden) + k.hidden * k.outC + bn(k.outC);
    madds += side * side * (k.kernel * k.kernel * k.hidden + k.hidden * k.outC);
  }
  params += plan.lastC * classes + classes;
  madds += plan.lastC * classes;
  return { params, mflops: madds / 1e6 };
}

/**
 * Per-op features of a child plan for a linear latency model: for every block slot of the max
 * layout, [present, expand MACs, depthwise MACs, project MACs, activations], then the stem and
 * head MACs (millions). A skipped block contributes zeros, so unlike a one-hot code the model
 * does not have to learn that a skipped block's kernel and expansion cost nothing.
 */
export function convPlanFeatures(plan: ConvPlan, b: Backbone, inC: number): number[] {
  const slots = b.channels.length * b.depth;
  const f = new Array<number>(slots * 5 + 2).fill(0);
  let side = Math.ceil(plan.resolution / 2);
  f[slots * 5] = (side * side * 9 * inC * b.stem) / 1e6;
  for (const k of plan.blocks) {
    const o = k.slot * 5;
    const inSide = side;
    side = Math.ceil(side / k.stride);
    f[o] = 1;
    f[o + 1] = k.expand ? (inSide * inSide * k.inC * k.hidden) / 1e6 : 0;
    f[o + 2] = (side * side * k.kernel * k.kernel * k.hidden) / 1e6;
    f[o + 3] = (side * side * k.hidden * k.outC) / 1e6;
    f[o + 4] = ((inSide * inSide + side * side) * k.hidden + side * side * k.outC) / 1e6;
  }
  f[slots * 5 + 1] = (side * side * plan.lastC) / 1e6;
  return f;
}
