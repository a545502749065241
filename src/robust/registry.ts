import { attacks } from './attacks.js';
import { deepfoolL2 } from './deepfool.js';
import { onManifoldPgd } from './on-manifold.js';
import { fgsm, pgdL2, pgdLinf } from './pgd.js';
import { apgdCe, apgdCeL1, apgdCeL2, apgdDlr, apgdDlrL1, apgdDlrL2, apgdT, apgdTL1, apgdTL2 } from './apgd.js';
import { square } from './square.js';
import { squareL2Attack } from './square-l2.js';
import { squareL1Attack } from './square-l1.js';
import { fabL1, fabL2, fabLinf, fabT, fabTL1, fabTL2 } from './fab.js';
import { autoAttackL1, autoAttackL2, autoAttackLinf } from './autoattack.js';

attacks.register('fgsm', fgsm, 'fast gradient sign method, one Linf step');
attacks.register('pgd-linf', pgdLinf, 'projected gradient descent in the Linf ball, random start');
attacks.register('pgd-l2', pgdL2, 'projected gradient descent in the L2 ball, random start');
attacks.register('deepfool-l2', deepfoolL2, 'DeepFool minimal L2 perturbation, clipped to eps');
attacks.register('on-manifold', onManifoldPgd, 'PGD in latent space; image moves at most eps in L2');
attacks.register('apgd-ce', apgdCe, 'APGD with the cross-entropy loss, Linf (AutoAttack)');
attacks.register('apgd-dlr', apgdDlr, 'APGD with the DLR loss, Linf');
attacks.register('apgd-t', apgdT, 'targeted APGD with the DLR loss over the top 9 other classes, Linf (AutoAttack)');
attacks.register('apgd-ce-l2', apgdCeL2, 'APGD with the cross-entropy loss, L2');
attacks.register('apgd-dlr-l2', apgdDlrL2, 'APGD with the DLR loss, L2');
attacks.register('apgd-t-l2', apgdTL2, 'targeted APGD with the DLR loss, L2');
attacks.register('apgd-ce-l1', apgdCeL1, 'L1-APGD (sparse steps, L1-ball-and-box projection, 3/2/1 eps schedule) with the cross-entropy loss');
attacks.register('apgd-dlr-l1', apgdDlrL1, 'L1-APGD with the DLR loss');
attacks.register('apgd-t-l1', apgdTL1, 'targeted L1-APGD with the DLR loss (AutoAttack L1: top 5 targets)');
attacks.register('square', square, 'Square attack, Linf: score-based, no gradients (AutoAttack: 5,000 queries)');
attacks.register('square-l2', squareL2Attack, 'Square attack, L2: score-based, pseudo-Gaussian squares, no gradients (AutoAttack: 5,000 queries)');
attacks.register('square-l1', squareL1Attack, 'Square attack, L1: L1 window patterns, L1-ball-and-box projection, no gradients (AutoAttack: 5,000 queries)');
attacks.register('fab', fabLinf, 'FAB, minimal-norm boundary attack, Linf; counts examples whose minimal perturbation is <= eps');
attacks.register('fab-t', fabT, 'targeted FAB over the top 9 other classes, Linf (AutoAttack)');
attacks.register('fab-l2', fabL2, 'FAB, minimal-norm boundary attack, L2');
attacks.register('fab-t-l2', fabTL2, 'targeted FAB over the top 9 other classes, L2');
attacks.register('fab-l1', fabL1, 'FAB, minimal-norm boundary attack, L1');
attacks.register('fab-t-l1', fabTL1, 'targeted FAB over the top 9 other classes, L1');
attacks.register('autoattack', autoAttackLinf, 'AutoAttack, Linf: standard = APGD-CE, APGD-T, FAB-T, Square in sequence on the points still robust');
attacks.register('autoattack-l2', autoAttackL2, 'AutoAttack, L2: standard = APGD-CE, APGD-T, FAB-T, Square in sequence on the points still robust');
attacks.register('autoattack-l1', autoAttackL1, 'AutoAttack, L1: standard = L1-APGD-CE (5 restarts), L1-APGD-T (5 targets), FAB-T, Square-L1');

export {
  attacks, lossGradient, marginLoss, fooled, l2Norms, projectL2, perturbationNorms,
  type Attack, type AttackStage, type ThreatNorm, type AttackOptions, type AttackResult, type Classifier, type ManifoldContext,
} from './attacks.js';
