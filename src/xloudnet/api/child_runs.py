"""A simulation run in a forked child process.

The packet simulator is pure Python: in a thread it would hold the interpreter lock nearly all
the time and compete with the event loop for it. A forked child has its own interpreter: it
inherits the job's compiled tables and plan copy-on-write (nothing is pickled), runs at a lower
CPU priority (nice 10) so the kernel favours the server, and reports over a pipe, one line per
message: ``P<fraction>`` after each step, then ``R<result JSON>``, ``E<message JSON>`` (a
request error) or ``X<exception type>`` (a bug). The child touches nothing but the run itself
(no locks of the parent's other threads) and leaves with ``os._exit``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

import orjson

CHILD_NICENESS = 10


class ChildRun:
    """Steps the generator ``steps`` to its end in a child; ``on_progress(fraction)`` and then
    once ``on_done((kind, payload))`` are called from a monitor thread, kind being ``"result"``
    (payload: the result's JSON bytes), ``"error"`` (message) or ``"crash"`` (message)."""

    def __init__(self, steps, on_progress: Callable[[float], None], on_done: Callable[[tuple], None]):
        self._steps = steps
        self.on_progress = on_progress
        self.on_done = on_done
        self.pid: int | None = None
        self._lock = threading.Lock()
        self._reaped = False

    def start(self) -> None:
        read, write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read)
            _child(self._steps, write, parent)
        os.close(write)
        self.pid = pid
        self._steps = None  # the child has its copy; the parent's (tables, plans) can go
        threading.Thread(target=self._monitor, args=(read,), name=f"simulation-child-{pid}", daemon=True).start()

    def kill(self) -> None:
        """Stop the child now (DELETE, shutdown); ``on_done`` still follows."""
        with self._lock:
            if self.pid is not None and not self._reaped:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _monitor(self, fd: int) -> None:
        outcome: tuple = ("crash", "the simulation process ended unexpectedly")
        with os.fdopen(fd, "rb") as pipe:
            for line in pipe:
                tag, body = line[:1], line[1:].rstrip(b"\n")
                if tag == b"P":
                    self.on_progress(float(body))
                elif tag == b"R":
                    outcome = ("result", body)
                elif tag == b"E":
                    outcome = ("error", orjson.loads(body))
                elif tag == b"X":
                    outcome = ("crash", f"internal error: {body.decode(errors='replace')}")
        with self._lock:  # the pipe closed: the child is leaving; reap it before anyone may kill
            os.waitpid(self.pid, 0)
            self._reaped = True
        self.on_done(outcome)


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this child when the server goes (Linux PR_SET_PDEATHSIG): a long
    step must not outlive it, holding its pipes and CPU."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the server went before the request took effect
        os._exit(0)


def _child(steps, fd: int, parent: int) -> None:
    try:
        _die_with_parent(parent)
        for sig in (signal.SIGINT, signal.SIGTERM):  # the server's handlers are not the child's
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.nice(CHILD_NICENESS)
        except OSError:
            pass
        with os.fdopen(fd, "wb") as out:
            try:
                while True:
                    try:
                        fraction = next(steps)
                    except StopIteration as done:
                        out.write(b"R" + orjson.dumps(done.value) + b"\n")
                        break
                    if os.getppid() != parent:  # the server died (kill -9): nobody will read on
                        break
                    out.write(b"P%r\n" % fraction)
                    out.flush()
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it
                status, message = getattr(exc, "http_status", None), getattr(exc, "message", None)
                if isinstance(status, int) and isinstance(message, str):
                    out.write(b"E" + orjson.dumps(message) + b"\n")
                else:
                    out.write(b"X" + type(exc).__name__.encode() + b"\n")
    finally:
        os._exit(0)


__all__ = ["ChildRun"]
