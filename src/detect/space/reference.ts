import { KilnError } from '../../core/index.js';
import type { Architecture } from '../../nas/index.js';
import { FILTER_MULTIPLIERS, opLabel, type BlockOp, type MobileDetSpace } from './space.js';

/**
 * Hand-designed baselines the searched models are compared with, written in the IBN-only
 * vocabulary so they are members of both the IBN-only and the full space (every block present,
 * filter multiplier 1 unless another is asked for, e.g. to match a searched model's latency):
 *
 * - `mobilenetv2`: every block an IBN with a 3x3 depthwise kernel (MobileNetV2 uses 3x3 throughout,
 *   Sandler et al. 2018) and expansion 4 (V2's 6 is not in the space; 4 is the cheaper neighbour);
 * - `mobilenetv3`: MobileNetV3-Large's pattern (Howard et al. 2019): 3x3 kernels in the early stages and
 *   5x5 from the middle stage on, wider expansion (8) in the last stage.
 */
export const REFERENCE_ARCHITECTURES = ['mobilenetv2', 'mobilenetv3'] as const;
export type ReferenceName = (typeof REFERENCE_ARCHITECTURES)[number];

function referenceOp(name: ReferenceName, stage: number, stages: number): BlockOp {
  if (name === 'mobilenetv2') return { type: 'ibn', kernel: 3, expansion: 4 };
  return { type: 'ibn', kernel: stage >= Math.floor(stages / 2) ? 5 : 3, expansion: stage === stages - 1 ? 8 : 4 };
}

/** The reference architecture `name` in `space` (either variant: both hold every IBN op), at filter multiplier `multiplier` in every stage. */
export function referenceArchitecture(space: MobileDetSpace, name: string, multiplier = 1): Architecture {
  if (!(REFERENCE_ARCHITECTURES as readonly string[]).includes(name)) {
    throw new KilnError(`unknown reference architecture '${name}' (known: ${REFERENCE_ARCHITECTURES.join(', ')})`);
  }
  if (!(FILTER_MULTIPLIERS as readonly number[]).includes(multiplier)) {
    throw new KilnError(`filter multiplier ${multiplier} is not in the space (choices: ${FILTER_MULTIPLIERS.join(', ')})`);
  }
  const stages = space.layout.stages;
  const parts = stages.flatMap((st, s) => [`f${multiplier}`, ...Array.from({ length: st.depth }, () => opLabel(referenceOp(name as ReferenceName, s, stages.length)))]);
  return space.parse(parts.join('-'));
}

/** A reference architecture's name (`mobilenetv2`, `mobilenetv3`) or an architecture of `space` in its text form. */
export function architectureOf(space: MobileDetSpace, spec: string): Architecture {
  return (REFERENCE_ARCHITECTURES as readonly string[]).includes(spec) ? referenceArchitecture(space, spec) : space.parse(spec);
}
