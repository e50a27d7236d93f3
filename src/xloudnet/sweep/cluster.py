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
        from distributed import Client
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
    try:
        cluster = local_cluster(workers)
    except (OSError, TimeoutError, RuntimeError) as exc:
        raise ClusterError(f"cannot start a local Dask cluster: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def local_cluster(workers: int = 2):
    """A ``LocalCluster`` of ``workers`` processes with one thread each, on 127.0.0.1, no dashboard."""
    import dask
    from distributed import LocalCluster

    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536: glibc then hands every large numpy
    # temporary back to the kernel and the next batch faults it in again, which doubles the time
    # of the data plane's and the simulator's batches. Our workers keep glibc's default.
    environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    # No dashboard, and the scheduler's own HTTP endpoint (health, metrics) on a free loopback
    # port rather than 8787, which another cluster may hold; workers' logs only when they fail.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            host="127.0.0.1", silence_logs=logging.ERROR,
                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})


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
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (KilledWorker) or the task could not run
                index = futures.index(future)
                result = {"index": tasks[index].index, "status": "error",
                          "error": f"the worker failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
            results[result["index"]] = result
            if done is not None:
                done(result)
    finally:
        client.cancel([f for f in futures if not f.done()])
    return [results[task.index] for task in tasks]


__all__ = ["dask_client", "local_cluster", "run_serial", "run_on", "ClusterError"]
