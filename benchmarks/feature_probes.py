#!/usr/bin/env python3
"""Where a tb_transfer model keeps or loses the signal: linear probes (scikit-learn logistic
regression, standardized features) on its features at each depth, computed by PyTorch from the
model's safetensors, scored on the validation split and the external site. A diagnosis, not a
test: README.md ("Without pretrained weights") quotes what it printed.

usage: feature_probes.py OUT MODEL[:PREFIXES] [MODEL[:PREFIXES] ...]

OUT is a tb_transfer --out folder (its split.json and synthetic/ or settings.json's test_dir).
Later MODELs override the keys that start with one of their comma-separated PREFIXES, so the
data-dependent initialization of a seed, which no run saves, can be put together from two cases
that froze complementary layers, e.g. OUT/runs/cl1/seed-42/model.safetensors (conv1 trained,
the rest as initialized) with OUT/runs/mid/seed-42/model.safetensors:features.0 (conv1 frozen).

It also shows what the rescaling target of the frozen FC1/FC2 does: their pre-activations are
standardized on the training images to mean MU (in standard deviations) before the ReLU, for
several MU, and probed again.
"""
import glob
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from safetensors_file import read_safetensors  # noqa: E402


def probe(train, y_train, others, c=0.01):
    scaler = StandardScaler().fit(train)
    fit = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(train), y_train)
    return [roc_auc_score(y, fit.decision_function(scaler.transform(x))) for x, y in others]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    torch.set_num_threads(2)
    out = sys.argv[1]
    state = {}
    for spec in sys.argv[2:]:
        path, _, prefixes = spec.partition(":")
        state.update({k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()
                      if not prefixes or any(k.startswith(p) for p in prefixes.split(","))})
    model = torchvision.models.alexnet(num_classes=1)
    model.load_state_dict(state)
    model.eval()

    split = json.load(open(os.path.join(out, "split.json")))
    test_dir = json.load(open(os.path.join(out, "settings.json")))["test_dir"]
    external = [{"path": p, "label": int(os.path.basename(p)[-5])} for p in sorted(glob.glob(test_dir + "/*.png"))]
    sets = {"train": split["train"], "validation": split["validation"], "external": external}
    preprocess = torchvision.transforms.Compose([  # thaw::data::Preprocess
        torchvision.transforms.Resize((224, 224)), torchvision.transforms.ToTensor(),
        torchvision.transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    depth, labels = {}, {}
    with torch.no_grad():
        for name, items in sets.items():
            x = torch.stack([preprocess(Image.open(i["path"]).convert("RGB")) for i in items])
            pool2 = model.features[:6](x)
            pool5 = model.avgpool(model.features[6:](pool2)).flatten(1)
            fc1 = model.classifier[:3](pool5)
            depth[name] = {"pool2 (6x6)": torch.nn.functional.adaptive_avg_pool2d(pool2, (6, 6)).flatten(1),
                           "pool5": pool5, "fc1": fc1, "fc2": model.classifier[3:6](fc1)}
            labels[name] = np.array([i["label"] for i in items])
    scored = [("validation", "external")]
    print("linear probe AUC (C=0.01)   validation  external")
    for key in depth["train"]:
        v, e = probe(depth["train"][key].numpy(), labels["train"],
                     [(depth[s][key].numpy(), labels[s]) for s in scored[0]])
        print(f"  {key:<25} {v:10.3f} {e:9.3f}")

    print("frozen FC1/FC2 standardized to mean MU before the ReLU")
    w1, w2 = model.classifier[1].weight.detach(), model.classifier[4].weight.detach()

    def standardized(pre, mu):  # statistics from the training images, as the init's rescaling does
        mean, sd = pre["train"].mean(0, keepdim=True), pre["train"].std(0, keepdim=True) + 1e-6
        return {s: torch.relu((p - mean) / sd + mu) for s, p in pre.items()}

    for mu in [-1.0, 0.0, 1.0, 2.0, 4.0]:
        fc1 = standardized({s: d["pool5"] @ w1.T for s, d in depth.items()}, mu)
        fc2 = standardized({s: h @ w2.T for s, h in fc1.items()}, mu)
        for key, h in (("fc1", fc1), ("fc2", fc2)):
            v, e = probe(h["train"].numpy(), labels["train"], [(h[s].numpy(), labels[s]) for s in scored[0]])
            print(f"  MU {mu:4.1f} {key:<17} {v:10.3f} {e:9.3f}")


if __name__ == "__main__":
    main()
