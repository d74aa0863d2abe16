#!/usr/bin/env python3
"""PyTorch references for thaw's training parity test: the nine freeze patterns of the paper.

One set of seeded weights (He-normal as make_alexnet_reference.py, the head scaled by 0.01)
and one batch of 2 images with labels (redrawn until no max-pool window has a near-tie); for
each case (freeze pattern via requires_grad, dropout off, train mode): the BCEWithLogits loss and every trainable tensor's gradient after one backward pass, then the
trainable tensors after 10 Adam steps (lr 1e-4) with StepLR(step_size=3, gamma=0.1) stepped
after each one, and the 10 losses. Usage: make_training_reference.py OUT_DIR
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
CONV_KEYS = ["features.0", "features.3", "features.6", "features.8", "features.10"]


def base_model(generator):
    model = torchvision.models.alexnet(num_classes=1)
    reinitialise(model, generator)
    with torch.no_grad():  # small initial logits: a loss near log 2 and smooth Adam steps
        model.classifier[6].weight.mul_(0.01)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0  # dropout off, as thaw's set_dropout(false)
    return model.train()


def has_pooling_near_tie(model, x):
    """Whether some max-pool window holds two (non-zero) maxima within float noise of each
    other: thaw and PyTorch sum in different orders, may pick different maxima there, and would
    then route that window's gradient differently, a legitimate difference the test must avoid."""
    inputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: inputs.append(i[0].detach()))
             for m in model.modules() if isinstance(m, torch.nn.MaxPool2d)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    for t in inputs:
        windows = torch.nn.functional.unfold(t.reshape(-1, 1, *t.shape[2:]), kernel_size=3, stride=2)
        top = windows.topk(2, dim=1).values
        gap = top[:, 0] - top[:, 1]
        if bool(((top[:, 0] > 0) & (gap <= 2e-6 * top[:, 0].abs())).any()):
            return True
    return False


def weights_and_input(out, seed, batch):
    """Seeded weights (saved as <key>.npy under out/weights) and a batch of images drawn until
    no max-pool window has a near-tie (saved as out/input.npy)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = base_model(generator)
    os.makedirs(os.path.join(out, "weights"), exist_ok=True)
    for key, tensor in model.state_dict().items():
        np.save(os.path.join(out, "weights", key + ".npy"), tensor.numpy())
    for attempt in range(50):
        x = torch.randn(batch, 3, 224, 224, generator=generator)
        if not has_pooling_near_tie(model, x):
            break
    else:
        raise RuntimeError("every input drawn had a near-tie in a max-pool window")
    print(f"input drawn {attempt + 1} time(s) to avoid max-pool near-ties")
    np.save(os.path.join(out, "input.npy"), x.numpy())
    return model, x


def trainable_keys(pattern):
    keys = [CONV_KEYS[i] for i, t in enumerate(pattern) if t == "T"] + ["classifier.6"]
    return [f"{k}.{p}" for k in keys for p in ("weight", "bias")]


def main(out):
    torch.set_num_threads(2)
    base, x = weights_and_input(out, 2020, 2)
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
        loss = loss_fn(model(x), y)
        loss.backward()
        for key in keys:
            np.save(os.path.join(case_dir, f"grad.{key}.npy"), params[key].grad.numpy())
        losses = [loss.item()]
        model.zero_grad()
        optimizer = torch.optim.Adam([params[k] for k in keys], lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.1)
        steps = []
        for _ in range(10):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            steps.append(loss.item())
        for key in keys:
            np.save(os.path.join(case_dir, f"after.{key}.npy"), params[key].detach().numpy())
        summary[name] = {"index": index, "loss": losses[0], "step_losses": steps, "trainable": keys}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote training references for {len(CASES)} cases with torch {torch.__version__} to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
