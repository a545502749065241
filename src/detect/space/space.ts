import { check, KilnError } from '../../core/index.js';
import { choiceSpace, type Architecture, type Decision, type SearchSpace } from '../../nas/index.js';

/**
 * The MobileDets search space (Xiong et al. 2021, "MobileDets: Searching for Object Detection
 * Architectures for Mobile Accelerators") at Kiln's scale. A fixed layout of stages (channels,
 * stride, depth) after a stride-2 3x3 stem; per stage a filter multiplier, and per block one op:
 *
 * - IBN: 1x1 expansion to e * Cin, KxK depthwise, 1x1 projection (MobileNetV2's inverted bottleneck);
 * - fused IBN: one full KxK convolution to e * Cin in place of the expansion and the depthwise, then
 *   the 1x1 projection;
 * - Tucker: 1x1 compression to s * Cin, a full KxK convolution to e * Cout, 1x1 to Cout, with the
 *   paper's input and output compression ratios s, e in {0.25, 0.75};
 * - skip (every block after a stage's first), so depth is searched too.
 *
 * K is 3 or 5 and e is 4 or 8 for IBN and fused, as in the paper. The IBN-only space keeps only the
 * IBN ops: the paper's baseline space, which its claim is measured against. A block is residual when
 * its stride is 1 and its input and output widths match.
 */

export interface DetStage {
  channels: number;
  stride: number;
  /** Blocks at most (the first always runs; the others may be skipped). */
  depth: number;
}

export interface DetLayout {
  /** Channels of the stride-2 3x3 stem. */
  stem: number;
  stages: readonly DetStage[];
  /** Stages whose outputs feed the SSDLite heads (two or more, in increasing stride). */
  featureStages: readonly number[];
}

/**
 * For 64x64 images: 32 -> 32 -> 16 -> 8 -> 4 pixels per side after the stem and each stage; the
 * heads read the 8x8 and 4x4 maps (strides 8 and 16, where a 64x64 scene's objects are).
 */
export const MOBILEDET_LAYOUT: DetLayout = {
  stem: 16,
  stages: [{ channels: 16, stride: 1, depth: 1 }, { channels: 24, stride: 2, depth: 2 }, { channels: 32, stride: 2, depth: 2 }, { channels: 48, stride: 2, depth: 2 }],
  featureStages: [2, 3],
};

/** A layout small enough for unit tests at 32x32: 16 -> 8 -> 4 -> 2 pixels; heads on the 4x4 and 2x2 maps. */
export const TINY_LAYOUT: DetLayout = {
  stem: 8,
  stages: [{ channels: 8, stride: 2, depth: 1 }, { channels: 16, stride: 2, depth: 2 }, { channels: 24, stride: 2, depth: 1 }],
  featureStages: [1, 2],
};

export const DET_LAYOUTS: Readonly<Record<string, DetLayout>> = { default: MOBILEDET_LAYOUT, tiny: TINY_LAYOUT };

export const KERNELS = [3, 5] as const;
export const EXPANSIONS = [4, 8] as const;
export const TUCKER_RATIOS = [0.25, 0.75] as const;
export const FILTER_MULTIPLIERS = [0.5, 0.75, 1, 1.25] as const;

export type BlockOp =
  | { type: 'ibn'; kernel: number; expansion: number }
  | { type: 'fused'; kernel: number; expansion: number }
  | { type: 'tucker'; kernel: number; inRatio: number; outRatio: number };

export type SpaceVariant = 'full' | 'ibn';

/** An op's choice label: ibn_k3_e4, fused_k5_e8, tucker_k3_i0.25_o0.75. */
export function opLabel(op: BlockOp): string {
  return op.type === 'tucker' ? `tucker_k${op.kernel}_i${op.inRatio}_o${op.outRatio}` : `${op.type}_k${op.kernel}_e${op.expansion}`;
}

/** Every op of a space variant, IBN first. */
export function blockOps(variant: SpaceVariant): BlockOp[] {
  const ops: BlockOp[] = [];
  const types = variant === 'full' ? (['ibn', 'fused'] as const) : (['ibn'] as const);
  for (const type of types) for (const kernel of KERNELS) for (const expansion of EXPANSIONS) ops.push({ type, kernel, expansion });
  if (variant === 'full') {
    for (const kernel of KERNELS) for (const inRatio of TUCKER_RATIOS) for (const outRatio of TUCKER_RATIOS) ops.push({ type: 'tucker', kernel, inRatio, outRatio });
  }
  return ops;
}

