#!/usr/bin/env python3
"""PyTorch references for thaw's training parity test: the nine freeze patterns of the paper.

In three steps, CTest ordering them:
1. make_training_reference.py OUT: one set of seeded weights (He-normal as
   make_alexnet_reference.py, the head scaled by 0.01) and one batch of 2 images with labels;
   for each case (freeze pattern via requires_grad, dropout off, train mode) 10 Adam steps (lr
   1e-4, L2 weight decay 1e-3) with StepLR(step_size=3, gamma=0.1) stepped after each one: the 10
   losses, and the trainable tensors at step RESTART (after one decay of the rate), where thaw
   restarts from PyTorch's parameters.
2. thaw's test "[write-decisions]" runs one pass at the initial weights (OUT/case<i>/pass0), one
   at the restart point (OUT/case<i>/pass<RESTART>) and one mid-level pass with dropout on
   (OUT/dropout), and writes what it decided in each: every ReLU's mask, every max-pool's
   switches, every dropout mask.
3. make_training_reference.py --through-decisions OUT: for each of those passes, PyTorch's loss
   and trainable gradients computed through thaw's decisions, and how many of them disagree with
   PyTorch's own by more than float noise (the test requires none).

Why through thaw's decisions: thaw and PyTorch sum in different orders (and each CPU family's
kernels in others again), so a pre-activation within rounding of zero, or two maxima of a pool
window within rounding of each other, can be decided either way; one such flip moves a gradient
by a whole unit's contribution (0.9% was seen). With the decisions shared, as dropout masks are,
the gradients differ by rounding only, on every CPU; the disagreement count keeps the decisions
themselves tested.

The parameters after the free-running steps are deliberately not compared: Adam moves every
entry by about lr whatever its gradient's size, so entries whose gradient is at rounding level
take steps whose sign is noise; two PyTorch builds (AVX2 and AVX-512 kernels) already disagree
there by up to 6% of a tensor's largest value.
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import torchvision

from make_alexnet_reference import reinitialise  # this script's folder is on sys.path

# CL1..CL5 of each case (T = trains), in thaw::paper::cases order; FC3 always trains.
CASES = [("mid-level FE", "FFTTF"), ("CL3-FE", "FFTFF"), ("CL4-FE", "FFFTF"), ("fine-tuning", "TTTTT"),
         ("low-level FE", "TTFFF"), ("CL1-FE", "TFFFF"), ("CL2-FE", "FTFFF"), ("high-level FE", "FFFFT"),
         ("H-M level FE", "FFTTT")]
CONV_KEYS = [f"features.{i}" for i in (0, 3, 6, 8, 10)]  # CL1..CL5 in torchvision's `features`
RESTART = 5
DROPOUT_P = 0.5  # thaw's Dropout<0.5>, torchvision's default
# A decision counts as a disagreement when PyTorch's own is clear by more than this fraction of
# the layer's largest input: the forward parity test's tolerance.
MARGIN = 1e-4


def base_model():
    model = torchvision.models.alexnet(num_classes=1)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0  # dropout off, as thaw's set_dropout(false)
    return model.train()


def trainable_keys(pattern):
    keys = [CONV_KEYS[i] for i, t in enumerate(pattern) if t == "T"] + ["classifier.6"]
    return [f"{k}.{p}" for k in keys for p in ("weight", "bias")]


def main(out):
    torch.manual_seed(2020)
    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(2020)
    base = base_model()
    reinitialise(base, generator)
    with torch.no_grad():  # small initial logits: a loss near log 2 and smooth Adam steps
        base.classifier[6].weight.mul_(0.01)
    os.makedirs(os.path.join(out, "weights"), exist_ok=True)
    for key, tensor in base.state_dict().items():
        np.save(os.path.join(out, "weights", key + ".npy"), tensor.numpy())
    x = torch.randn(2, 3, 224, 224, generator=generator)
    np.save(os.path.join(out, "input.npy"), x.numpy())
    y = torch.tensor([[0.0], [1.0]])
    np.save(os.path.join(out, "labels.npy"), y.numpy().ravel())
    loss_fn = torch.nn.BCEWithLogitsLoss()
    summary = {}
    for index, (name, pattern) in enumerate(CASES):
        case_dir = os.path.join(out, f"case{index}")
        os.makedirs(case_dir, exist_ok=True)
        model = copy.deepcopy(base)
        keys = trainable_keys(pattern)
        for key, p in model.named_parameters():
            p.requires_grad_(key in keys)
        params = dict(model.named_parameters())
        optimizer = torch.optim.Adam([params[k] for k in keys], lr=1e-4, betas=(0.9, 0.999), eps=1e-8,
                                     weight_decay=1e-3)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.1)
        steps = []
        for step in range(10):
            if step == RESTART:
                for key in keys:
                    np.save(os.path.join(case_dir, f"at{step}.{key}.npy"), params[key].detach().numpy())
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            steps.append(loss.item())
        summary[name] = {"index": index, "step_losses": steps, "trainable": keys, "restart_step": RESTART}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote training references for {len(CASES)} cases with torch {torch.__version__} to {out}")


def forward_through(model, x, folder):
    """The model's forward pass with thaw's decisions from `folder`: each ReLU multiplies by
    thaw's mask, each max-pool takes the input at thaw's switch, each dropout whose mask is there
    applies it. Returns the logits and, per decision layer, the number of disagreements."""
    disagreements = {}

    def load(kind, key):
        return torch.from_numpy(np.load(os.path.join(folder, f"{kind}.{key}.npy")))

    def through(key, module, h):
        if isinstance(module, torch.nn.ReLU):
            mask = load("mask", key).reshape(h.shape).to(h.dtype)
            with torch.no_grad():
                clear = h.abs() > MARGIN * h.abs().max()
                disagreements[key] = int(((h > 0) != (mask > 0)).logical_and(clear).sum())
            return h * mask
        if isinstance(module, torch.nn.MaxPool2d):
            switches = load("switches", key).long()
            taken = h.flatten(2).gather(2, switches.flatten(2)).reshape(switches.shape)
            with torch.no_grad():
                disagreements[key] = int((module(h) - taken > MARGIN * h.abs().max()).sum())
            return taken
        if isinstance(module, torch.nn.Dropout) and os.path.exists(os.path.join(folder, f"mask.{key}.npy")):
            return h * load("mask", key).reshape(h.shape).to(h.dtype) / (1 - DROPOUT_P)
        return module(h)

    h = x
    for i, module in enumerate(model.features):
        h = through(f"features.{i}", module, h)
    h = torch.flatten(model.avgpool(h), 1)
    for i, module in enumerate(model.classifier):
        h = through(f"classifier.{i}", module, h)
    return h, disagreements


def gradients_through(model, keys, x, y, folder):
    """Loss and gradients of `keys` through thaw's decisions in `folder`, written there."""
    params = dict(model.named_parameters())
    for key, p in params.items():
        p.requires_grad_(key in keys)
        p.grad = None
    logits, disagreements = forward_through(model, x, folder)
    loss = torch.nn.BCEWithLogitsLoss()(logits, y)
    loss.backward()
    for key in keys:
        np.save(os.path.join(folder, f"grad.{key}.npy"), params[key].grad.numpy())
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump({"loss": loss.item(), "trainable": keys, "disagreements": disagreements}, f, indent=1)


