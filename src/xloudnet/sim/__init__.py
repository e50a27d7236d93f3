"""QoS simulation: consumes FlowTables, never the control plane.

- the parts: ``TokenBucket`` (``bucket``), ``Policer``, ``Shaper``, ``Link``, traffic sources
  (``sources``: cbr, poisson, onoff; ``tcp``: a closed-loop TCP-like source), ``RunMetrics``;
- ``backends``: whose semantics a run follows (Open vSwitch, Linux bridge / tc, OVN);
- ``stages.build_layout``: the stages of a run and each flow's way through them (both engines);
- the engines: ``BatchedSimulation`` (windows of packets through compiled scans) and
  ``Simulation`` (per packet, SimPy — the reference); ``run_engine`` picks one;
- ``SimConfig`` / ``FlowSpec`` / ``LinkSpec`` (``config``; defaults documented there and in
  docs/simulation.md).
"""

from .backends import BACKENDS, DEFAULT_BACKEND, Backend
from .batched import BatchedSimulation, NotBatchable
from .bucket import TokenBucket, bandwidth_bucket, packet_rate_bucket
from .config import LINK_DEFAULTS, FlowSpec, LinkSpec, SimConfig
from .engine import run_engine
from .link import Link
from .metrics import RunMetrics
from .policer import Policer
from .shaper import Shaper
from .simulation import Simulation
from .tcp import TcpSource

__all__ = ["TokenBucket", "bandwidth_bucket", "packet_rate_bucket", "Policer", "Shaper", "Link", "TcpSource",
           "RunMetrics", "Backend", "BACKENDS", "DEFAULT_BACKEND", "Simulation", "BatchedSimulation",
           "NotBatchable", "run_engine", "SimConfig", "FlowSpec", "LinkSpec", "LINK_DEFAULTS"]
