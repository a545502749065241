/**
 * Names of Kiln's fused kernels: one-pass replacements for tfjs composites that dominate training
 * time (activation gradients, batch normalization in training mode, the Adam update). A backend
 * may register them (native does); where one is missing, tfjs's composite runs as before.
 */
export const FUSED = {
  reluGrad: 'KilnReluGrad',
  relu6Grad: 'KilnRelu6Grad',
  clipGrad: 'KilnClipByValueGrad',
  batchNormTrain: 'KilnBatchNormTrain',
  batchNormTrainGrad: 'KilnBatchNormTrainGrad',
  adam: 'KilnAdam',
} as const;
