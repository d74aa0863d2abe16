"""Timing helpers shared by the side-by-side benchmark scripts."""
import json
import os
import statistics
import subprocess
import time


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
