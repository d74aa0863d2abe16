#!/usr/bin/env python3
"""thaw vs PyTorch training throughput for the paper's nine freeze patterns, same machine,
same run, same thread count: one Adam step on a batch of 32 (BCEWithLogits, dropout on,
freeze pattern via requires_grad in PyTorch), the mid-level FE's epoch with thaw's automatic
frozen-prefix cache against PyTorch without one, and the peak resident memory of a mid-level
training process in each.

usage: train_vs_torch.py BENCH_TRAIN [--threads 2] [--repeats 3] [--rounds 1]

On a shared machine the speed of both sides drifts by up to a third within minutes: with
--rounds N every case is measured N times, thaw right before PyTorch each time, and the ratio
reported is the median of the N paired ratios (with their range), not a ratio of medians.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import torch
import torchvision

from timing import default_malloc_environment, google_benchmark_median, keep_freed_memory  # script's folder

CASES = [("mid-level FE", "FFTTF"), ("CL3-FE", "FFTFF"), ("CL4-FE", "FFFTF"), ("fine-tuning", "TTTTT"),
         ("low-level FE", "TTFFF"), ("CL1-FE", "TFFFF"), ("CL2-FE", "FTFFF"), ("high-level FE", "FFFFT"),
         ("H-M level FE", "FFTTT")]
CONVS = [0, 3, 6, 8, 10]
BATCH = 32


def torch_model(pattern):
    model = torchvision.models.alexnet(num_classes=1).train()
    trainable = {f"features.{CONVS[i]}" for i, t in enumerate(pattern) if t == "T"} | {"classifier.6"}
    params = []
    for name, p in model.named_parameters():
        p.requires_grad_(name.rsplit(".", 1)[0] in trainable)
        if p.requires_grad:
            params.append(p)
    return model, torch.optim.Adam(params, lr=1e-5)


def torch_images_per_second(pattern, repeats):
    model, optimizer = torch_model(pattern)
    x, y = torch.randn(BATCH, 3, 224, 224), (torch.arange(BATCH) % 2).float()[:, None]
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return BATCH / statistics.median(times)


def thaw_images_per_second(binary, name, threads, repeats):
    """Median images/s of one of bench_train's benchmarks (its full name, e.g. train/CL3-FE)."""
    return google_benchmark_median(binary, f"^{name}/", "images/s", repeats, threads)


def peak_rss_mb(command, env=None):
    """Peak resident memory of one child process (wait4 reports that child's own rusage)."""
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{command[0]} failed with {child.returncode}")
    return usage.ru_maxrss / 1024  # KiB -> MiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1, help="paired thaw/PyTorch measurements per case")
    parser.add_argument("--torch-step", action="store_true", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.torch_step:  # a mid-level training process, for the memory comparison
        torch_images_per_second("FFTTF", 2)
        return
    keep_freed_memory()
    # Memory first, each in a fresh process with glibc's default settings (the thaw one trains the
    # mid-level FE only).
    plain = default_malloc_environment()
    thaw_rss = peak_rss_mb([args.binary, "--benchmark_filter=train/mid-level", "--benchmark_min_time=0.1"],
                           dict(plain, OMP_NUM_THREADS=str(args.threads)))
    torch_rss = peak_rss_mb([sys.executable, __file__, args.binary, "--torch-step", "--threads", str(args.threads)],
                            plain)

    # Case by case, thaw then PyTorch, so a change in the machine's load hits both alike.
    print(f"threads {args.threads}, PyTorch {torch.__version__}, batch {BATCH}, median of {args.repeats}, "
          f"{args.rounds} round(s); "
          + ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in ("OPENBLAS_CORETYPE", "DNNL_MAX_CPU_ISA")))
    names = [name for name, _ in CASES] + ["cached epoch"]
    rounds = {name: [] for name in names}  # (thaw, torch) img/s per round
    for _ in range(args.rounds):
        for name, pattern in CASES:
            ours = thaw_images_per_second(args.binary, f"train/{name}", args.threads, args.repeats)
            rounds[name].append((ours, torch_images_per_second(pattern, args.repeats)))
        # thaw's mid-level epoch with the prefix cache against PyTorch's uncached mid-level step
        cached = thaw_images_per_second(args.binary, "epoch/mid-level FE cached", args.threads, args.repeats)
        rounds["cached epoch"].append((cached, torch_images_per_second(CASES[0][1], args.repeats)))
    print(f"{'case':>14} {'thaw img/s':>11} {'torch img/s':>12} {'thaw/torch':>11} {'range':>12}")
    for name in names:
        ratios = [ours / theirs for ours, theirs in rounds[name]]
        ours, theirs = (statistics.median(side) for side in zip(*rounds[name]))
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
        print(f"{name:>14} {ours:11.1f} {theirs:12.1f} {statistics.median(ratios):10.2f}x {spread:>12}")
    print("(cached epoch: thaw's mid-level FE epoch with the frozen-prefix cache vs PyTorch's uncached step)")
    print(f"peak resident memory, mid-level training process: thaw {thaw_rss:.0f} MB, PyTorch {torch_rss:.0f} MB "
          f"= {thaw_rss / torch_rss:.2f}x")


if __name__ == "__main__":
    main()