export const SKIP = 'skip';

/** The op a choice label names, or null for skip. */
export function parseOp(label: string): BlockOp | null {
  if (label === SKIP) return null;
  const m = /^(ibn|fused)_k(\d+)_e(\d+)$/.exec(label) ?? /^(tucker)_k(\d+)_i([\d.]+)_o([\d.]+)$/.exec(label);
  if (!m) throw new KilnError(`'${label}' is not a MobileDet block op (e.g. ibn_k3_e4, fused_k5_e8, tucker_k3_i0.25_o0.75, skip)`);
  return m[1] === 'tucker'
    ? { type: 'tucker', kernel: Number(m[2]), inRatio: Number(m[3]), outRatio: Number(m[4]) }
    : { type: m[1] === 'ibn' ? 'ibn' : 'fused', kernel: Number(m[2]), expansion: Number(m[3]) };
}

/** A MobileDet search space: the choice space plus the layout its architectures are built on. */
export interface MobileDetSpace extends SearchSpace {
  readonly layout: DetLayout;
  readonly variant: SpaceVariant;
}

export const SPACE_NAMES: Readonly<Record<SpaceVariant, string>> = { full: 'mobiledet', ibn: 'mobiledet-ibn' };

export function checkLayout(layout: DetLayout): void {
  check(layout.stages.length > 0, 'a MobileDet layout needs at least one stage');
  check(layout.featureStages.length >= 2, `SSDLite needs two or more feature maps (got ${layout.featureStages.length})`);
  layout.featureStages.forEach((s, i) => {
    check(Number.isInteger(s) && s >= 0 && s < layout.stages.length, `feature stage ${s} is not a stage of the layout (0..${layout.stages.length - 1})`);
    check(i === 0 || s > layout.featureStages[i - 1], 'feature stages must be in increasing order');
  });
  for (const st of layout.stages) {
    check(Number.isInteger(st.channels) && st.channels > 0 && Number.isInteger(st.depth) && st.depth > 0 && (st.stride === 1 || st.stride === 2),
      `malformed stage ${JSON.stringify(st)} (positive channels and depth, stride 1 or 2)`);
  }
}

/** The full MobileDet space (IBN, fused IBN, Tucker) or the IBN-only baseline space, over `layout`. */
export function mobileDetSpace(variant: SpaceVariant = 'full', layout: DetLayout = MOBILEDET_LAYOUT): MobileDetSpace {
  checkLayout(layout);
  const ops = blockOps(variant).map(opLabel);
  const decisions: Decision[] = [];
  layout.stages.forEach((st, s) => {
    decisions.push({ name: `s${s + 1}_filters`, choices: FILTER_MULTIPLIERS.map((m) => `f${m}`) });
    for (let i = 0; i < st.depth; i++) decisions.push({ name: `s${s + 1}b${i + 1}_op`, choices: i === 0 ? ops : [...ops, SKIP] });
  });
  const description = variant === 'full'
    ? 'MobileDets space: per block IBN / fused IBN (kernel 3|5, expansion 4|8) or Tucker (kernel 3|5, compression 0.25|0.75 in and out) or skip; per stage filter multiplier 0.5-1.25'
    : 'MobileDets IBN-only space: per block IBN (kernel 3|5, expansion 4|8) or skip; per stage filter multiplier 0.5-1.25';
  return { ...choiceSpace(SPACE_NAMES[variant], description, decisions), layout, variant };
}

export interface DetBlockPlan {
  stage: number;
  /** Index of the block within its stage. */
  index: number;
  inC: number;
  outC: number;
  stride: number;
  op: BlockOp;
  residual: boolean;
}

/** One architecture's concrete layout: what the builder, the cost counters and the supernet walk. */
export interface MobileDetPlan {
  stem: number;
  blocks: DetBlockPlan[];
  /** Channels of each feature map the heads read, in layout.featureStages order. */
  featureChannels: number[];
}

/** Channels of a stage at filter multiplier `mult` (at least 4). */
export function stageChannels(max: number, mult: number): number {
  return Math.max(4, Math.round(max * mult));
}

/** Width of an expansion or compression: at least 1 channel. */
export function scaled(c: number, ratio: number): number {
  return Math.max(1, Math.round(c * ratio));
}

