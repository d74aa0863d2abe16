#!/usr/bin/env python3
"""thaw vs torch.load on a full AlexNet state dict (61.1 M parameters, 244 MB), same machine,
same run: the zip and the legacy format, plus safetensors for thaw, against the time to just
read the file's bytes (the disk/page-cache bound). Files are read warm (page cache), best of N.

usage: load_vs_torch.py LOAD_WEIGHTS [--repeats 5] [--dir DIR]
"""
import argparse
import json
import os
import subprocess
import tempfile

import torch
import torchvision

from timing import best_of  # this script's folder is on sys.path


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to write the test files (default: a temp dir)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    directory = args.dir or tempfile.mkdtemp(prefix="thaw_load_")
    os.makedirs(directory, exist_ok=True)
    sd = torchvision.models.alexnet().state_dict()
    files = {"zip": os.path.join(directory, "alexnet_zip.pth"),
             "legacy": os.path.join(directory, "alexnet_legacy.pth")}
    torch.save(sd, files["zip"])
    torch.save(sd, files["legacy"], _use_new_zipfile_serialization=False)
    safetensors = os.path.join(directory, "alexnet.safetensors")
    # thaw writes the safetensors file from the zip one (Debian has no safetensors for Python).
    subprocess.run([args.binary, files["zip"], "1", safetensors], check=True, capture_output=True)

    print(f"PyTorch {torch.__version__}, best of {args.repeats}, warm page cache, "
          f"{os.path.getsize(files['zip']) / 1e6:.1f} MB")
    print(f"{'format':>8} {'read bytes s':>13} {'torch.load s':>13} {'thaw s':>8} {'torch/thaw':>11}")
    for name, path in files.items():
        raw = best_of(args.repeats, lambda: read_bytes(path))
        theirs = best_of(args.repeats, lambda: torch.load(path))
        out = subprocess.run([args.binary, path, str(args.repeats)], check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout)["seconds"]
        print(f"{name:>8} {raw:13.3f} {theirs:13.3f} {ours:8.3f} {theirs / ours:10.2f}x")
    raw = best_of(args.repeats, lambda: read_bytes(safetensors))
    out = subprocess.run([args.binary, safetensors, str(args.repeats)], check=True, capture_output=True, text=True)
    ours = json.loads(out.stdout)["seconds"]
    print(f"{'safetens':>8} {raw:13.3f} {'-':>13} {ours:8.3f} {'-':>11}  (thaw/read bytes {ours / raw:.2f}x)")


if __name__ == "__main__":
    main()
