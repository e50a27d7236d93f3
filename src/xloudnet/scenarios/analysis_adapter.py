"""The one place scenarios call the analyser and the simulator.

Intents need four things: compiled tables, one explained flow (with its exact allowed set when
the protocol is left out), many verdicts at once (vectorised), and a QoS capacity run. When the
analysis library grows a session object, this module is the single edit.
"""

from __future__ import annotations

from typing import Any, Callable

from ..analysis.capacity import run_capacity
from ..analysis.reachability import reachability
from ..control.plane import ControlPlane
from ..dataplane import QueryError, compile_tables, evaluate_flows


class Analyser:
    """Questions about one provisioned plane (compiled once)."""

    def __init__(self, plane: ControlPlane):
        self.plane = plane
        self.tables = compile_tables(plane.snapshot())

    def explain(self, query: dict) -> dict:
        """One flow, explained: disposition, hops, return path; ``allowed`` without a protocol."""
        return reachability(self.tables, query)

    def verdicts(self, queries: list[dict]) -> list[dict]:
        """``{"disposition", "reachable", "return_disposition"}`` per concrete query, as one batch."""
        return evaluate_flows(self.tables, queries) if queries else []

    def simulate(self, request: dict, progress: Callable[[float], Any] | None = None) -> dict:
        return run_capacity(self.tables, request, progress)


__all__ = ["Analyser", "QueryError"]
