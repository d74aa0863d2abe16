#!/usr/bin/env python3
"""scikit-learn's answers for thaw's ROC tests (Debian's python3-sklearn is the oracle).

For each case: scores and labels (.npy), a second scoring of the same cases (for paired
tests), sklearn.metrics.roc_curve with and without drop_intermediate, and roc_auc_score.
Also Python's statistics.NormalDist quantiles for thaw's normal_quantile.
Usage: make_roc_reference.py OUT_DIR
"""
import json
import os
import statistics
import sys

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score, roc_curve


def cases(rng):
    y = rng.integers(0, 2, 300)
    yield "random", rng.standard_normal(300) + y, y
    y = rng.integers(0, 2, 500)
    yield "integer_ties", rng.integers(0, 6, 500).astype(np.float64) + y, y  # a 6-point rating scale
    y = np.r_[np.zeros(40, int), np.ones(25, int)]
    yield "all_tied", np.full(65, 0.3), y
    y = np.r_[np.zeros(30, int), np.ones(20, int)]
    yield "separated", np.r_[rng.uniform(0, 1, 30), rng.uniform(2, 3, 20)], y
    y = rng.integers(0, 2, 100000)
    yield "large", rng.standard_normal(100000) * 2 + y, y
    # Hanley & McNeil (1982), Radiology 143:29-36, Table I: ratings 1-5 of 58 normal and 51
    # abnormal cases; the paper gives the area as 0.893.
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    scores = np.r_[np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)].astype(float)
    yield "hanley_mcneil", scores, np.r_[np.zeros(58, int), np.ones(51, int)]


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2020)
    names = []
    for name, scores, y in cases(rng):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "scores.npy"), scores.astype(np.float64))
        np.save(os.path.join(d, "labels.npy"), y.astype(np.int64))
        # A second, correlated scoring of the same cases.
        np.save(os.path.join(d, "scores_b.npy"), (scores + rng.standard_normal(len(y)) * 0.7).astype(np.float64))
        for drop in (True, False):
            fpr, tpr, thr = roc_curve(y, scores, drop_intermediate=drop)
            suffix = "drop" if drop else "all"
            np.save(os.path.join(d, f"fpr_{suffix}.npy"), fpr)
            np.save(os.path.join(d, f"tpr_{suffix}.npy"), tpr)
            np.save(os.path.join(d, f"thresholds_{suffix}.npy"), thr)
        np.save(os.path.join(d, "auc.npy"), np.array([roc_auc_score(y, scores)]))
        names.append(name)
    levels = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.999999]
    quantiles = {str(p): statistics.NormalDist().inv_cdf(p) for p in
                 [1e-12, 1e-6, 0.001, 0.02, 0.0243, 0.0245, 0.3, 0.5, 0.7, 0.975, 0.99, 1 - 1e-9]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"cases": names, "sklearn": sklearn.__version__, "quantiles": quantiles, "levels": levels}, f)
    print(f"wrote sklearn {sklearn.__version__} ROC references to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
