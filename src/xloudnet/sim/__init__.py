"""Discrete-event QoS simulation on simpy (docs/simulation.md): consumes FlowTables, never the
control plane.

- ``TokenBucket`` (``bucket``), ``Policer``, ``Shaper``, ``Link`` — the parts;
- traffic sources (``sources``: cbr, poisson, onoff) and ``FlowMetrics`` (``metrics``);
- ``Simulation(tables, config, rng).run(progress=None) -> dict`` with ``SimConfig`` /
  ``FlowSpec`` / ``LinkSpec`` (``config``; defaults documented there and in docs/simulation.md).
"""

from .bucket import TokenBucket, bandwidth_bucket, packet_rate_bucket
from .config import LINK_DEFAULTS, FlowSpec, LinkSpec, SimConfig
from .link import Link
from .policer import Policer
from .shaper import Shaper
from .simulation import Simulation

__all__ = ["TokenBucket", "bandwidth_bucket", "packet_rate_bucket", "Policer", "Shaper", "Link",
           "Simulation", "SimConfig", "FlowSpec", "LinkSpec", "LINK_DEFAULTS"]
