"""Which engine runs a request: the batched one unless it cannot, the per-packet reference else.

- ``batched`` (``BatchedSimulation``): compiled scans over windows of packets; needs the flows'
  paths to order the stages acyclically and open-loop sources;
- ``reference`` (``Simulation``): one SimPy event per packet per stage — the model the batched
  engine is checked against; also runs what the batched engine cannot (cyclic stage orders).
"""

from __future__ import annotations

import numpy as np

from .batched import BatchedSimulation, NotBatchable
from .config import SimConfig
from .simulation import Simulation


def run_engine(tables, config: SimConfig, seed: int, plans: list, progress=None) -> dict:
    """Run ``config``; the result names the engine that ran it (``"engine"``)."""
    engine = config.engine
    if engine in ("auto", "batched"):
        try:
            sim = BatchedSimulation(tables, config, np.random.default_rng(seed), plans)
        except NotBatchable:
            if engine == "batched":
                raise
            engine = "reference"
        else:
            result = sim.run(progress)
            result["engine"] = "batched"
            return result
    result = Simulation(tables, config, np.random.default_rng(seed), plans=plans).run(progress)
    result["engine"] = "reference"
    return result


def engine_steps(tables, config: SimConfig, seed: int, plans: list):
    """``run_engine`` as a generator for servers that run jobs in slices: each engine yields
    the fraction done after each of its steps (a window of packets, for the batched one)."""
    if config.engine in ("auto", "batched"):
        try:
            sim = BatchedSimulation(tables, config, np.random.default_rng(seed), plans)
        except NotBatchable:
            if config.engine == "batched":
                raise
        else:
            result = yield from sim.steps()
            result["engine"] = "batched"
            return result
    result = yield from Simulation(tables, config, np.random.default_rng(seed), plans=plans).steps()
    result["engine"] = "reference"
    return result


__all__ = ["run_engine", "engine_steps"]
