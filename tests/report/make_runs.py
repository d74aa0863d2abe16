#!/usr/bin/env python3
"""An experiment's output folder for thaw's report tests, as the runner (tb_transfer) leaves it:
settings.json, runs/<slug>/seed-<seed>/run.json for nine cases x two seeds, figures/ with two
PNGs and figures.json, and timing.json. Scores are drawn (numpy, seeded) so the cases' AUCs
differ; one case's external images come in another order (the report must pair them by name),
one case's second seed was scored on other images (the report must refuse to pair it).
Usage: make_runs.py OUT
"""
import json
import os
import sys

import numpy as np
from PIL import Image

CASES = [("mid", "mid-level FE", "FFTTF", 1.6), ("cl3", "CL3-FE", "FFTFF", 1.2), ("cl4", "CL4-FE", "FFFTF", 1.3),
         ("finetune", "fine-tuning", "TTTTT", 1.4), ("low", "low-level FE", "TTFFF", 0.7),
         ("cl1", "CL1-FE", "TFFFF", 0.5), ("cl2", "CL2-FE", "FTFFF", 0.9), ("high", "high-level FE", "FFFFT", 1.0),
         ("hm", "H-M level FE", "FFTTT", 1.5)]
SEEDS = [7, 42]
SHUFFLED = "hm"          # external set written in another order
UNPAIRED = ("cl1", 42)   # scored on different external images


def scored(rng, labels, files, separation, order=None):
    scores = rng.standard_normal(len(labels)) + separation * labels
    if order is None:
        order = np.arange(len(labels))
    return {"scores": [float(s) for s in scores[order]], "labels": [int(y) for y in labels[order]],
            "files": [files[i] for i in order]}


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2020)
    # The same images for every case (the report pairs them), drawn once per seed.
    sets = {}
    for seed in SEEDS:
        r = np.random.default_rng(seed)
        sets[seed] = {"validation": (r.integers(0, 2, 60), [f"val_{i:03d}.png" for i in range(60)]),
                      "external": (r.integers(0, 2, 90), [f"ext_{i:03d}.png" for i in range(90)])}
    for slug, name, pattern, separation in CASES:
        for seed in SEEDS:
            epochs = 5 + (len(slug) % 4)
            t = np.arange(1, epochs + 1)
            train = 0.7 * np.exp(-t / (2 + separation)) + 0.05 * rng.random(epochs)
            validation = 0.6 * np.exp(-t / 3) + 0.02 * (t - epochs / 2) ** 2 / epochs + 0.1 * rng.random(epochs)
            history = [{"epoch": int(e), "train_loss": float(a), "validation_loss": float(b), "lr": 1e-4 * 0.9 ** e,
                        "seconds": float(1 + rng.random())} for e, a, b in zip(t, train, validation)]
            v_labels, v_files = sets[seed]["validation"]
            e_labels, e_files = sets[seed]["external"]
            order = rng.permutation(len(e_labels)) if slug == SHUFFLED else None
            if (slug, seed) == UNPAIRED:
                e_files = [f.replace("ext_", "other_") for f in e_files]
            run = {"case": name, "slug": slug,
                   "type": "AlexNet<" + ", ".join("Train" if c == "T" else "Freeze" for c in pattern) + ">",
                   "seed": seed, "trainable_parameters": 1000 * (pattern.count("T") + 1) + len(slug),
                   "training_seconds": float(10 + 5 * rng.random()), "prefix_seconds": float(rng.random()),
                   "history": history,
                   "validation": scored(rng, v_labels, v_files, separation),
                   "external": scored(rng, e_labels, e_files, separation * 0.8, order)}
            folder = os.path.join(out, "runs", slug, f"seed-{seed}")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "run.json"), "w") as f:
                json.dump(run, f)
    os.makedirs(os.path.join(out, "figures"), exist_ok=True)
    figures = []
    for k, slug in enumerate(["mid", "finetune"]):
        gradient = np.linspace(0, 255, 320 * 200).reshape(200, 320).astype(np.uint8)
        Image.fromarray(np.dstack([gradient, np.roll(gradient, 60 * (k + 1)), 255 - gradient])).save(
            os.path.join(out, "figures", f"cl3_{slug}.png"))
        figures.append({"title": f"CL3 projections, {slug}", "file": f"figures/cl3_{slug}.png", "case": slug})
    with open(os.path.join(out, "figures", "figures.json"), "w") as f:
        json.dump(figures, f)
    with open(os.path.join(out, "timing.json"), "w") as f:
        json.dump({"total_seconds": 321.5, "prefix": {"shared_seconds": 40.0, "per_case_seconds": 120.0,
                                                      "none_seconds": 300.0},
                   "cases": {slug: 30.0 + k for k, (slug, *_) in enumerate(CASES)}}, f)
    with open(os.path.join(out, "settings.json"), "w") as f:
        json.dump({"epochs": 8, "batch": 16, "lr": 1e-4, "seeds": SEEDS, "data": {"train": "synthetic <train>",
                                                                                   "external": "synthetic"},
                   "weights": "random & <untrained>", "version": "0.1.0"}, f)


if __name__ == "__main__":
    main(sys.argv[1])
