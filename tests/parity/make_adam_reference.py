#!/usr/bin/env python3
"""torch.optim.Adam + StepLR on given gradients: the references for thaw's optimizer test.

The optimizer alone, separated from the network, so that its arithmetic can be compared
element by element: both sides get the same gradient sequences, including the entries where a
network comparison is ill-conditioned (exact zeros, values far below and near eps, sign flips,
a gradient that appears after zero steps). Per configuration: options.json, params0.npy [K],
grads.npy [T, K] and expected.npy [T, K] (the parameters after each step; step t's gradient is
row t, and StepLR steps after every optimizer step). Usage: make_adam_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch

STEPS = 12
CONFIGS = {
    "paper": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, step_size=3, gamma=0.1),
    "decay": dict(lr=2e-4, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2, step_size=4, gamma=0.5),
}


def gradients(rng, size):
    """[STEPS, size] gradients: ordinary values and the awkward ones, each in its own columns."""
    g = rng.normal(0.0, 1e-3, (STEPS, size))
    g[:, 0:4] = 0.0                                         # never a gradient (a dead ReLU's weights)
    g[:, 4:8] = rng.choice([-1, 1], (STEPS, 4)) * 1e-12    # far below eps: eps decides the step
    g[:, 8:12] = rng.normal(0.0, 1e-8, (STEPS, 4))         # of eps's size: sqrt(v) and eps compete
    g[:, 12:16] = rng.normal(0.0, 1e2, (STEPS, 4))         # large
    g[:, 16:20] = np.where(np.arange(STEPS)[:, None] % 2 == 0, 1.0, -1.0) * 3e-4  # sign flips
    g[:5, 20:24] = 0.0                                      # zero, then a gradient from step 5
    return g.astype(np.float32)


def run(config, params0, grads):
    param = torch.nn.Parameter(torch.from_numpy(params0.copy()))
    options = {k: config[k] for k in ("lr", "betas", "eps", "weight_decay")}
    optimizer = torch.optim.Adam([param], foreach=False, **options)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config["step_size"], gamma=config["gamma"])
    after = []
    for g in grads:
        param.grad = torch.from_numpy(g.copy())
        optimizer.step()
        scheduler.step()
        after.append(param.detach().numpy().copy())
    return np.stack(after)


def main(out):
    rng = np.random.default_rng(2020)
    sizes = {"a": 64, "b": 29}  # two tensors: state must stay per tensor
    for name, config in CONFIGS.items():
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "options.json"), "w") as f:
            json.dump({**config, "betas": list(config["betas"]), "tensors": list(sizes)}, f, indent=1)
        for tensor, size in sizes.items():
            params0 = rng.normal(0.0, 0.05, size).astype(np.float32)
            grads = gradients(rng, size)
            np.save(os.path.join(folder, f"{tensor}.params0.npy"), params0)
            np.save(os.path.join(folder, f"{tensor}.grads.npy"), grads)
            np.save(os.path.join(folder, f"{tensor}.expected.npy"), run(config, params0, grads))
    print(f"wrote Adam references ({', '.join(CONFIGS)}) with torch {torch.__version__} to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
