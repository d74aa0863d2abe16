#!/usr/bin/env python3
"""Checks the report thaw wrote into OUT against oracles computed here from the run.json files:
scikit-learn's roc_auc_score and roc_curve (AUC, Youden's point), the numpy/scipy DeLong of
tests/metrics/make_roc_reference.py (interval, paired p-value), numpy for the means and SDs over
seeds and the convergence epoch; history.csv against the histories; every SVG parses as XML and
holds one polyline per case.
Usage: check_results.py OUT
"""
import csv
import glob
import json
import math
import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "metrics"))
from make_roc_reference import delong_reference  # noqa: E402

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def close(a, b, tol=1e-9):
    return a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b))


def youden(scores, labels):
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    j = tpr - fpr
    best = int(np.argmax(j))  # the first maximum: the highest threshold, as thaw breaks ties
    return thresholds[best], tpr[best], 1 - fpr[best]


def paired_reference(case_set, ref_set):
    """The reference's scores in the case's image order, or None when the images differ."""
    where = {f: i for i, f in enumerate(ref_set["files"])}
    if sorted(where) != sorted(case_set["files"]):
        return None
    return np.array([ref_set["scores"][where[f]] for f in case_set["files"]])


def main(out):
    results = json.load(open(os.path.join(out, "results.json")))
    reference = results["reference"]
    runs = {}
    for path in glob.glob(os.path.join(out, "runs", "*", "seed-*", "run.json")):
        r = json.load(open(path))
        runs[(r["slug"], r["seed"])] = r
    check(len(results["runs"]) == len(runs), f"results.json has {len(results['runs'])} runs, the folder {len(runs)}")

    for got in results["runs"]:
        run = runs[(got["slug"], got["seed"])]
        name = f"{got['slug']} seed {got['seed']}"
        for which in ("validation", "external"):
            s, y = np.array(run[which]["scores"]), np.array(run[which]["labels"])
            g = got[which]
            check(close(g["auc"], roc_auc_score(y, s)), f"{name} {which} AUC {g['auc']} vs sklearn {roc_auc_score(y, s)}")
            d = delong_reference(s, s, y, [0.95])
            lo, hi = d["intervals"][0]["auc"]
            check(close(g["ci95"][0], lo, 1e-7) and close(g["ci95"][1], hi, 1e-7), f"{name} {which} CI {g['ci95']} vs {lo, hi}")
            threshold, sensitivity, specificity = youden(s, y)
            check(close(g["youden"]["sensitivity"], sensitivity) and close(g["youden"]["specificity"], specificity),
                  f"{name} {which} Youden {g['youden']} vs sklearn {sensitivity, specificity}")
            check(close(g["youden"]["threshold"], threshold), f"{name} {which} threshold {g['youden']['threshold']} vs {threshold}")
            if which == "external":
                t = got["validation"]["youden"]["threshold"]
                check(close(g["at_validation_threshold"]["sensitivity"], np.mean(s[y == 1] >= t)) and
                      close(g["at_validation_threshold"]["specificity"], np.mean(s[y == 0] < t)),
                      f"{name} external at the validation threshold")
            p = g["vs_reference"]["p_value"]
            if got["slug"] == reference:
                check(p is None and g["vs_reference"]["note"] == "reference", f"{name}: the reference has no p")
                continue
            partner = runs[(reference, got["seed"])][which]
            ref_scores = paired_reference(run[which], partner)
            if ref_scores is None:
                check(p is None and "not paired" in g["vs_reference"]["note"], f"{name} {which}: unpaired sets got p={p}")
            else:
                expected = delong_reference(s, ref_scores, y, [0.95])["p_value"]
                check(close(p, expected, 1e-7), f"{name} {which} p {p} vs numpy DeLong {expected}")
        losses = [e["validation_loss"] for e in run["history"]]
        lowest = min(losses)
        first = next(e["epoch"] for e in run["history"] if e["validation_loss"] <= lowest + 0.05 * abs(lowest))
        check(got["epochs_to_converge"] == first, f"{name} epochs to converge {got['epochs_to_converge']} vs {first}")

    for case in results["cases"]:
        seeds = case["seeds"]
        for which in ("validation", "external"):
            aucs = [roc_auc_score(runs[(case["slug"], k)][which]["labels"], runs[(case["slug"], k)][which]["scores"])
                    for k in seeds]
            g = case[which]
            check(close(g["auc_mean"], np.mean(aucs)) and close(g["auc_sd"], np.std(aucs, ddof=1)),
                  f"{case['slug']} {which} mean/SD {g['auc_mean']}, {g['auc_sd']} vs {np.mean(aucs)}, {np.std(aucs, ddof=1)}")
            ps = [r[which]["vs_reference"]["p_value"] for r in results["runs"] if r["slug"] == case["slug"]]
            ps = [p for p in ps if p is not None]
            check((g["p_vs_reference_max"] is None) == (not ps) and (not ps or close(g["p_vs_reference_max"], max(ps))),
                  f"{case['slug']} {which} largest p")
    unpaired = [c for c in results["cases"] if c["slug"] == "cl1"][0]["external"]
    check("seed 42" in unpaired["note"] and "not paired" in unpaired["note"], f"cl1's note: {unpaired['note']}")

    with open(os.path.join(out, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    expected_rows = [(r["slug"], r["seed"], e) for r in runs.values() for e in r["history"]]
    check(len(rows) == len(expected_rows), f"history.csv has {len(rows)} rows, the runs {len(expected_rows)} epochs")
    by_key = {(row["case"], int(row["seed"]), int(row["epoch"])): row for row in rows}
    for slug, seed, e in expected_rows:
        row = by_key.get((slug, seed, e["epoch"]))
        check(row is not None and all(close(float(row[k]), e[k], 1e-15) for k in
                                      ("train_loss", "validation_loss", "lr", "seconds")),
              f"history.csv {slug} seed {seed} epoch {e['epoch']}")

    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == len(results["cases"]) + len(runs), f"results.csv has {len(rows)} rows")

    for svg in ("roc_validation.svg", "roc_external.svg", "loss_validation.svg", "loss_train.svg"):
        root = ET.parse(os.path.join(out, svg)).getroot()
        lines = root.findall(".//{http://www.w3.org/2000/svg}polyline")
        check(len(lines) == len(results["cases"]), f"{svg}: {len(lines)} polylines for {len(results['cases'])} cases")
        names = [line.find("{http://www.w3.org/2000/svg}title").text for line in lines]
        check(all(any(c["case"] in n for n in names) for c in results["cases"]), f"{svg}: a case has no curve")

    for f in failures:
        print("FAIL -", f)
    print(f"{len(results['runs'])} runs, {len(results['cases'])} cases checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
