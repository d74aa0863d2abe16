#!/usr/bin/env python3
"""Writes torchvision AlexNet references for thaw's forward-parity test.

For the 1-logit and the 1000-class head: seeded random weights as <key>.npy (torchvision key
names) and as torch.save files (zip and legacy format), input batches of 1 and 8 images, the logits, and every feature map that thaw stores
(module outputs, named by torchvision module path). Run by CTest with Debian's python3.
"""
import os
import sys

import numpy as np
import torch
import torchvision


def reinitialise(model, generator):
    # PyTorch's default init shrinks activations layer by layer; He-normal weights keep every
    # feature map O(1), so the relative tolerance tests real magnitudes.
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = module.weight[0].numel()
            with torch.no_grad():
                module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
                module.bias.uniform_(-0.1, 0.1, generator=generator)


def main(out_dir):
    torch.manual_seed(2020)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(2020)
    for outputs in (1, 1000):
        model = torchvision.models.alexnet(num_classes=outputs).eval()
        reinitialise(model, generator)
        case_dir = os.path.join(out_dir, f"head{outputs}")
        weights_dir = os.path.join(case_dir, "weights")
        os.makedirs(weights_dir, exist_ok=True)
        for key, tensor in model.state_dict().items():
            np.save(os.path.join(weights_dir, key + ".npy"), tensor.numpy().astype(np.float32))
        # The same weights as torch.save writes them, in both formats thaw reads.
        torch.save(model.state_dict(), os.path.join(case_dir, "alexnet_zip.pth"))
        torch.save(model.state_dict(), os.path.join(case_dir, "alexnet_legacy.pth"),
                   _use_new_zipfile_serialization=False)

        # thaw fuses Conv2d/Linear with the ReLU after them, so those are compared after the
        # ReLU; every other module output is compared as is.
        fused = {"features.0", "features.3", "features.6", "features.8", "features.10",
                 "classifier.1", "classifier.4"}
        captured = {}
        modules = [(f"features.{n}", m) for n, m in model.features.named_children()]
        modules += [("avgpool.0", model.avgpool)]  # thaw's key: the first layer after Scope<"avgpool">
        modules += [(f"classifier.{n}", m) for n, m in model.classifier.named_children()]
        for key, module in modules:
            if key in fused:
                continue
            # clone: the ReLUs work in place and would overwrite earlier captures.
            module.register_forward_hook(
                lambda m, i, o, key=key: captured.__setitem__(key, o.detach().clone()))

        for batch in (1, 8):
            batch_dir = os.path.join(case_dir, f"batch{batch}")
            os.makedirs(batch_dir, exist_ok=True)
            x = torch.randn(batch, 3, 224, 224, generator=generator)
            captured.clear()
            with torch.no_grad():
                logits = model(x)
            np.save(os.path.join(batch_dir, "input.npy"), x.numpy())
            np.save(os.path.join(batch_dir, "logits.npy"), logits.numpy())
            for key, value in captured.items():
                if value.dim() == 2:  # classifier outputs: [N, F] -> [N, F, 1, 1] like thaw
                    value = value[:, :, None, None]
                np.save(os.path.join(batch_dir, f"act.{key}.npy"), value.numpy())
    print(f"wrote torchvision {torchvision.__version__} references to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1])
