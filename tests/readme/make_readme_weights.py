"""Writes what the README's C++ blocks load, as torchvision would give it: an AlexNet state
dict saved by torch.save under torchvision's file name (random weights: the blocks check
loading and shapes, not ImageNet accuracy). Then the synthetic images, through thaw's own
generator (the snippet runner's --write-data)."""
import pathlib
import subprocess
import sys

import torch
import torchvision

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
weights = out / "alexnet-owt-7be5be79.pth"
if not weights.exists():
    torch.save(torchvision.models.alexnet().state_dict(), out / "alexnet.part")
    (out / "alexnet.part").rename(weights)
subprocess.run([sys.argv[2], "--write-data", str(out)], check=True)
