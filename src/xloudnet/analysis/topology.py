"""The cloud as a graph: networks, subnets, routers, ports, floating IPs and the outside.

``build_topology(snapshot)`` returns a ``networkx.MultiDiGraph``. Node keys are ``"KIND:ID"``
(``network``, ``subnet``, ``router``, ``port``, ``floatingip``) plus ``"external"``, the world
beyond the external networks. Every node has ``kind``, ``id``, ``name``, ``project``,
``admin_state`` and ``layer`` (0 external … 5 ports: the rows of a drawing); subnets add ``cidr``,
``ip_version``, ``gateway_ip`` and ``address_scope`` (an external network's subnets share its row); ports and
routers ``addresses``; networks ``external`` and ``shared``.

Edges carry ``kind`` and, where packets are forwarded by a table, ``route``
(``{"destination", "nexthop", "type"}``):

===================  ===========================  ==================================================
edge                 kind                         route
===================  ===========================  ==================================================
network → subnet     ``subnet``                   —
port → network       ``attached``                 —
port → subnet        ``fixed_ip`` (``address``)   —
router → subnet      ``interface`` (``address``)  ``connected``: the subnet's CIDR, no next hop
router → subnet      ``route``                    ``extra``: a router route, via the subnet of its hop
router → network     ``gateway`` (external)       ``default``: 0.0.0.0/0 or ::/0 via the upstream
subnet → router/port ``route``                    ``default`` (the gateway) and ``host`` routes
network → external   ``upstream``                 —
floatingip → port    ``nat`` (``address``)        —
floatingip → port    ``port_forwarding`` (below)  —
floatingip → network ``allocated_from``           —
router → floatingip  ``holds``                    —
===================  ===========================  ==================================================

Ports owned by the network itself (router interfaces and gateways, DHCP, floating-IP ports) are
not nodes: a router interface is its ``interface`` edge. Other helpers: ``reach_from`` colours
the graph by what one port can reach (one vectorised batch on the compiled tables);
``visible_part`` keeps what a caller may see; ``security_group_graph`` is the group-reference
graph lint walks; ``to_json`` is the node-link form the API returns.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ..control.snapshot import Snapshot

if TYPE_CHECKING:  # networkx loads with the first graph: the server's start-up does not wait for it
    import networkx as nx

EXTERNAL = "external"
LAYERS = {"external": 0, "external_network": 1, "router": 2, "floatingip": 2, "subnet": 3, "network": 4,
          "port": 5}
DEFAULT_ROUTES = {4: "0.0.0.0/0", 6: "::/0"}
STUB_KINDS = frozenset({"router", "network", "subnet"})  # what an invisible neighbour may appear as
# Addresses tried, in order, as "somewhere outside the cloud" when colouring reach (documentation
# ranges first: they belong to nobody).
OUTSIDE_PROBES = {4: ("198.51.100.1", "192.0.2.1", "8.8.8.8"), 6: ("2001:db8:ffff::1",)}


def node(kind: str, rid: str) -> str:
    return f"{kind}:{rid}"


def _network_owned(port: dict) -> bool:
    return (port.get("device_owner") or "").startswith("network:")


def _addresses(port: dict) -> list[str]:
    return [f["ip_address"] for f in port.get("fixed_ips") or [] if f.get("ip_address")]


def build_topology(snapshot: Snapshot, tables=None) -> nx.MultiDiGraph:
    """The graph of ``snapshot`` (see the module docstring). ``tables`` — the compiled tables of
    the same snapshot — is remembered as ``graph.graph["tables"]`` so ``reach_from`` needs no
    second argument; ``to_json`` leaves it out."""
    import networkx as nx

    g = nx.MultiDiGraph()
    if tables is not None:
        g.graph["tables"] = tables
    g.add_node(EXTERNAL, kind="external", id=None, name="external", project=None, admin_state=True,
               layer=LAYERS["external"])
    _networks(g, snapshot)
    _routers(g, snapshot)
    _ports(g, snapshot)
    _host_routes(g, snapshot)
    _floatingips(g, snapshot)
    return g


def _base(record: dict, kind: str, layer: str | None = None) -> dict:
    return {"kind": kind, "id": record["id"], "name": record.get("name") or "",
            "project": record.get("project_id"), "admin_state": bool(record.get("admin_state_up", True)),
            "layer": LAYERS[layer or kind]}


def _networks(g: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    for nid in sorted(snapshot.networks):
        net = snapshot.networks[nid]
        external = bool(net.get("router:external"))
        g.add_node(node("network", nid), **_base(net, "network", "external_network" if external else None),
                   external=external, shared=bool(net.get("shared")))
        if external:
            g.add_edge(node("network", nid), EXTERNAL, kind="upstream")
    for sid in sorted(snapshot.subnets):
        sub = snapshot.subnets[sid]
        on_external = bool((snapshot.networks.get(sub.get("network_id")) or {}).get("router:external"))
        g.add_node(node("subnet", sid), **_base(sub, "subnet", "external_network" if on_external else None),
                   cidr=sub.get("cidr"),
                   ip_version=sub.get("ip_version"), gateway_ip=sub.get("gateway_ip"),
                   address_scope=_scope(snapshot, sub))
        if sub.get("network_id") in snapshot.networks:
            g.add_edge(node("network", sub["network_id"]), node("subnet", sid), kind="subnet")


def _routers(g: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    interfaces: dict[str, list[tuple[str, str]]] = {}  # router → [(subnet, address)]
    for pid in sorted(snapshot.ports):
        port = snapshot.ports[pid]
        owner = port.get("device_owner") or ""
        if owner.startswith("network:router_interface") or owner == "network:ha_router_replicated_interface":
            for f in port.get("fixed_ips") or []:
                interfaces.setdefault(port.get("device_id"), []).append((f["subnet_id"], f["ip_address"], pid))
    for rid in sorted(snapshot.routers):
        router = snapshot.routers[rid]
        me = node("router", rid)
        gateway = router.get("external_gateway_info") or {}
        gw_ips = gateway.get("external_fixed_ips") or []
        mine = interfaces.get(rid, [])
        g.add_node(me, **_base(router, "router"),
                   addresses=[a for _s, a, _p in mine] + [f.get("ip_address") for f in gw_ips])
        for sid, address, pid in mine:
            sub = snapshot.subnets.get(sid)
            if sub is None:
                continue
            g.add_edge(me, node("subnet", sid), kind="interface", address=address, port_id=pid,
                       route={"destination": sub.get("cidr"), "nexthop": None, "type": "connected"})
        if gateway.get("network_id") in snapshot.networks:
            for f in gw_ips or [{}]:
                sub = snapshot.subnets.get(f.get("subnet_id")) or {}
                version = sub.get("ip_version") or 4
                g.add_edge(me, node("network", gateway["network_id"]), kind="gateway", address=f.get("ip_address"),
                           route={"destination": DEFAULT_ROUTES[version], "nexthop": sub.get("gateway_ip"),
                                  "type": "default"})
        hop_subnets = [(snapshot.subnets[s], s) for s, _a, _p in mine if s in snapshot.subnets]
        hop_subnets += [(snapshot.subnets[f["subnet_id"]], f["subnet_id"]) for f in gw_ips
                        if f.get("subnet_id") in snapshot.subnets]
        for route in router.get("routes") or []:
            via = _subnet_holding(hop_subnets, route.get("nexthop"))
            if via is not None:
                g.add_edge(me, node("subnet", via), kind="route",
                           route={"destination": route.get("destination"), "nexthop": route.get("nexthop"),
                                  "type": "extra"})


def _scope(snapshot, sub: dict) -> str | None:
    """The subnet's address scope (its pool's), None without one (routers keep scopes apart)."""
    pool = snapshot.subnetpools.get(sub.get("subnetpool_id") or "") or {}
    return pool.get("address_scope_id")


def _subnet_holding(subnets: list[tuple[dict, str]], address) -> str | None:
    try:
        addr = ipaddress.ip_address(str(address))
    except ValueError:
        return None
    for sub, sid in subnets:
        try:
            if addr in ipaddress.ip_network(sub.get("cidr"), strict=False):
                return sid
        except (TypeError, ValueError):
            continue
    return None


def _ports(g: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    for pid in sorted(snapshot.ports):
        port = snapshot.ports[pid]
        if _network_owned(port):
            continue
        me = node("port", pid)
        g.add_node(me, **_base(port, "port"), addresses=_addresses(port),
                   security_groups=list(port.get("security_groups") or []),
                   device_owner=port.get("device_owner") or "")
        if port.get("network_id") in snapshot.networks:
            g.add_edge(me, node("network", port["network_id"]), kind="attached")
        for f in port.get("fixed_ips") or []:
            if f.get("subnet_id") in snapshot.subnets:
                g.add_edge(me, node("subnet", f["subnet_id"]), kind="fixed_ip", address=f.get("ip_address"))


def _address_owners(g: nx.MultiDiGraph, snapshot: Snapshot) -> dict[tuple[str, str], str]:
    """(network id, address) → the node holding it (a router interface or a port)."""
    owners = {}
    for rid, sid, data in g.edges(data=True):
        if data.get("kind") in ("interface", "fixed_ip"):
            sub = snapshot.subnets.get(sid.partition(":")[2])
            if sub is not None:
                owners.setdefault((sub.get("network_id"), data.get("address")), rid)
    return owners


def _host_routes(g: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    """A subnet's default route (its gateway) and host routes, towards the node holding the hop."""
    owners = _address_owners(g, snapshot)
    for sid in sorted(snapshot.subnets):
        sub = snapshot.subnets[sid]
        net = sub.get("network_id")
        routes = [(DEFAULT_ROUTES.get(sub.get("ip_version") or 4), sub.get("gateway_ip"), "default")]
        routes += [(r.get("destination"), r.get("nexthop"), "host") for r in sub.get("host_routes") or []]
        for destination, hop, kind in routes:
            target = owners.get((net, hop)) if hop else None
            if target is not None:
                g.add_edge(node("subnet", sid), target, kind="route",
                           route={"destination": destination, "nexthop": hop, "type": kind})


