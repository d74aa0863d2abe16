#!/usr/bin/env python3
"""PyTorch references for thaw's Winograd F(2x2, 3x3) and F(2x2, 5x5) convolution test (3x3 and
5x5 kernels, stride 1, padding 1 and 2).

For each case (odd, even and non-square maps, batch > 1, AlexNet's conv4 and conv2 channel
counts among them): seeded input x, weight w, bias b and upstream gradient dy; torch.nn.functional.conv2d's
output z = conv(x, w) + b, and through y = relu(z) with the loss sum(y * dy) autograd's dx, dw,
db. Writes OUT_DIR/cases.json (names and shapes) and OUT_DIR/<name>/<array>.npy.

Usage: make_winograd_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch

CASES = [  # name, batch, in channels, out channels, height, width, kernel
    ("small_13x13", 3, 5, 7, 13, 13, 3),
    ("even_8x8", 2, 4, 6, 8, 8, 3),
    ("odd_wide_5x10", 2, 3, 2, 5, 10, 3),
    ("alexnet_conv4", 2, 384, 256, 13, 13, 3),
    ("k5_small_13x13", 3, 5, 7, 13, 13, 5),
    ("k5_odd_wide_3x10", 2, 3, 2, 3, 10, 5),
    ("k5_even_8x8", 2, 4, 6, 8, 8, 5),
    ("alexnet_conv2", 2, 64, 192, 27, 27, 5),
]


def main(out_dir):
    generator = torch.Generator().manual_seed(1213)
    cases = []
    for name, batch, cin, cout, h, w, k in CASES:
        x = torch.randn(batch, cin, h, w, generator=generator, requires_grad=True)
        weight = (torch.randn(cout, cin, k, k, generator=generator) / (k * cin ** 0.5)).requires_grad_()
        bias = (0.1 * torch.randn(cout, generator=generator)).requires_grad_()
        dy = torch.randn(batch, cout, h, w, generator=generator)
        z = torch.nn.functional.conv2d(x, weight, bias, stride=1, padding=k // 2)
        torch.relu(z).mul(dy).sum().backward()
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        arrays = {"x": x, "weight": weight, "bias": bias, "dy": dy, "z": z, "dx": x.grad, "dweight": weight.grad,
                  "dbias": bias.grad}
        for key, value in arrays.items():
            np.save(os.path.join(folder, key + ".npy"), value.detach().numpy().astype(np.float32))
        cases.append({"name": name, "batch": batch, "in": cin, "out": cout, "h": h, "w": w, "kernel": k})
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main(sys.argv[1])
