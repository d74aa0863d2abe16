#!/usr/bin/env python3
"""thaw vs PyTorch AlexNet forward throughput, same machine, same run, same thread count.

usage: forward_vs_torch.py BENCH_FORWARD [--threads 2] [--repeats 5]
Runs thaw's Google Benchmark program (bench_forward) and torchvision's AlexNet (eval mode,
no_grad, 1-logit head) at batch 1 and 32, alternating, and prints images/s and the ratio.
"""
import argparse
import statistics
import time

import torch
import torchvision

from timing import google_benchmark_median, keep_freed_memory  # this script's folder is on sys.path


def torch_images_per_second(model, batch, repeats):
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def thaw_images_per_second(binary, batch, repeats, threads):
    return google_benchmark_median(binary, f"BM_AlexNetForward/{batch}/", "images/s", repeats, threads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    model = torchvision.models.alexnet(num_classes=1).eval()
    print(f"threads {args.threads}, PyTorch {torch.__version__}, median of {args.repeats}")
    print(f"{'batch':>5} {'thaw img/s':>11} {'torch img/s':>12} {'thaw/torch':>10}")
    for batch in (1, 32):
        thaw = thaw_images_per_second(args.binary, batch, args.repeats, args.threads)
        ref = torch_images_per_second(model, batch, args.repeats)
        print(f"{batch:>5} {thaw:>11.1f} {ref:>12.1f} {thaw / ref:>10.2f}")


if __name__ == "__main__":
    main()
