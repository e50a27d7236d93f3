"""Heavy analysis off the event loop, in a bounded pool shared fairly between projects.

**Threads, not processes.** The analysis works on the compiled flow tables of the live plane —
large numpy arenas that are recompiled *incrementally* per revision and shared by what-if forks.
A process pool would have to ship or recompile them for every revision; threads share them for
free. numpy releases the GIL in its array kernels, answers are serialised in the worker in small
pieces (``dumps_in_pieces``), and the server lowers the interpreter's switch interval
(``api/serving.py``), so the event loop gets the GIL back within about a millisecond: networking
p99 stays within budget while another project runs the heaviest allowed analysis
(``benchmarks/isolation_latency.py``).

**Fairness.** Each project (the caller's project id) has its own FIFO queue; workers take the next
task round-robin across projects with waiting work, so one project's backlog never delays another
project by more than the task (or job slice) already running. Long simulation jobs run in slices
and re-queue themselves at the front of their project's queue (``submit(..., front=True)``): a
project's own jobs stay FIFO, while other projects get a worker between slices. Each project may
have at most ``queued_per_project`` questions waiting or running; one more is 409 ``OverQuota``
for that project only.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import orjson

from ..control import errors
from ..control.context import Context

IDLE_WORKER_EXIT_S = 30.0  # idle workers end; a burst starts them again (apps in tests come and go)


@dataclass(frozen=True)
class AnalysisLimits:
    """Bounds on analysis work (config-file keys in brackets, see README "Accounts and settings").

    ``workers`` [analysis_workers] threads run questions and simulation slices;
    ``queued_per_project`` [analysis_queue_per_project] questions per project may wait or run;
    ``jobs_per_project`` [simulation_jobs_per_project] unfinished simulation jobs per project;
    ``jobs_kept`` [simulation_jobs_kept] finished jobs kept per project (oldest forgotten first);
    ``job_ttl_seconds`` [simulation_job_ttl_seconds] a finished job is forgotten after this long;
    ``processes`` [simulation_processes] runs each simulation job in a forked child process
    (one at a time per project) instead of in slices on the pool's threads;
    ``slice_seconds``: in thread mode, how long a job runs before other projects get a turn."""

    workers: int = 2
    queued_per_project: int = 8
    jobs_per_project: int = 4
    jobs_kept: int = 32
    job_ttl_seconds: float = 3600.0
    processes: bool = hasattr(os, "fork")
    slice_seconds: float = 0.05


class PoolClosed(Exception):
    """The pool is shutting down: the task will never run."""


class FairPool:
    """At most ``workers`` threads running tasks taken round-robin from per-project queues."""

    def __init__(self, workers: int, name: str = "analysis"):
        if workers < 1:
            raise ValueError("the analysis pool needs at least one worker")
        self.max_workers = workers
        self.name = name
        self._queues: dict[str, deque] = {}
        self._turns: deque[str] = deque()  # projects with queued work, next first
        self._load: dict[str, int] = {}  # queued + running per project
        self._cond = threading.Condition()
        self._threads = 0
        self._idle = 0
        self._closed = False

    # --- submitting ------------------------------------------------------------------------------
    def submit(self, key: str, fn: Callable[[], Any], *, limit: int | None = None, front: bool = False) -> Future:
        """Queue ``fn`` for project ``key``; ``limit``: refuse (``OverQuota``) when the project
        already has that many tasks waiting or running. ``front``: before the project's other
        tasks (a job continuing its run), still after other projects' turns."""
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise PoolClosed()
            load = self._load.get(key, 0)
            if limit is not None and load >= limit:
                raise errors.OverQuota(overs="analysis requests")
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                self._turns.append(key)
            (queue.appendleft if front else queue.append)((fn, future))
            self._load[key] = load + 1
            if self._idle:
                self._cond.notify()
            elif self._threads < self.max_workers:
                self._threads += 1
                threading.Thread(target=self._work, name=f"{self.name}-{self._threads}", daemon=True).start()
        return future

    async def run(self, key: str, fn: Callable[[], Any], *, limit: int | None = None) -> Any:
        """``submit`` and await the result without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(key, fn, limit=limit))

    def load(self, key: str) -> int:
        with self._cond:
            return self._load.get(key, 0)

    def shutdown(self) -> None:
        """Run nothing more: queued tasks fail with ``PoolClosed``; running ones finish."""
        with self._cond:
            self._closed = True
            dropped = [item for queue in self._queues.values() for item in queue]
            self._queues.clear()
            self._turns.clear()
            self._cond.notify_all()
        for _, future in dropped:
            future.set_exception(PoolClosed())

    # --- working ---------------------------------------------------------------------------------
    def _next(self):
        """The next task round-robin across projects, or None after an idle spell / shutdown."""
        with self._cond:
            while not self._turns:
                if self._closed:
                    self._threads -= 1
                    return None
                self._idle += 1
                woken = self._cond.wait(IDLE_WORKER_EXIT_S)
                self._idle -= 1
                if not woken and not self._turns:
                    self._threads -= 1
                    return None
            key = self._turns.popleft()
            queue = self._queues[key]
            task = queue.popleft()
            if queue:
                self._turns.append(key)
            else:
                del self._queues[key]
            return key, task

    def _work(self) -> None:
        while (item := self._next()) is not None:
            key, (fn, future) = item
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn())
                    except BaseException as exc:  # noqa: BLE001 - delivered to whoever awaits it
                        future.set_exception(exc)
            finally:
                with self._cond:
                    left = self._load[key] - 1
                    if left:
                        self._load[key] = left
                    else:
                        del self._load[key]
            del fn, future, item  # a finished task's closure (and its answer) is not kept alive


def project_key(ctx: Context) -> str:
    """Whose turn a task counts against: the caller's project (unscoped callers share one)."""
    return ctx.project_id or ""


def dumps_in_pieces(body: Any) -> bytes:
    """``orjson.dumps(body)``, but long top-level lists (a matrix's rows) are serialised item by
    item: no single C call holds the GIL for long, so the event loop keeps answering."""
    if not isinstance(body, dict) or not any(isinstance(v, list) and len(v) > 64 for v in body.values()):
        return orjson.dumps(body)
    parts = [b"{"]
    for i, (key, value) in enumerate(body.items()):
        if i:
            parts.append(b",")
        parts.append(orjson.dumps(key) + b":")
        if isinstance(value, list) and len(value) > 64:
            parts.append(b"[" + b",".join([orjson.dumps(item) for item in value]) + b"]")
        else:
            parts.append(orjson.dumps(value))
    parts.append(b"}")
    return b"".join(parts)


__all__ = ["AnalysisLimits", "FairPool", "PoolClosed", "dumps_in_pieces", "project_key"]