def through_decisions(out):
    torch.set_num_threads(2)
    initial = {k: torch.from_numpy(np.load(os.path.join(out, "weights", k + ".npy")))
               for k in base_model().state_dict()}
    x = torch.from_numpy(np.load(os.path.join(out, "input.npy")))
    y = torch.from_numpy(np.load(os.path.join(out, "labels.npy"))).reshape(-1, 1)
    model = base_model()
    for index, (name, pattern) in enumerate(CASES):
        case_dir = os.path.join(out, f"case{index}")
        keys = trainable_keys(pattern)
        model.load_state_dict(initial)
        gradients_through(model, keys, x, y, os.path.join(case_dir, "pass0"))
        model.load_state_dict({**initial, **{k: torch.from_numpy(np.load(os.path.join(case_dir, f"at{RESTART}.{k}.npy")))
                                             for k in keys}})
        gradients_through(model, keys, x, y, os.path.join(case_dir, f"pass{RESTART}"))
    model.load_state_dict(initial)
    gradients_through(model, trainable_keys(CASES[0][1]), x, y, os.path.join(out, "dropout"))
    print(f"wrote PyTorch's gradients through thaw's decisions for {2 * len(CASES) + 1} passes under {out}")


if __name__ == "__main__":
    if sys.argv[1] == "--through-decisions":
        through_decisions(sys.argv[2])
    else:
        main(sys.argv[1])
