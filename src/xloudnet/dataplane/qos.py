"""QoS as the analyser sees it (docs/semantics.md §4.3, §9): which policy applies to a port and
what it does in one direction. The analyser never polices (that is the simulator's job); traces
show the policy as a ``qos-egress`` / ``qos-ingress`` hop with action ``PERMIT``.
"""

from __future__ import annotations

# What a trace reports of each rule type, per direction: DSCP marking acts on egress only;
# the limits and the minimum carry their own direction (default egress, as in Neutron).
FIELDS = {
    "bandwidth_limit": ("max_kbps", "max_burst_kbps"),
    "packet_rate_limit": ("max_kpps", "max_burst_kpps"),
    "minimum_bandwidth": ("min_kbps",),
}


def port_qos(tables, port_id: str, direction: str) -> dict | None:
    """``{"policy_id", "dscp_mark"?, "bandwidth_limit"?, "packet_rate_limit"?,
    "minimum_bandwidth"?}`` for traffic leaving (``"egress"``) or reaching (``"ingress"``) a
    port — its own policy, else its network's (``FlowTables.qos_policy``) — or ``None`` when
    no rule of that policy applies in that direction. Each rule entry carries its ``rule_id``
    and its fields as configured."""
    policy_id = tables.qos_policy(port_id)
    policy = tables.snapshot.qos_policies.get(policy_id) if policy_id else None
    if not policy:
        return None
    found: dict = {}
    for rule in policy.get("rules") or []:
        kind = rule.get("type")
        if kind == "dscp_marking" and direction == "egress":
            found["dscp_mark"] = rule.get("dscp_mark")
        elif kind in FIELDS and (rule.get("direction") or "egress") == direction:
            found[kind] = {"rule_id": rule.get("id"), **{k: rule.get(k) for k in FIELDS[kind]}}
    return {"policy_id": policy_id, **found} if found else None
