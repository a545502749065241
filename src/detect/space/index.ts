/** The MobileDets search space: IBN, fused IBN and Tucker blocks, plans, costs, backbone builder and reference architectures. */
export {
  mobileDetSpace, mobileDetPlan, mobileDetCosts, mobileDetFeatures, blockCosts, blockOps, opLabel, parseOp, checkLayout, stageChannels, scaled,
  MOBILEDET_LAYOUT, TINY_LAYOUT, DET_LAYOUTS, KERNELS, EXPANSIONS, TUCKER_RATIOS, FILTER_MULTIPLIERS, SKIP, SPACE_NAMES,
  type DetLayout, type DetStage, type BlockOp, type SpaceVariant, type MobileDetSpace, type DetBlockPlan, type MobileDetPlan,
} from './space.js';
export { buildBackbone, backboneFeatures, applyBlock } from './builder.js';
export { referenceArchitecture, REFERENCE_ARCHITECTURES, type ReferenceName } from './reference.js';
