"""Reachability of one flow, explained (``POST /simulation/v1/reachability``; docs/dataplane.md)."""

from __future__ import annotations

from ..dataplane import FlowTables, QueryError, resolve
from ..dataplane.explain import allowed_set, trace
from ..model.protocols import PORT_PROTOCOLS


def reachability(tables: FlowTables, query: dict) -> dict:
    """Answer one reachability query.

    Returns ``{"disposition", "reachable", "flow", "hops", "return", "delivered_to",
    "delivered_flow"}``:

    - ``flow``: the concrete packet as sent (ethertype, source_ip, destination_ip, protocol
      number, source_port, destination_port, icmp_type, icmp_code; absent fields are null);
    - ``hops``: ``{"node", "stage", "action"}`` plus the deciding ``rule_id`` / ``route``
      (``{"destination", "nexthop"}``) / ``translation`` (``{"type", "from", "to"}``) /
      ``conntrack`` ("established"), and a ``reason`` where the packet stopped; ``qos-egress`` /
      ``qos-ingress`` hops (after the security groups, when the port's policy — its own, else
      its network's — has a rule for that direction; action ``PERMIT``, nothing is policed)
      carry ``qos``: ``{"policy_id", "dscp_mark"?, "bandwidth_limit"?, "packet_rate_limit"?,
      "minimum_bandwidth"?}`` (see ``dataplane.qos``);
    - ``return``: ``{"disposition", "hops", "flow"}`` of the reply, or null when there is none
      (refused flows, one-way ICMP);
    - ``delivered_to``: ``"port:ID"``, ``"router:ID"`` or ``"external"`` for reachable flows;
      ``delivered_flow``: the packet as it arrived (after NAT).

    When the protocol is left out (or the destination port of a port protocol), the answer also
    has ``allowed`` — the exact set of services that get through, as a list of
    ``{"protocol": "tcp"|"udp"|..., "port_ranges": [[lo, hi], ...]}`` (port protocols),
    ``{"protocol": "icmp"|"ipv6-icmp", "icmp_types": [[lo, hi], ...] (type ranges allowed with every code),
    "icmp_codes": {"<type>": [[lo, hi], ...]}}`` (types allowed for some codes only),
    ``{"protocol": "<name or number>"}`` (other protocols, wholly allowed), or
    ``[{"protocol": "any"}]`` when every protocol is wholly allowed; ``[]`` when nothing is.
    The explained flow is then the first allowed service (tcp, udp, icmp first), else the first.

    Raises ``QueryError`` (``http_status`` 404 for unknown port/network ids, else 400).
    """
    flow = resolve(tables, query, concrete=False)
    wants_allowed = flow.proto is None or (flow.proto in PORT_PROTOCOLS and flow.dport < 0)
    allowed = None
    if wants_allowed:
        allowed, flow = allowed_set(tables, flow)
    answer = trace(tables, flow)
    if allowed is not None:
        answer["allowed"] = allowed
    return answer


__all__ = ["reachability", "QueryError"]
