"""Where sweep points run: serially in this process, or on Dask.

``dask_client(workers=2)`` starts a ``LocalCluster`` on this machine (worker processes, one thread
each: the engine holds the GIL in its Python parts, so threads would not add throughput);
``dask_client(scheduler="tcp://HOST:8786")`` joins an existing cluster (its workers need xloudnet
installed). Both close everything they started on exit. Dask is imported here only, and only
when a sweep or a partitioned matrix asks for it: the API server never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from .point import PointTask, run_point

Done = Callable[[dict], None]


class ClusterError(Exception):
    """The cluster could not be started or reached (one line for the user)."""


@contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None, timeout: float = 10.0) -> Iterator:
    """A ``distributed.Client``: on ``scheduler`` when given, else on a new ``LocalCluster`` of
    ``workers`` processes (closed, with its processes, on exit)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ClusterError(f"dask.distributed is not installed ({exc})") from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers < 1:
        raise ClusterError("--workers must be at least 1")
    # No dashboard (it would bind a port and import bokeh); workers' logs only when they fail.
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1", silence_logs=logging.ERROR)
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def run_serial(tasks: Iterable[PointTask], done: Done | None = None) -> list[dict]:
    """Every point in this process, in order (the baseline the Dask runs must equal)."""
    results = []
    for task in tasks:
        result = run_point(task)
        results.append(result)
        if done is not None:
            done(result)
    return results


def run_on(client, tasks: list[PointTask], done: Done | None = None) -> list[dict]:
    """Every point on ``client``'s cluster; ``done(result)`` as each completes (any order).
    Returns the results in point order."""
    from distributed import as_completed

    futures = [client.submit(run_point, task, pure=False, key=f"sweep-point-{task.index}-{id(tasks):x}")
               for task in tasks]
    results = {}
    try:
        for future in as_completed(futures, loop=client.loop):
            result = future.result()
            results[result["index"]] = result
            if done is not None:
                done(result)
    finally:
        client.cancel([f for f in futures if not f.done()])
    return [results[task.index] for task in tasks]


__all__ = ["dask_client", "run_serial", "run_on", "ClusterError"]
