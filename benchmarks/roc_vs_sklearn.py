#!/usr/bin/env python3
"""thaw's roc_auc + delong_ci against scikit-learn's roc_auc_score on the same 1e6 scores,
same machine, same run (best of N each). thaw's time includes the DeLong interval, which
scikit-learn does not compute at all.

usage: roc_vs_sklearn.py ROC_AUC_TIMING [--n 1000000] [--repeats 7]
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
from sklearn.metrics import roc_auc_score

from timing import best_of  # this script's folder is on sys.path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(2020)
    labels = rng.integers(0, 2, args.n).astype(np.int64)
    directory = tempfile.mkdtemp(prefix="thaw_roc_")
    print(f"{'scores':>14} {'sklearn s':>10} {'thaw auc s':>11} {'thaw auc+CI s':>14} {'ratio (auc+CI)':>15}")
    for kind, scores in (("continuous", rng.standard_normal(args.n) + labels),
                         ("ties (0..99)", rng.integers(0, 100, args.n).astype(np.float64) + 5 * labels)):
        np.save(os.path.join(directory, "scores.npy"), scores)
        np.save(os.path.join(directory, "labels.npy"), labels)
        expected = roc_auc_score(labels, scores)
        best = best_of(args.repeats, lambda: roc_auc_score(labels, scores))
        out = subprocess.run([args.binary, os.path.join(directory, "scores.npy"), os.path.join(directory, "labels.npy"),
                              str(args.repeats)], check=True, capture_output=True, text=True).stdout
        thaw = json.loads(out)
        assert abs(thaw["auc"] - expected) < 1e-12, (thaw["auc"], expected)
        print(f"{kind:>14} {best:10.4f} {thaw['auc_seconds']:11.4f} {thaw['auc_and_ci_seconds']:14.4f} "
              f"{best / thaw['auc_and_ci_seconds']:14.1f}x")


if __name__ == "__main__":
    main()
