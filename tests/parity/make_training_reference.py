#!/usr/bin/env python3
"""PyTorch references for thaw's training parity test: the nine freeze patterns of the paper.

One set of seeded weights (He-normal as make_alexnet_reference.py, the head scaled by 0.01)
and one batch of 2 images with labels (redrawn until no max-pool window has a near-tie); for
each case (freeze pattern via requires_grad, dropout off, train mode): the BCEWithLogits loss
and every trainable tensor's gradient at the initial weights; then 10 Adam steps (lr 1e-4, L2
weight decay 1e-3) with StepLR(step_size=3, gamma=0.1) stepped after each one: the 10 losses,
and the trainable tensors and their gradients at a step from 5 on (after one decay of the
rate, the first such step without a max-pool near-tie), where thaw restarts from PyTorch's
parameters.

The parameters after the free-running steps are deliberately not written: Adam moves every
entry by about lr whatever its gradient's size, so entries whose gradient is at rounding level
take steps whose sign is noise, and ReLUs near zero amplify that; two PyTorch builds (AVX2 and
AVX-512 kernels) already disagree there by up to 6% of a tensor's largest value.

Usage: make_training_reference.py OUT_DIR            (the references above)
       make_training_reference.py --dropout OUT_DIR  (after thaw wrote its dropout masks to
           OUT_DIR/dropout: the mid-level FE's loss and gradients with those masks)
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
CONV_INDICES = [0, 3, 6, 8, 10]  # CL1..CL5 in torchvision's `features`
CONV_KEYS = [f"features.{i}" for i in CONV_INDICES]
FIRST_RESTART = 5  # thaw restarts from the first step from here on without a max-pool near-tie


def base_model(generator):
    model = torchvision.models.alexnet(num_classes=1)
    reinitialise(model, generator)
    with torch.no_grad():  # small initial logits: a loss near log 2 and smooth Adam steps
        model.classifier[6].weight.mul_(0.01)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0  # dropout off, as thaw's set_dropout(false)
    return model.train()


def has_pooling_near_tie(model, x, above=0):
    """Whether some max-pool window (of those at features index >= `above`, the ones a gradient
    passes through) holds two (non-zero) maxima within float noise of each other: thaw and
    PyTorch sum in different orders, may pick different maxima there, and would then route that
    window's gradient differently, a legitimate difference the test must avoid."""
    inputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: inputs.append(i[0].detach()))
             for index, m in enumerate(model.features) if isinstance(m, torch.nn.MaxPool2d) and index >= above]
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
        optimizer = torch.optim.Adam([params[k] for k in keys], lr=1e-4, betas=(0.9, 0.999), eps=1e-8,
                                     weight_decay=1e-3)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.1)
        steps = []
        restart = None
        # Max-pools below the lowest trainable conv route no gradient: their near-ties don't matter.
        lowest = CONV_INDICES[pattern.index("T")] if "T" in pattern else len(model.features)
        for step in range(10):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            if restart is None and step >= FIRST_RESTART and not has_pooling_near_tie(model, x, above=lowest):
                restart = step
                for key in keys:
                    np.save(os.path.join(case_dir, f"at{step}.{key}.npy"), params[key].detach().numpy())
                    np.save(os.path.join(case_dir, f"grad{step}.{key}.npy"), params[key].grad.numpy())
            optimizer.step()
            scheduler.step()
            steps.append(loss.item())
        if restart is None:
            raise RuntimeError(f"{name}: a max-pool near-tie at every step from {FIRST_RESTART}; choose another seed")
        summary[name] = {"index": index, "loss": losses[0], "step_losses": steps, "trainable": keys,
                         "restart_step": restart}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote training references for {len(CASES)} cases with torch {torch.__version__} to {out}")


class GivenMask(torch.nn.Module):
    """Inverted dropout (p = 0.5) with a mask given from outside: thaw's, read from a file."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask * 2.0


def dropout_references(out):
    """The mid-level FE's loss and gradients with dropout on, through the masks thaw drew."""
    torch.set_num_threads(2)
    folder = os.path.join(out, "dropout")
    model = base_model(torch.Generator().manual_seed(0))
    model.load_state_dict({k: torch.from_numpy(np.load(os.path.join(out, "weights", k + ".npy")))
                           for k in model.state_dict()})
    for index in (0, 3):  # classifier.0 and classifier.3 are torchvision's two Dropouts
        mask = np.load(os.path.join(folder, f"mask.classifier.{index}.npy"))
        model.classifier[index] = GivenMask(torch.from_numpy(mask))
    keys = trainable_keys(CASES[0][1])
    params = dict(model.named_parameters())
    for key, p in params.items():
        p.requires_grad_(key in keys)
    x = torch.from_numpy(np.load(os.path.join(out, "input.npy")))
    y = torch.from_numpy(np.load(os.path.join(out, "labels.npy"))).reshape(-1, 1)
    loss = torch.nn.BCEWithLogitsLoss()(model(x), y)
    loss.backward()
    for key in keys:
        np.save(os.path.join(folder, f"grad.{key}.npy"), params[key].grad.numpy())
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump({"loss": loss.item(), "trainable": keys}, f, indent=1)
    print(f"wrote the dropout reference (mid-level FE, thaw's masks) to {folder}")


if __name__ == "__main__":
    if sys.argv[1] == "--dropout":
        dropout_references(sys.argv[2])
    else:
        main(sys.argv[1])