def _floatingips(g: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    for fid in sorted(snapshot.floatingips):
        fip = snapshot.floatingips[fid]
        me = node("floatingip", fid)
        attrs = {**_base(fip, "floatingip"), "name": fip.get("floating_ip_address") or ""}
        g.add_node(me, **attrs, addresses=[fip.get("floating_ip_address")])
        if fip.get("floating_network_id") in snapshot.networks:
            g.add_edge(me, node("network", fip["floating_network_id"]), kind="allocated_from")
        if fip.get("port_id") and g.has_node(node("port", fip["port_id"])):
            g.add_edge(me, node("port", fip["port_id"]), kind="nat", address=fip.get("fixed_ip_address"))
        if fip.get("router_id") in snapshot.routers:
            g.add_edge(node("router", fip["router_id"]), me, kind="holds")
    _port_forwardings(g, snapshot)


def _port_forwardings(g: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    """One ``port_forwarding`` edge per forwarding: ``protocol``, ``external_port_range``,
    ``internal_port_range`` and ``address`` (the internal IP)."""
    for pid in sorted(snapshot.port_forwardings):
        pf = snapshot.port_forwardings[pid]
        fip, port = node("floatingip", pf.get("floatingip_id")), node("port", pf.get("internal_port_id"))
        if g.has_node(fip) and g.has_node(port):
            g.add_edge(fip, port, kind="port_forwarding", protocol=pf.get("protocol"),
                       external_port_range=pf.get("external_port_range"),
                       internal_port_range=pf.get("internal_port_range"), address=pf.get("internal_ip_address"))


# ------------------------------------------------------------------------------------------
# Reach colouring


def reach_from(graph: nx.MultiDiGraph, port_id: str, query: dict | None = None, tables=None) -> dict[str, str]:
    """Colour ``graph`` by what ``port_id`` can reach, for one service (``query``: protocol,
    destination_port, ... as in a reachability query; default ICMP echo).

    Every other endpoint port, every floating IP and the outside are tried as destinations in one
    batch on the compiled tables. Sets node attribute ``reach`` (the disposition, or ``source``)
    on each destination and ``on_path`` on every port, router and network a reachable flow
    crosses, and ``reached``: the flow got through *to that node* (with overlapping address
    ranges a port's address can lead to another port: then ``reached`` is false and
    ``delivered_to`` says where it went); returns ``{node: disposition}``. Raises ``QueryError`` for an unknown port.
    """
    from ..dataplane import QueryError
    from ..dataplane.engine import Walk
    from ..dataplane.explain import Tracer
    from ..dataplane.pairs import pair_batch

    tables = tables if tables is not None else graph.graph.get("tables")
    if tables is None:
        raise ValueError("reach_from needs the compiled tables (build_topology(snapshot, tables))")
    if port_id not in tables.snapshot.ports:
        raise QueryError(f"Port {port_id} could not be found.", 404)
    service = {k: v for k, v in (query or {}).items() if v is not None}
    service.setdefault("protocol", "icmp")
    keys, destinations = _destinations(graph, tables, port_id)
    # The matrix's pair batch (resolved per endpoint, built with numpy) gives every verdict; only
    # the flows that got through are walked again with a tracer, to mark the nodes they cross.
    source = [{"port_id": port_id}]
    batch, _sources, _ids = pair_batch(tables, source, destinations, service)
    Walk(tables, batch).run()
    result = {key: _mark(graph, tables, batch, i, key) for i, key in enumerate(keys)}
    through = [i for i, key in enumerate(keys) if graph.nodes[key]["reached"]]
    if through:
        traced, _sources, _ids = pair_batch(tables, source, [destinations[i] for i in through], service)
        tracer = Tracer()
        Walk(tables, traced, tracer).run()
        for hops in tracer.hops.values():
            for hop in hops:
                if hop.get("node") in graph:
                    graph.nodes[hop["node"]]["on_path"] = True
    me = node("port", port_id)
    if me in graph:
        graph.nodes[me].update(reach="source", on_path=True)
    return result


def _destinations(graph: nx.MultiDiGraph, tables, port_id: str) -> tuple[list[str], list[dict]]:
    """Every other port, every floating IP and one address outside, as matrix endpoints."""
    keys, ends = [], []
    for key, data in graph.nodes(data=True):
        if data["kind"] == "port" and data["id"] != port_id:
            keys.append(key)
            ends.append({"port_id": data["id"]})
        elif data["kind"] == "floatingip" and data["addresses"][0]:
            keys.append(key)
            ends.append({"ip_address": data["addresses"][0]})
    outside = _outside_probe(tables)
    if outside is not None:
        keys.append(EXTERNAL)
        ends.append({"ip_address": outside})
    return keys, ends


def _mark(graph: nx.MultiDiGraph, tables, batch, i: int, key: str) -> str:
    """Set ``reach`` / ``reached`` / ``delivered_to`` on one destination."""
    from ..dataplane.batch import AT_PORT, DISPOSITIONS, REACHABLE_CODES

    code = int(batch.disp[i])
    through = code in REACHABLE_CODES
    expected = _expected_port(graph, key)
    landed = tables.ids("port")[int(batch.end_slot[i])] if int(batch.end_kind[i]) == AT_PORT else None
    reached = through and (expected is None or landed == expected)
    data = graph.nodes[key]
    data.update(reach=DISPOSITIONS[code], reached=bool(reached))
    if through and not reached:  # overlapping addresses: from here the port's address leads elsewhere
        data["delivered_to"] = f"port:{landed}" if landed else EXTERNAL
    return data["reach"]


def _expected_port(graph: nx.MultiDiGraph, key: str) -> str | None:
    """The port a flow to this node must land on (a floating IP's port; None: the outside)."""
    data = graph.nodes[key]
    if data["kind"] == "port":
        return data["id"]
    if data["kind"] == "floatingip":
        return next((graph.nodes[v]["id"] for _u, v, d in graph.out_edges(key, data=True) if d["kind"] == "nat"), "")
    return None


def _outside_probe(tables) -> str | None:
    from ..dataplane.flows import in_cloud

    for version, texts in OUTSIDE_PROBES.items():
        for text in texts:
            if not in_cloud(tables, version == 6, int(ipaddress.ip_address(text))):
                return text
    return None


# ------------------------------------------------------------------------------------------
# Visibility, serialisation


def visible_part(graph: nx.MultiDiGraph, can_see: Callable[[str, str], bool], hidden: str = "hidden") -> nx.MultiDiGraph:
    """The part of ``graph`` a caller may see: nodes ``can_see(kind, id)`` accepts, plus each
    invisible router, network or subnet next to a visible node as a stub ``KIND:hidden-N`` with
    no id, name or project (a router of another project on a shared network is there, but not
    whose it is); everything else (other projects' ports and floating IPs) is dropped."""
    import networkx as nx

    keep = {n for n, d in graph.nodes(data=True) if d["kind"] == "external" or can_see(d["kind"], d["id"])}
    stubs: dict[str, str] = {}
    for u, v in graph.edges():
        for inside, other in ((u, v), (v, u)):
            if inside in keep and other not in keep and other not in stubs \
                    and graph.nodes[other]["kind"] in STUB_KINDS:
                kind = graph.nodes[other]["kind"]
                stubs[other] = f"{kind}:{hidden}-{sum(1 for s in stubs.values() if s.startswith(kind + ':')) + 1}"
    out = nx.MultiDiGraph()
    for n in keep:
        data = dict(graph.nodes[n])
        if data.get("delivered_to") not in (None, EXTERNAL) and data["delivered_to"] not in keep:
            data["delivered_to"] = f"port:{hidden}"
        out.add_node(n, **data)
    for old, new in stubs.items():
        data = graph.nodes[old]
        out.add_node(new, kind=data["kind"], id=None, name=hidden, project=None, admin_state=data["admin_state"],
                     layer=data["layer"])
    rename = {**{n: n for n in keep}, **stubs}
    for u, v, data in graph.edges(data=True):
        if u in rename and v in rename and (u in keep or v in keep):
            extra = {k: val for k, val in data.items() if k != "port_id" or (u in keep and v in keep)}
            out.add_edge(rename[u], rename[v], **extra)
    if "tables" in graph.graph:
        out.graph["tables"] = graph.graph["tables"]
    return out


class TopologyNode(BaseModel, extra="allow"):
    node: str = Field(description="the node's key, KIND:ID or 'external' (KIND:hidden-N for a stub)")
    kind: str = Field(description="external, network, subnet, router, port or floatingip")
    id: str | None = None
    name: str = ""
    project: str | None = None
    admin_state: bool = True
    layer: int = Field(description="drawing row: 0 external ... 5 ports")


class TopologyEdge(BaseModel, extra="allow"):
    source: str
    target: str
    key: int
    kind: str = Field(description="subnet, attached, fixed_ip, interface, route, gateway, upstream, nat, "
                                  "allocated_from or holds")
    route: dict | None = Field(None, description='{"destination", "nexthop", "type": connected|extra|default|host}')


class TopologyGraph(BaseModel):
    """``GET /simulation/v1/topology``: the graph as node-link JSON."""

    directed: bool = True
    multigraph: bool = True
    graph: dict = Field(default_factory=dict)
    nodes: list[TopologyNode]
    edges: list[TopologyEdge]


def to_json(graph: nx.MultiDiGraph) -> dict:
    """Node-link JSON (``{"directed", "multigraph", "graph", "nodes", "edges"}``); each node's
    key is in ``"node"`` (its ``"id"`` is the resource id), edges name nodes by that key."""
    import networkx as nx

    g = graph.copy(as_view=False)
    g.graph = {k: v for k, v in graph.graph.items() if k != "tables"}
    return nx.node_link_data(g, edges="edges", name="node")


def from_json(data: dict) -> nx.MultiDiGraph:
    import networkx as nx

    return nx.node_link_graph(data, edges="edges", name="node", multigraph=True, directed=True)


# ------------------------------------------------------------------------------------------
# Security groups


def security_group_graph(snapshot: Snapshot) -> nx.DiGraph:
    """The security-group reference graph: one node ``group:ID`` per group (``kind="group"``,
    ``id``, ``name``, ``exists`` — false for a group only referenced — and ``members``: the ids
    of the ports in it), and an edge group → remote group for the rules naming a remote group
    (``kind="remote"``, ``rules``: ``[{"id", "direction", "ethertype"}]``).

    Members are a node attribute rather than port nodes: lint builds this graph on every run, and
    twenty thousand membership edges would cost it a third of its time."""
    import networkx as nx

    users: dict[str, set[str]] = {}
    for pid, port in snapshot.ports.items():
        for gid in port.get("security_groups") or ():
            users.setdefault(gid, set()).add(pid)
    g = nx.DiGraph()
    g.add_nodes_from((node("group", gid), {"kind": "group", "id": gid, "name": group.get("name") or "",
                                           "exists": True})
                     for gid, group in snapshot.security_groups.items())
    for rid in sorted(snapshot.security_group_rules):
        rule = snapshot.security_group_rules[rid]
        remote = rule.get("remote_group_id")
        if remote:
            u, v = node("group", rule["security_group_id"]), node("group", remote)
            if not g.has_edge(u, v):
                g.add_edge(u, v, kind="remote", rules=[])
            g[u][v]["rules"].append({"id": rid, "direction": rule.get("direction"),
                                     "ethertype": rule.get("ethertype")})
    g.add_nodes_from(node("group", gid) for gid in users)
    for key, data in g.nodes(data=True):
        gid = key.partition(":")[2]
        if "kind" not in data:
            data.update(kind="group", id=gid, name="", exists=False)
        data["members"] = frozenset(users.get(gid, ()))
    return g


def members(group_graph: nx.DiGraph, group_id: str) -> frozenset[str]:
    """Ids of the ports in a group (empty for an unknown group)."""
    data = group_graph.nodes.get(node("group", group_id))
    return data["members"] if data is not None else frozenset()


__all__ = ["TopologyGraph", "build_topology", "reach_from", "visible_part", "to_json", "from_json", "security_group_graph",
           "members", "EXTERNAL", "node"]
