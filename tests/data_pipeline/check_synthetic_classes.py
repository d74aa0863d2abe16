"""Checks that thaw's synthetic classes differ as synthetic.hpp documents: class 1 has findings in the upper
lung zones. scikit-learn is the oracle; thaw_data_tests "[for-python]" wrote the images just before.

For each site, a cross-validated logistic regression on 12 x 12 box-downsampled images must separate the
classes from the upper half of the image (AUC > 0.8) and not from the lower half (AUC < 0.75). Over
generator seeds 1-3 the upper half gave 0.94-0.98 and the lower half 0.44-0.60; a label-blind generator
gives 0.5 +- 0.033 (the AUC's null standard deviation for 150 + 150 images), so both bounds sit far from it.
"""
import glob
import os
import sys

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SIDE = 12


def cross_validated_auc(features, labels):
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, solver="liblinear", random_state=0))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_val_predict(model, features.reshape(len(labels), -1), labels, cv=folds, method="decision_function")
    return roc_auc_score(labels, scores)


root = sys.argv[1]
failures = []
sites = sorted(glob.glob(os.path.join(root, "*", "CXR_png")))
assert len(sites) == 2, f"expected two synthetic sites under {root}, found {sites}"
for site in sites:
    files = sorted(glob.glob(os.path.join(site, "*.png")))
    labels = np.array([int(os.path.splitext(f)[0][-1]) for f in files])  # NLM names end in _0 or _1
    images = np.stack([np.asarray(Image.open(f).convert("L").resize((SIDE, SIDE), Image.BOX), np.float64) / 255
                       for f in files])
    upper = cross_validated_auc(images[:, : SIDE // 2], labels)
    lower = cross_validated_auc(images[:, SIDE // 2 :], labels)
    print(f"{site}: {len(files)} images, {labels.sum()} class 1; AUC upper half {upper:.3f}, lower half {lower:.3f}")
    if not upper > 0.8:
        failures.append(f"{site}: the upper zones do not tell the classes apart (AUC {upper:.3f})")
    if not lower < 0.75:
        failures.append(f"{site}: the lower zones tell the classes apart (AUC {lower:.3f}); findings belong above")
for failure in failures:
    print("FAILED:", failure)
sys.exit(1 if failures else 0)
