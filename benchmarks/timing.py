"""Timing helper shared by the side-by-side benchmark scripts."""
import time


def best_of(repeats, fn):
    """The fastest of `repeats` calls of fn(), in seconds (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
