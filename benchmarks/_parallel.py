"""How much parallelism this machine gives right now: N processes spinning vs one.

On a shared machine the speed-up of any N-process run is bounded by this ratio, measured in the
same run as the benchmark that imports it (``sweep_dask.py``, ``matrix_partitioned.py``).
Run alone: ``python benchmarks/_parallel.py [N]``.
"""

from __future__ import annotations

import multiprocessing
import sys
import time


def _spin(steps: int) -> float:
    start = time.perf_counter()
    x = 0
    for i in range(steps):
        x += i
    return time.perf_counter() - start


def parallel_ceiling(processes: int = 2, steps: int = 5_000_000) -> float:
    """Throughput of ``processes`` spinning processes over one's (``processes`` on an idle
    machine with that many cores; ~1 when the cores are busy with other work)."""
    one = _spin(steps)
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_spin, [1000] * processes)  # started and warm
        start = time.perf_counter()
        pool.map(_spin, [steps] * processes)
        together = time.perf_counter() - start
    return processes * one / together


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    print(f"{n} processes: {parallel_ceiling(n):.2f}x the throughput of one")
