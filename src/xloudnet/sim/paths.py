"""A flow's path through the simulated network, read from the data plane's explained trace.

The analyser's trace (``dataplane.explain.trace``, what ``POST /reachability`` answers) gives the
verdict, the routers crossed, where the packet leaves or enters the cloud, the QoS applying at
the source's egress and the destination's ingress, and the security-group rules that decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..dataplane import FlowTables, resolve
from ..dataplane.explain import trace
from ..model.dispositions import EXTERNAL, REACHABLE, Stage



@dataclass
class Plan:
    """What the simulation needs of one flow's trace."""

    disposition: str
    links: list = field(default_factory=list)        # (link id, kind), in order
    egress_qos: dict | None = None                    # the qos-egress hop's ``qos``
    ingress_qos: dict | None = None                   # the qos-ingress hop's ``qos``
    send_rules: list = field(default_factory=list)    # rule ids every sent packet hits
    arrive_rules: list = field(default_factory=list)  # rule ids hit at the destination port
    delivered_to: str | None = None

    @property
    def passes(self) -> bool:
        return self.disposition in REACHABLE


def plan_flow(tables: FlowTables, query: dict) -> Plan:
    """Resolve ``query`` (raises ``QueryError``) and turn its trace into a ``Plan``."""
    answer = trace(tables, resolve(tables, query))
    return plan_from_trace(answer)


def plan_from_trace(answer: dict) -> Plan:
    hops = answer["hops"]
    plan = Plan(answer["disposition"], delivered_to=answer.get("delivered_to"))
    rules = [h["rule_id"] for h in hops if h.get("rule_id")]
    if not plan.passes:
        plan.send_rules = rules  # every rule before the drop saw every packet
        return plan
    source = hops[0]["node"] if hops else None
    for i, hop in enumerate(hops):
        node, stage = hop["node"], hop["stage"]
        if stage == Stage.QOS_EGRESS:
            plan.egress_qos = hop.get("qos")
        elif stage == Stage.QOS_INGRESS:
            plan.ingress_qos = hop.get("qos")
        if hop.get("rule_id"):
            (plan.send_rules if node == source else plan.arrive_rules).append(hop["rule_id"])
        if i == 0 and node.startswith("port:"):
            plan.links.append((f"{node}/tx", "port"))
        if stage == Stage.ENTER and node.startswith("router:"):
            rid = node.split(":", 1)[1]
            if i > 0 and hops[i - 1]["node"] == EXTERNAL:
                plan.links.append((f"uplink:{rid}/in", "router_uplink"))
            plan.links.append((f"router:{rid}", "router"))
        if stage == Stage.EXIT and node == EXTERNAL:
            last_router = next((h["node"] for h in reversed(hops[:i]) if h["node"].startswith("router:")), None)
            if last_router is not None:
                plan.links.append((f"uplink:{last_router.split(':', 1)[1]}/out", "router_uplink"))
    delivered = answer.get("delivered_to") or ""
    if delivered.startswith("port:") and delivered != source:
        plan.links.append((f"{delivered}/rx", "port"))
    return plan
