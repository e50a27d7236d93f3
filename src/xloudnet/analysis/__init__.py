"""xloudnet's analysis library: questions about a cloud's data plane, asked in Python.

A ``Session`` binds a control plane and a caller (admin by default); its methods take a question
(a pydantic model, a dict or keyword fields) and return a typed answer — ``.model_dump()`` for
JSON, ``.table()`` for a rich terminal table. The HTTP API under ``/simulation/v1`` and the CLI
ask the same questions through the same ``Session``.

Runnable example (builds a tiny cloud through the control-plane services, then asks)::

    from xloudnet.analysis import Session
    from xloudnet.control.context import Context
    from xloudnet.control.plane import ControlPlane

    plane = ControlPlane()
    demo = Context(project_id="demo", roles=frozenset({"member", "reader"}))
    net = plane.networks.create(demo, {"name": "net1"})
    plane.subnets.create(demo, {"network_id": net["id"], "cidr": "10.0.0.0/24", "ip_version": 4})
    vm1, vm2 = (plane.ports.create(demo, {"network_id": net["id"], "name": n, "device_owner": "compute:nova"})
                for n in ("vm1", "vm2"))

    session = Session(plane, demo)
    answer = session.reach(source={"port_id": vm1["id"]}, destination={"port_id": vm2["id"]},
                           protocol="tcp", destination_port=22)
    print(answer.disposition)                  # ACCEPTED: the default group admits its own members
    answer = session.reach(source={"port_id": vm1["id"]}, destination={"port_id": vm2["id"]})
    print(answer.allowed)                      # no protocol given: the exact allowed set (here: any)
    print(session.lint().summary)
    graph = session.topology()                 # networkx.MultiDiGraph

    from rich.console import Console
    Console().print(answer.table())

See ``docs/analysis.md`` for every question, its answer and the visibility rules.
"""

from .models import (AllowedService, Change, Endpoint, Finding, FlowChange, Hop, LintAnswer, LintQuestion,
                     MatrixAnswer, MatrixQuestion, Packet, QosWhatIfAnswer, QosWhatIfQuestion, ReachAnswer,
                     ReachQuestion, SGTestAnswer, SGTestQuestion, SimulatedFlow, SimulationJob, SimulationRequest, SimulationResult,
                     WhatIfAnswer, WhatIfQuestion)
from .session import PreparedQosWhatIf, PreparedSimulation, Session
from .visibility import HIDDEN


def __getattr__(name: str):
    # The engine's error type, without importing the engine when the package loads.
    if name == "QueryError":
        from ..dataplane import QueryError

        return QueryError
    raise AttributeError(name)


__all__ = [
    "Session", "PreparedSimulation", "PreparedQosWhatIf", "HIDDEN", "QueryError",
    "Endpoint", "ReachQuestion", "MatrixQuestion", "Change", "WhatIfQuestion", "SGTestQuestion", "LintQuestion",
    "SimulatedFlow", "SimulationRequest", "QosWhatIfQuestion",
    "ReachAnswer", "Hop", "Packet", "AllowedService", "MatrixAnswer", "WhatIfAnswer", "FlowChange",
    "SGTestAnswer", "LintAnswer", "Finding", "SimulationResult", "SimulationJob",
    "QosWhatIfAnswer",
]
