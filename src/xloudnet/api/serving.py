"""Run the app under uvicorn until SIGTERM / SIGINT, then stop gracefully.

On the signal:

1. the listening socket closes (no new connections); idle keep-alive connections close;
2. unfinished simulation jobs are cancelled at once and recorded as ``CANCELLED`` (a job may run
   for minutes: nobody should wait for it), and new ones are refused (503);
3. requests already in flight — including analysis questions queued in the pool — finish and get
   their answers (each connection then closes), for at most ``shutdown_grace_seconds``;
4. the process exits with status 0.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import threading

import uvicorn

from ..settings import Settings

log = logging.getLogger("xloudnet.serve")

# The event loop competes with analysis threads for the GIL; at the default 5 ms switch interval
# a networking request can wait that long for it several times. 1 ms hands it back sooner for a
# negligible cost to the (numpy-bound) analysis.
SWITCH_INTERVAL_S = 0.001


class _GracefulServer(uvicorn.Server):
    """uvicorn's server, cancelling simulation jobs as soon as the stop signal arrives."""

    def __init__(self, config: uvicorn.Config, on_signal):
        super().__init__(config)
        self._on_signal = on_signal

    @contextlib.contextmanager
    def capture_signals(self):
        """As uvicorn's, without re-raising the signal once stopped: a graceful stop exits 0."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig, frame) -> None:
        if not self.should_exit:
            try:
                self._on_signal()
            except Exception:  # noqa: BLE001 - stopping must go on whatever the jobs say
                log.exception("cancelling simulation jobs failed")
        super().handle_exit(sig, frame)


def serve_until_stopped(app, settings: Settings, *, log_level: str = "warning", access_log: bool = False) -> int:
    """Serve ``app`` (from ``create_app``) on ``settings.host:port``; 0 after a graceful stop."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    jobs, pool = getattr(app.state, "jobs", None), getattr(app.state, "pool", None)

    def cancel_jobs() -> None:
        if jobs is not None:
            count = jobs.shutdown()
            if count:
                log.warning("stopping: %d simulation job(s) cancelled", count)

    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level,
                            access_log=access_log, timeout_graceful_shutdown=settings.shutdown_grace_seconds,
                            lifespan="off")
    server = _GracefulServer(config, cancel_jobs)
    # Everything loaded so far (modules, the app) lives as long as the process: keep it out of
    # the cyclic collector's full passes, which hold the GIL - and so stall the event loop -
    # for as long as they walk.
    gc.collect()
    gc.freeze()
    try:
        server.run()
    finally:
        if pool is not None:
            pool.shutdown()
    return 0


__all__ = ["serve_until_stopped"]