export function mobileDetPlan(space: MobileDetSpace, a: Architecture): MobileDetPlan {
  check(space.isValid(a), `not an architecture of ${space.name}`);
  const label = (name: string) => {
    const i = space.decisions.findIndex((d) => d.name === name);
    return space.decisions[i].choices[a.values[i]];
  };
  const blocks: DetBlockPlan[] = [];
  const featureChannels: number[] = [];
  let inC = space.layout.stem;
  space.layout.stages.forEach((st, s) => {
    const outC = stageChannels(st.channels, Number(label(`s${s + 1}_filters`).slice(1)));
    for (let i = 0; i < st.depth; i++) {
      const op = parseOp(label(`s${s + 1}b${i + 1}_op`));
      if (!op) continue;
      const stride = i === 0 ? st.stride : 1;
      blocks.push({ stage: s, index: i, inC, outC, stride, op, residual: stride === 1 && inC === outC });
      inC = outC;
    }
    if (space.layout.featureStages.includes(s)) featureChannels.push(inC);
  });
  return { stem: space.layout.stem, blocks, featureChannels };
}

/** Params (BN: gamma and beta) and multiply-adds of one block on a `side` x `side` input. */
export function blockCosts(b: DetBlockPlan, side: number): { params: number; macs: number } {
  const out = Math.ceil(side / b.stride);
  let params = 0;
  let macs = 0;
  const conv = (k: number, cin: number, cout: number, at: number) => {
    params += k * k * cin * cout + 2 * cout;
    macs += at * at * k * k * cin * cout;
  };
  const k = b.op.kernel;
  if (b.op.type === 'ibn') {
    const h = scaled(b.inC, b.op.expansion);
    conv(1, b.inC, h, side);
    params += k * k * h + 2 * h;
    macs += out * out * k * k * h;
    conv(1, h, b.outC, out);
  } else if (b.op.type === 'fused') {
    const h = scaled(b.inC, b.op.expansion);
    conv(k, b.inC, h, out);
    conv(1, h, b.outC, out);
  } else {
    const ci = scaled(b.inC, b.op.inRatio);
    const co = scaled(b.outC, b.op.outRatio);
    conv(1, b.inC, ci, side);
    conv(k, ci, co, out);
    conv(1, co, b.outC, out);
  }
  return { params, macs };
}

/** Params and multiply-adds (millions) of the backbone of a plan on `side` x `side` x `inC` images (BN: gamma and beta). */
export function mobileDetCosts(plan: MobileDetPlan, side: number, inC = 3): { params: number; mmacs: number } {
  let s = Math.ceil(side / 2);
  let params = 9 * inC * plan.stem + 2 * plan.stem;
  let macs = s * s * 9 * inC * plan.stem;
  for (const b of plan.blocks) {
    const c = blockCosts(b, s);
    params += c.params;
    macs += c.macs;
    s = Math.ceil(s / b.stride);
  }
  return { params, mmacs: macs / 1e6 };
}

const OP_TYPES = ['ibn', 'fused', 'tucker'] as const;

/**
 * Per-op features of a plan for a linear latency model (TuNAS's cost model, fitted in nas/latency):
 * for each op type (IBN, fused, Tucker) the number of blocks and their multiply-adds (millions), then
 * the multiply-adds of the SSDLite heads (`anchors` per cell, `perAnchor` outputs per anchor). Per
 * type rather than per block slot: with the few dozen children a device can be measured on, a
 * feature per slot and op (dozens of weights) fits the measured children and misses the others.
 */
export function mobileDetFeatures(plan: MobileDetPlan, layout: DetLayout, side: number, anchors: number, perAnchor: number): number[] {
  const f = new Array<number>(OP_TYPES.length * 2 + 1).fill(0);
  let at = Math.ceil(side / 2);
  const sides: number[] = [];
  for (const [i, b] of plan.blocks.entries()) {
    const t = OP_TYPES.indexOf(b.op.type);
    f[t] += 1;
    f[OP_TYPES.length + t] += blockCosts(b, at).macs / 1e6;
    at = Math.ceil(at / b.stride);
    const lastOfStage = i + 1 === plan.blocks.length || plan.blocks[i + 1].stage !== b.stage;
    if (lastOfStage && layout.featureStages.includes(b.stage)) sides.push(at);
  }
  // Each map has two predictors (box: 4 per anchor, classes: perAnchor - 4), each a 3x3 depthwise then a 1x1 conv.
  plan.featureChannels.forEach((c, l) => (f[OP_TYPES.length * 2] += (sides[l] * sides[l] * (2 * 9 * c + c * anchors * perAnchor)) / 1e6));
  return f;
}
