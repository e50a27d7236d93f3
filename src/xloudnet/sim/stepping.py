"""Driving a step generator: each engine's ``steps()`` yields the fraction done and returns the
result; ``run`` is the same thing with an optional progress callback."""

from __future__ import annotations

from collections.abc import Callable, Generator


def drive(steps: Generator[float, None, dict], progress: Callable[[float], object] | None = None) -> dict:
    """Run ``steps`` to its end, calling ``progress(fraction)`` after each step; its result."""
    while True:
        try:
            fraction = next(steps)
        except StopIteration as done:
            return done.value
        if progress is not None:
            progress(fraction)


__all__ = ["drive"]
