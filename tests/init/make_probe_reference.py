#!/usr/bin/env python3
# tests/init/make_probe_reference.py — scikit-learn as the oracle for thaw::train::fit_logistic:
# seeded feature sets (raw float32, shaped like ReLU outputs: non-negative, correlated, one
# constant column) with labels, and the weights and intercept of StandardScaler +
# LogisticRegression(C) mapped back to the raw features, as thaw writes them into the head; and
# of LogisticRegression(C) on the raw features (thaw's standardize = false).
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(11)


def relu_features(n, d, rank):
    latent = rng.normal(size=(n, rank))
    x = np.maximum(latent @ rng.normal(size=(rank, d)) / np.sqrt(rank) + 0.3, 0)
    x[:, 3] = 0.7  # a constant feature: standardised to nothing, weight 0
    return x, latent


meta = {}
# More samples than features; and more features than samples (the head's case: 4096 features of
# a few hundred images), where only the penalty makes the solution unique.
for name, n, d, c, standardize in (("tall", 400, 40, 0.05, True), ("wide", 120, 600, 0.01, True),
                                   ("wide-raw", 120, 600, 0.01, False)):
    x, latent = relu_features(n, d, rank=12)
    y = (latent[:, 0] + 0.5 * latent[:, 1] + rng.normal(0, 0.8, n) > 0).astype(np.float32)
    x = x.astype(np.float32)
    scaler = StandardScaler(with_std=standardize).fit(x.astype(np.float64))
    fit = LogisticRegression(C=c, tol=1e-12, max_iter=100000).fit(scaler.transform(x.astype(np.float64)), y)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0) if standardize else 1.0
    coef = np.where(np.std(x, axis=0) > 1e-6, fit.coef_[0] / scale, 0.0)
    x.tofile(out / f"{name}.f32")
    y.tofile(out / f"{name}.labels.f32")
    meta[name] = {"rows": n, "dims": d, "c": c, "standardize": standardize, "weight": coef.tolist(),
                  "bias": float(fit.intercept_[0] - coef @ scaler.mean_)}
(out / "probe.json").write_text(json.dumps(meta))
