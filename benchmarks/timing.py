"""Timing helpers shared by the side-by-side benchmark scripts."""
import json
import os
import statistics
import subprocess
import sys
import time

# glibc gives freed blocks of 128 KiB and more back to the kernel, so PyTorch, which allocates
# its activations afresh every step, takes ~12,000 page faults per AlexNet training step at
# batch 32. In the virtual machines we measure on a page fault costs tens of microseconds: it made
# PyTorch's step up to 1.5x slower than with the freed memory kept, a cost a user's own machine
# need not have. So timings are taken with glibc keeping freed memory (blocks up to 32 MiB on
# its heap, no trimming); thaw allocates nothing per step and is not affected.
KEEP_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def keep_freed_memory():
    """Runs this script again with KEEP_FREED_MEMORY in its environment unless it is there already
    (glibc reads it once, at start-up)."""
    if any(os.environ.get(k) != v for k, v in KEEP_FREED_MEMORY.items()):
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, **KEEP_FREED_MEMORY))


def default_malloc_environment():
    """The environment without KEEP_FREED_MEMORY: what a process's peak memory is measured under."""
    return {k: v for k, v in os.environ.items() if k not in KEEP_FREED_MEMORY}


def best_of(repeats, fn):
    """The fastest of `repeats` calls of fn(), in seconds (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def google_benchmark_median(binary, name_filter, counter, repeats, threads):
    """The median of `counter` over `repeats` repetitions of the benchmarks of a Google Benchmark
    program that `name_filter` (a regular expression) selects, run on `threads` threads."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, f"--benchmark_filter={name_filter}", f"--benchmark_repetitions={repeats}",
                          "--benchmark_format=json"], env=env, check=True, capture_output=True, text=True).stdout
    runs = [b[counter] for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    if not runs:
        raise RuntimeError(f"{binary} has no benchmark matching {name_filter}")
    return statistics.median(runs)
