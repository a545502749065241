#!/usr/bin/env python3
"""Dev-time only: writes test/fixtures/storybench/frechet.json, the Frechet distances that
numpy/scipy compute (the StoryBench reference recipe: scipy.linalg.sqrtm of the covariance
product, epsilon-regularised retry) for small seeded feature sets. Kiln's tests compare its
float64 JS implementation against these numbers. Needs Debian's python3-numpy and python3-scipy.

    python3 tools/storybench_frechet_fixture.py
"""
import json
import os

import numpy as np
from scipy import linalg


def frechet(truth, preds, eps=1e-6):
    mu1, mu2 = truth.mean(0), preds.mean(0)
    s1, s2 = np.cov(truth, rowvar=False), np.cov(preds, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    retried = False
    if not np.isfinite(covmean).all():
        retried = True
        off = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + off).dot(s2 + off))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)), retried


def main():
    rng = np.random.default_rng(20230822)
    cases = []

    def add(name, truth, preds):
        value, retried = frechet(truth, preds)
        cases.append({'name': name, 'truth': truth.round(6).tolist(), 'preds': preds.round(6).tolist(),
                      'expected': value, 'scipy_retried': retried})

    # Recompute from the rounded inputs the JSON actually stores.
    def r(x):
        return np.asarray(x.round(6))

    a = r(rng.normal(size=(40, 6)))
    b = r(rng.normal(loc=0.5, scale=1.5, size=(50, 6)))
    add('gaussian-6d', a, b)
    mix = rng.normal(size=(5, 5))
    a = r(rng.normal(size=(60, 5)) @ mix)
    b = r(rng.normal(size=(45, 5)) @ mix.T + 1.0)
    add('correlated-5d', a, b)
    a = r(rng.uniform(size=(30, 12)) * 10)
    b = r(rng.uniform(size=(30, 12)) * 10 + rng.normal(size=(30, 12)))
    add('uniform-12d', a, b)
    # Fewer samples than dimensions: singular covariances, as with few videos and wide features.
    a = r(rng.normal(size=(5, 10)))
    b = r(rng.normal(size=(7, 10)) * 2)
    add('rank-deficient-10d', a, b)
    out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'storybench', 'frechet.json')
    with open(out, 'w') as f:
        json.dump({'generator': 'tools/storybench_frechet_fixture.py (numpy %s, scipy %s)' % (np.__version__, __import__('scipy').__version__),
                   'cases': cases}, f)
    for c in cases:
        print(c['name'], c['expected'], 'retried' if c['scipy_retried'] else '')


if __name__ == '__main__':
    main()
