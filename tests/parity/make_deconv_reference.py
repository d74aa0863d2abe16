#!/usr/bin/env python3
"""A Zeiler-Fergus deconvnet built here on torchvision's AlexNet, the reference for thaw's
DeconvNet: seeded He-normal weights, 3 images (redrawn until no max-pool window has a
near-tie), and for each conv layer 1-5 the projection to pixels of each image's strongest
unit, and of the strongest unit of channel 7. The deconvnet rule: unpool with the recorded
indices (scatter-add, the windows overlap), rectify the signal, transposed convolution with
the layer's weights (no bias). Usage: make_deconv_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_alexnet_reference import reinitialise  # noqa: E402
from make_training_reference import base_model  # noqa: E402

CONV_INDICES = [0, 3, 6, 8, 10]  # CL1..CL5 in torchvision's `features`


def has_pooling_near_tie(model, x):
    """Whether some max-pool window holds two (non-zero) maxima within float noise of each
    other: thaw and PyTorch sum in different orders, may pick different maxima there, and would
    then unpool that window to different places, a legitimate difference the test must avoid."""
    inputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: inputs.append(i[0].detach()))
             for m in model.features if isinstance(m, torch.nn.MaxPool2d)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    for t in inputs:
        windows = F.unfold(t.reshape(-1, 1, *t.shape[2:]), kernel_size=3, stride=2)
        top = windows.topk(2, dim=1).values
        if bool(((top[:, 0] > 0) & (top[:, 0] - top[:, 1] <= 2e-6 * top[:, 0].abs())).any()):
            return True
    return False


def weights_and_input(out, seed, batch):
    """Seeded weights (saved as <key>.npy under out/weights) and a batch of images drawn until
    no max-pool window has a near-tie (saved as out/input.npy)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = base_model()
    reinitialise(model, generator)
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


def forward_recording(features, x):
    """Every module's output (ReLU not in place) and each max pool's indices."""
    outputs, indices = [], {}
    h = x
    for i, m in enumerate(features):
        if isinstance(m, torch.nn.MaxPool2d):
            h, indices[i] = F.max_pool2d(h, m.kernel_size, m.stride, return_indices=True)
        elif isinstance(m, torch.nn.ReLU):
            h = F.relu(h)
        else:
            h = m(h)
        outputs.append(h)
    return outputs, indices


def project(features, x, layer, channel):
    outputs, indices = forward_recording(features, x)
    conv = CONV_INDICES[layer - 1]
    a = outputs[conv + 1]  # the conv's rectified output
    n, c, h, w = a.shape
    flat = a.reshape(n, -1) if channel is None else a[:, channel].reshape(n, -1)
    best = flat.argmax(dim=1)
    # A unit that wins by float noise alone would be chosen differently by other kernels (AVX2
    # against AVX-512): the comparison needs a clear winner.
    top = flat.topk(2, dim=1).values
    if bool(((top[:, 0] - top[:, 1]) <= 1e-4 * top[:, 0]).any()):
        raise RuntimeError(f"layer {layer}, channel {channel}: the strongest unit wins by less than 1e-4; "
                           "choose another seed")
    signal = torch.zeros_like(a).reshape(n, -1)
    units = []
    for b in range(n):
        unit = int(best[b]) if channel is None else channel * h * w + int(best[b])
        signal[b, unit] = a.reshape(n, -1)[b, unit]
        units.append(unit)
    signal = signal.reshape(a.shape)
    for i in range(conv, -1, -1):
        m = features[i]
        below = x if i == 0 else outputs[i - 1]
        if isinstance(m, torch.nn.Conv2d):
            s, p, k = m.stride[0], m.padding[0], m.kernel_size[0]
            extra = below.shape[2] - ((signal.shape[2] - 1) * s - 2 * p + k)
            signal = F.conv_transpose2d(signal, m.weight, stride=s, padding=p, output_padding=extra)
        elif isinstance(m, torch.nn.ReLU):
            signal = F.relu(signal)
        elif isinstance(m, torch.nn.MaxPool2d):
            unpooled = torch.zeros(below.shape).reshape(n, below.shape[1], -1)
            unpooled.scatter_add_(2, indices[i].reshape(n, below.shape[1], -1), signal.reshape(n, signal.shape[1], -1))
            signal = unpooled.reshape(below.shape)
    return signal, units


def main(out):
    model, x = weights_and_input(out, 2014, 3)
    model.eval()
    with torch.no_grad():
        for layer in range(1, 6):
            for name, channel in (("strongest", None), ("channel7", 7)):
                pixels, units = project(model.features, x, layer, channel)
                np.save(os.path.join(out, f"layer{layer}_{name}.npy"), pixels.numpy())
                np.save(os.path.join(out, f"layer{layer}_{name}_units.npy"), np.array(units, dtype=np.int64))
    print(f"wrote deconvnet references (torch {torch.__version__}) to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
