"""Address scopes in the data plane (docs/semantics.md §4.8).

A subnet's scope is its subnet pool's ``address_scope_id``; subnets without one share the
"no scope" scope. The API keeps every subnet of one IP version on a network in one scope, so the
compiled tables hold one scope code per network and family (``net.scope4`` / ``net.scope6``:
a slot of the ``scope`` family, -1 for "no scope").

Two things are compiled here:

- the scope codes of a network (``network_scopes``);
- the routes the upstream of an external network learns for scoped tenant space
  (``announced_roots``): for every router with a gateway on the network whose external subnet of
  a family is in a real scope, the router's interface subnets of that same scope, via the
  router's gateway address (as a BGP speaker announces them). Longest prefix wins, then the
  lowest gateway address. The value is the gateway port's slot.

The per-packet check itself (a router forwards between subnets of one scope unless it
translates the packet at its gateway) is in ``routing.route_out``.
"""

from __future__ import annotations

import numpy as np

from ..model.dispositions import EXTERNAL, Action, Stage
from . import topology as topo
from . import trie
from .addresses import cidr_family, parse_ip, parse_range, prefix_len

NO_SCOPE = -1


def subnet_scope(subnet: dict | None, pools) -> str | None:
    """The address scope id of a subnet (its pool's), or None."""
    pool_id = (subnet or {}).get("subnetpool_id")
    pool = pools.get(pool_id) if pool_id else None
    return (pool or {}).get("address_scope_id") or None


def network_scopes(subnets: list[dict], pools, scope_slot) -> tuple[int, int]:
    """Scope codes (IPv4, IPv6) of a network from its subnets (sorted by id): the first subnet of
    each family decides (the API keeps them all in one scope)."""
    codes = [NO_SCOPE, NO_SCOPE]
    seen = [False, False]
    for subnet in subnets:
        v6 = cidr_family(subnet.get("cidr"))
        if v6 is None or seen[v6]:
            continue
        seen[v6] = True
        scope = subnet_scope(subnet, pools)
        codes[v6] = scope_slot(scope) if scope else NO_SCOPE
    return codes[0], codes[1]


def announced_routes(ext_id: str, snap, index) -> list[tuple]:
    """``(v6, first, last, sort key, gateway port id, text)`` for each scoped tenant subnet the
    upstream of external network ``ext_id`` routes to a router's gateway."""
    pools, subnets, ports = snap.subnetpools, snap.subnets, snap.ports
    out = []
    if not any(subnet_scope(subnets.get(sid), pools) for sid in index["net_subnets"].get(ext_id, ())):
        return out  # the usual case: an unscoped external network announces nothing
    gateways = [p for p in (ports.get(pid) for pid in index["net_ports"].get(ext_id, ()))
                if p is not None and topo.is_gateway_port(p)]
    for gateway in sorted(gateways, key=lambda p: p["id"]):
        gid = gateway["id"]
        for fixed in gateway.get("fixed_ips") or []:
            scope = subnet_scope(subnets.get(fixed.get("subnet_id")), pools)
            try:
                v6, hop = parse_ip(fixed.get("ip_address"))
            except (ValueError, TypeError):
                continue
            if scope is None:
                continue
            for pid in sorted(index["rt_ports"].get(gateway.get("device_id"), ())):
                port = ports.get(pid)
                if port is None or topo.is_gateway_port(port):
                    continue
                for inner in port.get("fixed_ips") or []:
                    subnet = subnets.get(inner.get("subnet_id"))
                    if subnet is None or subnet_scope(subnet, pools) != scope:
                        continue
                    try:
                        fam6, first, last = parse_range(subnet["cidr"])
                    except (ValueError, KeyError):
                        continue
                    if fam6 == v6:
                        text = {"destination": subnet["cidr"], "nexthop": fixed["ip_address"]}
                        out.append((v6, first, last, (-prefix_len(subnet["cidr"]), hop), gid, text))
    return out


def announced_roots(routes: list[tuple], port_slot, nodes: trie.Arena) -> tuple[int, int]:
    """Trie roots (IPv4, IPv6): address → gateway port slot (-1: not announced)."""
    roots = []
    for v6 in (False, True):
        mine = sorted((r for r in routes if r[0] == v6), key=lambda r: r[3])
        if not mine:
            roots.append(trie.leaf(-1))
            continue
        starts, values = trie.paint([(first, last, port_slot(gid)) for _v6, first, last, _k, gid, _t in mine],
                                    -1, topo.TOPS[v6])
        roots.append(trie.place_trie(nodes, starts, values, topo.STRIDES[v6]))
    return roots[0], roots[1]


def announced_text(routes: list[tuple], v6: bool, value: int) -> dict | None:
    """The route (as a trace shows it) that sent ``value`` (an address) to a gateway."""
    for fam6, first, last, _key, _gid, text in sorted(routes, key=lambda r: r[3]):
        if fam6 == v6 and first <= value <= last:
            return text
    return None


# ------------------------------------------------------------------------------------------
# Per packet (vectorised; called by the engine)


def scoped_gateway(w, idx, net) -> np.ndarray:
    """External hosts' packets to addresses off their external network ``net``: the gateway port
    slot the upstream routes them to (announced scoped space), else -1."""
    tb, b = w.tb, w.b
    if not len(idx) or not tb.scoped:
        return np.full(len(idx), -1, dtype=np.int64)
    port = trie.lookup_addr(tb.nodes, tb.net.ann4[net], tb.net.ann6[net], b.v6[idx], b.dst_hi[idx], b.dst_lo[idx])
    if w.tr is not None:
        ids = tb.ids("net")
        for i, n, p in zip(idx, net, port):
            if p >= 0:
                value = (int(b.dst_hi[i]) << 64) | int(b.dst_lo[i])
                route = announced_text(tb.announced.get(ids[n], []), bool(b.v6[i]), value)
                w.tr.add(int(i), {"node": EXTERNAL, "stage": Stage.FORWARD, "action": Action.FORWARD, "route": route})
    return port.astype(np.int64)


def scope_of(tb, port, v6) -> np.ndarray:
    """Scope codes of the networks of router ports ``port`` (-2 for no port: nothing to compare)."""
    net = tb.port.net[np.maximum(port, 0)]
    safe = np.maximum(net, 0)
    code = np.where(v6, tb.net.scope6[safe], tb.net.scope4[safe])
    return np.where((port >= 0) & (net >= 0), code, -2)


def scope_names(tb, idx, here, there) -> dict:
    """For traces: packet → ``{"from", "to"}`` address scope ids (None: no scope)."""
    ids = tb.ids("scope")

    def name(code) -> str | None:
        return ids[int(code)] if 0 <= int(code) < len(ids) else None
    return {int(i): {"from": name(h), "to": name(t)} for i, h, t in zip(idx, here, there)}


__all__ = ["scoped_gateway", "scope_of", "scope_names", "NO_SCOPE", "subnet_scope", "network_scopes", "announced_routes", "announced_roots", "announced_text"]
