"""Traffic sources: one simpy process per flow, emitting packets into the flow's path.

- ``cbr``: constant bit rate, one packet every ``bits / rate`` seconds;
- ``poisson``: exponential gaps with the same mean (seeded numpy Generator);
- ``onoff``: bursts — ``on_ms`` at ``rate`` then ``off_ms`` of silence (mean rate
  ``rate × on / (on + off)``).

A source sends from ``start_s`` until ``stop_s``; each packet is handed to ``emit(t)``.
"""

from __future__ import annotations

import numpy as np

PATTERNS = ("cbr", "poisson", "onoff", "tcp")  # tcp: sim.tcp.TcpSource (closed loop)


def cbr(env, emit, interval: float, start: float, stop: float):
    """Constant rate: one packet every ``interval`` seconds."""
    if start > env.now:
        yield env.timeout(start - env.now)
    while env.now < stop:
        emit()
        yield env.timeout(interval)


def poisson(env, emit, interval: float, start: float, stop: float, rng: np.random.Generator,
            batch: int = 4096):
    """Poisson arrivals of mean gap ``interval`` (gaps drawn in batches)."""
    if start > env.now:
        yield env.timeout(start - env.now)
    while True:
        for gap in rng.exponential(interval, batch).tolist():
            if env.now >= stop:
                return
            emit()
            yield env.timeout(gap)


def onoff(env, emit, interval: float, start: float, stop: float, on_s: float, off_s: float):
    """Bursts: packets every ``interval`` for ``on_s``, then ``off_s`` of silence."""
    if start > env.now:
        yield env.timeout(start - env.now)
    while env.now < stop:
        burst_end = min(env.now + on_s, stop)
        while env.now < burst_end:
            emit()
            yield env.timeout(interval)
        if off_s > 0 and env.now < stop:
            yield env.timeout(off_s)


def start_source(env, pattern: str, emit, interval: float, start: float, stop: float,
                 rng: np.random.Generator, on_s: float = 0.1, off_s: float = 0.1):
    """Start the process for ``pattern``."""
    if pattern == "cbr":
        return env.process(cbr(env, emit, interval, start, stop))
    if pattern == "poisson":
        return env.process(poisson(env, emit, interval, start, stop, rng))
    if pattern == "onoff":
        return env.process(onoff(env, emit, interval, start, stop, on_s, off_s))
    raise ValueError(f"unknown traffic pattern {pattern!r}")
