import { attacks } from './attacks.js';
import { deepfoolL2 } from './deepfool.js';
import { onManifoldPgd } from './on-manifold.js';
import { fgsm, pgdL2, pgdLinf } from './pgd.js';

attacks.register('fgsm', fgsm, 'fast gradient sign method, one Linf step');
attacks.register('pgd-linf', pgdLinf, 'projected gradient descent in the Linf ball, random start');
attacks.register('pgd-l2', pgdL2, 'projected gradient descent in the L2 ball, random start');
attacks.register('deepfool-l2', deepfoolL2, 'DeepFool minimal L2 perturbation, clipped to eps');
attacks.register('on-manifold', onManifoldPgd, 'PGD in latent space; image moves at most eps in L2');

export {
  attacks, lossGradient, marginLoss, fooled, l2Norms, projectL2,
  type Attack, type AttackOptions, type AttackResult, type Classifier, type ManifoldContext,
} from './attacks.js';
