/**
 * The MobileDets search space: IBN, fused IBN and Tucker blocks, plans, costs, latency features,
 * the backbone builder and the hand-designed reference architectures. Importing this module
 * registers the full and IBN-only spaces (default layout) in the nas spaces registry.
 */
import { spaces } from '../../nas/index.js';
import { mobileDetSpace } from './space.js';

export {
  mobileDetSpace, mobileDetPlan, mobileDetCosts, mobileDetFeatures, blockCosts, blockOps, opLabel, parseOp, checkLayout, stageChannels, scaled,
  MOBILEDET_LAYOUT, TINY_LAYOUT, DET_LAYOUTS, KERNELS, EXPANSIONS, TUCKER_RATIOS, FILTER_MULTIPLIERS, SKIP, SPACE_NAMES,
  type DetLayout, type DetStage, type BlockOp, type SpaceVariant, type MobileDetSpace, type DetBlockPlan, type MobileDetPlan,
} from './space.js';
export { buildBackbone, backboneFeatures, applyBlock } from './builder.js';
export { referenceArchitecture, architectureOf, REFERENCE_ARCHITECTURES, type ReferenceName } from './reference.js';

for (const space of [mobileDetSpace('full'), mobileDetSpace('ibn')]) {
  if (!spaces.has(space.name)) spaces.register(space.name, space, space.description);
}
