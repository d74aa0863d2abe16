#!/usr/bin/env python3
"""scikit-learn's answers for thaw's ROC tests (Debian's python3-sklearn is the oracle).

For each case: scores and labels (.npy), a second scoring of the same cases (for paired
tests), sklearn.metrics.roc_curve with and without drop_intermediate, and roc_auc_score.
Also Python's statistics.NormalDist quantiles for thaw's normal_quantile, and DeLong's
intervals and paired test computed here from midranks (Sun & Xu 2014) with scipy.stats.norm,
so that thaw's p-values and interval ends have an oracle that shares none of its code.
Usage: make_roc_reference.py OUT_DIR
"""
import json
import os
import statistics
import sys

import numpy as np
import sklearn
from scipy.special import expit, logit
from scipy.stats import norm, rankdata
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


def delong_components(scores, y):
    """AUC and the structural components V10 (positives) and V01 (negatives) from midranks:
    Sun & Xu (2014), eqs. 3-5, a different route from thaw's sort-and-group pass."""
    x, z = scores[y == 1], scores[y == 0]
    m, n = len(x), len(z)
    ranks = rankdata(np.r_[x, z])
    auc = (ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (ranks[:m] - rankdata(x)) / n
    v01 = 1 - (ranks[m:] - rankdata(z)) / m
    return auc, v10, v01


def delong_reference(scores, scores_b, y, levels):
    """DeLong et al. (1988): the single-AUC interval (Wald, clipped to [0, 1], and on the logit
    scale), and the paired test of AUC(a) = AUC(b) with the interval of the difference."""
    auc_a, v10_a, v01_a = delong_components(scores, y)
    auc_b, v10_b, v01_b = delong_components(scores_b, y)
    m, n = len(v10_a), len(v01_a)
    cov = np.cov(np.vstack([v10_a, v10_b])) / m + np.cov(np.vstack([v01_a, v01_b])) / n
    se_a = np.sqrt(cov[0, 0])
    difference = auc_a - auc_b
    se_difference = np.sqrt(max(0.0, cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
    z = 0.0 if difference == 0 else difference / se_difference
    p = 2 * norm.sf(abs(z))  # two-sided
    intervals = []
    for level in levels:
        q = norm.ppf(0.5 + level / 2)
        wald = [max(0.0, auc_a - q * se_a), min(1.0, auc_a + q * se_a)]
        if 0 < auc_a < 1:  # the delta method on logit(AUC)
            half = q * se_a / (auc_a * (1 - auc_a))
            on_logit = [expit(logit(auc_a) - half), expit(logit(auc_a) + half)]
        else:
            on_logit = wald
        intervals.append({"level": level, "auc": wald, "auc_logit": on_logit,
                          "difference": [difference - q * se_difference, difference + q * se_difference]})
    return {"auc": auc_a, "variance": cov[0, 0], "difference": difference, "z": z, "p_value": p,
            "intervals": intervals}


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
        scores_b = (scores + rng.standard_normal(len(y)) * 0.7).astype(np.float64)
        np.save(os.path.join(d, "scores_b.npy"), scores_b)
        with open(os.path.join(d, "delong.json"), "w") as f:
            json.dump(delong_reference(scores.astype(np.float64), scores_b, y, [0.8, 0.95, 0.99]), f)
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
