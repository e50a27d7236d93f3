"""Timing shared by the in-process benchmarks: the median of a few runs, so one slow run (a
garbage collection, another process) does not set the figure."""

from __future__ import annotations

import statistics
import time


def median_time(fn, runs: int = 3) -> float:
    """Seconds: the median wall time of ``runs`` calls of ``fn()``."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
