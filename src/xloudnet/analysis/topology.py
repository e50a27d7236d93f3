"""``build_topology(snapshot, tables=None) -> networkx.MultiDiGraph``: the cloud as a graph.

Nodes are ``network:ID``, ``subnet:ID``, ``router:ID``, ``port:ID``, ``floatingip:ID`` and
``external`` (the world beyond the external networks), each with ``kind`` and ``name`` (and the
record's ``project_id``). Edges go both ways and carry ``kind``: ``attached`` (port ↔ network),
``subnet`` (subnet ↔ network), ``interface`` / ``gateway`` (router ↔ network, with ``routes``: the
destinations the router sends that way), ``nat`` (floating IP ↔ port) and ``uplink`` (external
network ↔ the outside).

A first, minimal graph: the CLI's topology command refines drawing and colouring on the same
function name and signature.
"""

from __future__ import annotations

import networkx as nx

from ..control.snapshot import Snapshot


def _both(graph: nx.MultiDiGraph, a: str, b: str, **attrs) -> None:
    graph.add_edge(a, b, **attrs)
    graph.add_edge(b, a, **attrs)


def build_topology(snapshot: Snapshot, tables=None) -> nx.MultiDiGraph:
    """The graph of ``snapshot`` (``tables`` is accepted for callers that hold compiled tables;
    this version reads the snapshot only)."""
    graph = nx.MultiDiGraph()
    graph.add_node("external", kind="external", name="external")
    for kind, records in (("network", snapshot.networks), ("subnet", snapshot.subnets), ("router", snapshot.routers)):
        for rid, record in records.items():
            graph.add_node(f"{kind}:{rid}", kind=kind, name=record.get("name") or "",
                           project_id=record.get("project_id"))
    for nid, network in snapshot.networks.items():
        if network.get("router:external"):
            _both(graph, f"network:{nid}", "external", kind="uplink")
    subnets_of: dict[str, list[str]] = {}
    for sid, subnet in snapshot.subnets.items():
        _both(graph, f"subnet:{sid}", f"network:{subnet['network_id']}", kind="subnet")
        subnets_of.setdefault(subnet["network_id"], []).append(subnet.get("cidr"))
    for pid, port in snapshot.ports.items():
        owner = port.get("device_owner") or ""
        network = f"network:{port['network_id']}"
        if owner in ("network:router_interface", "network:router_interface_distributed",
                     "network:ha_router_replicated_interface"):
            if f"router:{port.get('device_id')}" in graph:
                _both(graph, f"router:{port['device_id']}", network, kind="interface", port_id=pid,
                      routes=sorted(subnets_of.get(port["network_id"], [])))
            continue
        if owner.startswith("network:"):
            continue  # gateways, DHCP and floating-IP ports are drawn as the edges they make
        graph.add_node(f"port:{pid}", kind="port", name=port.get("name") or "", project_id=port.get("project_id"),
                       addresses=[f["ip_address"] for f in port.get("fixed_ips") or []])
        _both(graph, f"port:{pid}", network, kind="attached")
    for rid, router in snapshot.routers.items():
        gateway = router.get("external_gateway_info") or {}
        if gateway.get("network_id"):
            extra = [r.get("destination") for r in router.get("routes") or []]
            _both(graph, f"router:{rid}", f"network:{gateway['network_id']}", kind="gateway",
                  routes=["0.0.0.0/0", "::/0", *extra])
    for fid, fip in snapshot.floatingips.items():
        graph.add_node(f"floatingip:{fid}", kind="floatingip", name=fip.get("floating_ip_address") or "",
                       project_id=fip.get("project_id"))
        _both(graph, f"floatingip:{fid}", f"network:{fip['floating_network_id']}", kind="attached")
        if fip.get("port_id") and f"port:{fip['port_id']}" in graph:
            _both(graph, f"floatingip:{fid}", f"port:{fip['port_id']}", kind="nat")
    return graph


__all__ = ["build_topology"]
