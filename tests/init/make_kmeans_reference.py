#!/usr/bin/env python3
# tests/init/make_kmeans_reference.py — scikit-learn's k-means as the oracle for thaw's: writes
# seeded point sets (raw float32) and the lowest inertia KMeans finds on them (10 restarts), which
# thaw's k-means (one k-means++ start) must come close to.
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)

sets = {}
# Well separated blobs: any decent k-means finds the planted clusters.
centres = rng.normal(0, 6, size=(8, 16))
sets["blobs"] = (np.repeat(centres, 75, axis=0) + rng.normal(0, 1, size=(600, 16)), 8)
# No structure at all: many local optima, a test of the seeding and the Lloyd steps.
sets["uniform"] = (rng.uniform(-1, 1, size=(500, 10)), 12)
# Unit-length vectors, as the initialization clusters them (whitened patches scaled to length 1).
v = rng.normal(0, 1, size=(800, 24)) * np.linspace(3, 0.3, 24)
sets["sphere"] = (v / np.linalg.norm(v, axis=1, keepdims=True), 20)

meta = {}
for name, (x, k) in sets.items():
    x = x.astype(np.float32)
    x.tofile(out / f"{name}.f32")
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x.astype(np.float64))
    meta[name] = {"rows": int(x.shape[0]), "dims": int(x.shape[1]), "k": int(k), "sklearn_inertia": float(km.inertia_)}
(out / "kmeans.json").write_text(json.dumps(meta, indent=1))
