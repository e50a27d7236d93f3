"""Forwarding pieces: who owns an address on a network, router and subnet route tables.

Each piece is compiled from a handful of records (one network with its ports, subnets and
floating IPs; one router with its ports, subnets and floating IPs; one subnet) into tries in the
shared node arena, so it can be cached and reused while those records are unchanged.

Owner maps (one per network and family) answer two questions at once, packed in one value:
``((owner + 2) << 1) | on_link``. ``on_link`` says the address lies in a subnet of the network;
``owner`` is ``NOBODY`` (-1), ``UPSTREAM`` (-2: an external subnet's unowned gateway), a port
(``2 * slot``) or a router holding a floating IP there (``2 * slot + 1``). Precedence follows
docs/semantics.md §4.6: a floating IP held by a router, then the fixed-IP holder with the lowest port id,
then an allowed-address-pair holder with the lowest port id, then the upstream.

Route tables are partitions painted in priority order: longest prefix, then an extra route over
a connected one, then the lowest next hop (ECMP), then list order. A router's own addresses are
painted over its routes as ``LOCAL`` entries that also remember the route beneath them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import trie
from .addresses import format_ip, parse_ip, parse_range, prefix_len

NOBODY, UPSTREAM = -1, -2
LOCAL, CONNECTED, VIA = 1, 2, 3
TOPS = {False: (1 << 32) - 1, True: (1 << 128) - 1}
STRIDES = {False: (8, 8, 8, 8), True: (8,) * 16}
ENTRY_DTYPE = np.dtype([("kind", np.int8), ("port", np.int32), ("v6", np.bool_),
                        ("nh_hi", np.uint64), ("nh_lo", np.uint64), ("aux", np.int32)])


def owner_code(kind: str, slot: int) -> int:
    """Owner value of a port or of a router holding a floating IP."""
    return 2 * slot + (1 if kind == "router" else 0)


def owner_lookup(tb, net, v6, hi, lo):
    """``(owner, on_link)`` of addresses on networks (see the module docstring)."""
    safe = np.maximum(net, 0)
    value = trie.lookup_addr(tb.nodes, tb.net.own4[safe], tb.net.own6[safe], v6, hi, lo)
    value = np.where(net >= 0, value, pack_owner(NOBODY, 0))
    return (value >> 1) - 2, (value & 1).astype(bool)


def pack_owner(owner: int, on_link: int) -> int:
    return ((owner + 2) << 1) | on_link


def is_router_port(port: dict) -> bool:
    owner = port.get("device_owner") or ""
    return owner.startswith("network:router_interface") or owner in (
        "network:router_gateway", "network:ha_router_replicated_interface")


def is_gateway_port(port: dict) -> bool:
    return port.get("device_owner") == "network:router_gateway"


def is_fip_port(port: dict) -> bool:
    return port.get("device_owner") == "network:floatingip"


def _ranges_of(text: str, v6: bool) -> tuple[int, int] | None:
    try:
        fam6, first, last = parse_range(text)
    except ValueError:
        return None
    return (first, last) if fam6 == v6 else None


def _addr(text, v6: bool) -> int | None:
    try:
        fam6, value = parse_ip(text)
    except (ValueError, TypeError):
        return None
    return value if fam6 == v6 else None


# ------------------------------------------------------------------------------------------
# Networks


def network_roots(net: dict, subnets: list[dict], ports: list[dict], fips: list[dict],
                  port_slot, router_slot, nodes: trie.Arena) -> tuple[int, int]:
    """Owner-map roots (v4, v6) of one network. ``ports``/``fips``/``subnets`` sorted by id."""
    external = bool(net.get("router:external"))
    roots = []
    for v6 in (False, True):
        owned = []
        if external and not v6:
            for fip in fips:
                value = _addr(fip.get("floating_ip_address"), False)
                if value is not None and fip.get("router_id"):
                    owned.append((value, value, owner_code("router", router_slot(fip["router_id"]))))
        holders = [p for p in ports if not is_fip_port(p)]
        for port in holders:
            for fixed in port.get("fixed_ips") or []:
                value = _addr(fixed.get("ip_address"), v6)
                if value is not None:
                    owned.append((value, value, owner_code("port", port_slot(port["id"]))))
        for port in holders:
            for pair in port.get("allowed_address_pairs") or []:
                span = _ranges_of(pair.get("ip_address"), v6)
                if span:
                    owned.append(span + (owner_code("port", port_slot(port["id"])),))
        links = []
        for subnet in subnets:
            span = _ranges_of(subnet.get("cidr"), v6)
            if span:
                links.append(span + (1,))
                gateway = _addr(subnet.get("gateway_ip"), v6) if external else None
                if gateway is not None:
                    owned.append((gateway, gateway, UPSTREAM))
        owners = trie.paint(owned, NOBODY, TOPS[v6])
        link = trie.paint(links, 0, TOPS[v6])
        starts = sorted(set(owners[0]) | set(link[0]))
        values = [pack_owner(trie.value_at(*owners, s), trie.value_at(*link, s)) for s in starts]
        starts, values = trie.merge(starts, values)
        roots.append(trie.place_trie(nodes, starts, values, STRIDES[v6]))
    return roots[0], roots[1]


# ------------------------------------------------------------------------------------------
# Subnets


@dataclass
class RouteTable:
    """A compiled route table: trie roots per family and its entries (placed in the arena)."""

    roots: tuple[int, int]
    base: int
    texts: list[dict]


def subnet_table(subnet: dict, nodes: trie.Arena, entries: trie.Arena) -> RouteTable:
    """Host routes by longest prefix (ECMP: lowest next hop), then the default via gateway_ip."""
    try:
        v6 = parse_range(subnet["cidr"])[0]
    except (ValueError, KeyError):
        v6 = False
    rows, texts, ranges = [], [], []
    routes = []
    for order, route in enumerate(subnet.get("host_routes") or []):
        span, hop = _ranges_of(route.get("destination"), v6), _addr(route.get("nexthop"), v6)
        if span and hop is not None:
            routes.append(((-prefix_len(route["destination"]), hop, order), span, hop, route))
    for _key, span, hop, route in sorted(routes, key=lambda r: r[0]):
        ranges.append(span + (len(rows),))
        rows.append((VIA, -1, v6, hop >> 64, hop & ((1 << 64) - 1), -1))
        texts.append({"destination": route["destination"], "nexthop": route["nexthop"]})
    gateway = _addr(subnet.get("gateway_ip"), v6)
    if gateway is not None:
        ranges.append((0, TOPS[v6], len(rows)))
        rows.append((VIA, -1, v6, gateway >> 64, gateway & ((1 << 64) - 1), -1))
        texts.append({"destination": "::/0" if v6 else "0.0.0.0/0", "nexthop": subnet["gateway_ip"]})
    return _place_table(ranges, rows, texts, v6, nodes, entries)


def _place_table(ranges, rows, texts, v6, nodes, entries, other=None) -> RouteTable:
    starts, values = trie.paint(ranges, -1, TOPS[v6])
    root = trie.place_trie(nodes, starts, values, STRIDES[v6])
    base = entries.append(np.array(rows, dtype=ENTRY_DTYPE)) if rows else 0
    roots = (root, trie.leaf(-1)) if not v6 else (trie.leaf(-1), root)
    return RouteTable(roots, base, texts)


# ------------------------------------------------------------------------------------------
# Routers


@dataclass
class RouterTable:
    """A router's compiled tables (see the module docstring) and its scalar attributes."""

    main: RouteTable
    dnat_root: int
    snat_root: int
    gateway: int  # port slot of the gateway port, -1 without one
    gateway_v4: int | None
    enable_snat: bool


def _router_routes(router: dict, ports: list[dict], subnets) -> list[tuple]:
    """(v6, first, last, sort key, kind, port, next hop, text) for every candidate route."""
    out = []

    def add(cidr, prio, hop, kind, port, order):
        try:
            v6, first, last = parse_range(cidr)
        except (ValueError, TypeError):
            return
        key = (-prefix_len(cidr), -prio, hop if hop is not None else 0, order)
        text = {"destination": str(cidr), "nexthop": None if hop is None else _text(hop, v6)}
        out.append((v6, first, last, key, kind, port, hop, text))

    for port in ports:
        for fixed in port.get("fixed_ips") or []:
            subnet = subnets.get(fixed.get("subnet_id"))
            if subnet:
                add(subnet["cidr"], 0, None, CONNECTED, port, len(out))
    for extra in router.get("routes") or []:
        try:
            v6, hop = parse_ip(extra["nexthop"])
        except (ValueError, KeyError, TypeError):
            continue
        add(extra.get("destination"), 1, hop, VIA, _port_towards(ports, subnets, v6, hop), len(out))
    gateway = next((p for p in ports if is_gateway_port(p)), None)
    for fixed in (gateway or {}).get("fixed_ips") or []:
        subnet = subnets.get(fixed.get("subnet_id"))
        if subnet and subnet.get("gateway_ip"):
            v6, hop = parse_ip(subnet["gateway_ip"])
            default = "::/0" if v6 else "0.0.0.0/0"
            if not any(r[0] == v6 and r[1] == 0 and r[2] == TOPS[v6] and r[3][1] == 0 for r in out):
                add(default, 0, hop, VIA, gateway, len(out))
    return out


def _text(value: int, v6: bool) -> str:
    return format_ip(v6, value)


def _port_towards(ports, subnets, v6: bool, hop: int):
    """The first router port whose connected subnet holds the next hop."""
    for port in ports:
        for fixed in port.get("fixed_ips") or []:
            subnet = subnets.get(fixed.get("subnet_id"))
            span = _ranges_of(subnet["cidr"], v6) if subnet else None
            if span and span[0] <= hop <= span[1]:
                return port
    return None


def router_table(router: dict, ports: list[dict], subnets, fips: list[dict], port_slot,
                 fip_slot, nodes: trie.Arena, entries: trie.Arena) -> RouterTable:
    """Compile one router. ``ports`` are its interface and gateway ports, sorted by id."""
    routes = _router_routes(router, ports, subnets)
    rows, texts = [], []
    roots = []
    mask = (1 << 64) - 1
    for v6 in (False, True):
        mine = sorted((r for r in routes if r[0] == v6), key=lambda r: r[3])
        ranges = []
        for _v6, first, last, _key, kind, port, hop, text in mine:
            ranges.append((first, last, len(rows)))
            slot = port_slot(port["id"]) if port is not None else -1
            hop = hop or 0
            rows.append((kind, slot, v6, hop >> 64, hop & mask, -1))
            texts.append(text)
        beneath = trie.paint(ranges, -1, TOPS[v6])
        local = []
        for port, address in _own_addresses(ports, fips, v6):
            value = _addr(address, v6)
            local.append((value, value, len(rows)))
            rows.append((LOCAL, port_slot(port["id"]), v6, value >> 64, value & mask,
                         trie.value_at(*beneath, value)))
            texts.append({"destination": address, "nexthop": None})
        starts, values = trie.paint(local + ranges, -1, TOPS[v6])
        roots.append(trie.place_trie(nodes, starts, values, STRIDES[v6]))
    base = entries.append(np.array(rows, dtype=ENTRY_DTYPE)) if rows else 0
    return RouterTable(RouteTable(tuple(roots), base, texts), *_nat_roots(fips, fip_slot, nodes),
                       *_gateway(router, ports, port_slot))


def _own_addresses(ports: list[dict], fips: list[dict], v6: bool):
    """(port, address) of every address the router answers on: its ports' fixed IPs, and its
    floating IPs that have no fixed IP (they serve port forwardings), on its gateway port."""
    for port in ports:
        for fixed in port.get("fixed_ips") or []:
            if _addr(fixed.get("ip_address"), v6) is not None:
                yield port, fixed["ip_address"]
    gateway = next((p for p in ports if is_gateway_port(p)), None)
    if gateway is None or v6:
        return
    for fip in fips:
        if _addr(fip.get("floating_ip_address"), False) is not None and not fip.get("fixed_ip_address"):
            yield gateway, fip["floating_ip_address"]


def _nat_roots(fips: list[dict], fip_slot, nodes: trie.Arena) -> tuple[int, int]:
    """DNAT (floating → fip, with or without a fixed IP: ``routing`` tells whole-address DNAT
    from port forwarding) and source-FIP (fixed → fip with the lowest floating IP) maps."""
    dnat, snat = [], []
    for fip in fips:
        floating = _addr(fip.get("floating_ip_address"), False)
        fixed = _addr(fip.get("fixed_ip_address"), False)
        if floating is None:
            continue
        dnat.append((floating, floating, fip_slot(fip["id"])))
        if fixed is not None:
            snat.append((floating, fixed, fip_slot(fip["id"])))
    snat = [(fixed, fixed, slot) for _f, fixed, slot in sorted(snat)]
    roots = []
    for ranges in (dnat, snat):
        starts, values = trie.paint(ranges, -1, TOPS[False])
        roots.append(trie.place_trie(nodes, starts, values, STRIDES[False]))
    return roots[0], roots[1]


def _gateway(router: dict, ports: list[dict], port_slot) -> tuple[int, int | None, bool]:
    gateway = next((p for p in ports if is_gateway_port(p)), None)
    address = None
    for fixed in (gateway or {}).get("fixed_ips") or []:
        address = _addr(fixed.get("ip_address"), False)
        if address is not None:
            break
    snat = (router.get("external_gateway_info") or {}).get("enable_snat", True) is not False
    return (port_slot(gateway["id"]) if gateway else -1), address, snat


def member_ranges(ports: list[dict]) -> tuple[list, list]:
    """Member address ranges (v4, v6) of a group: its ports' fixed IPs and allowed address pairs."""
    out = ([], [])
    for v6 in (False, True):
        for port in ports:
            for fixed in port.get("fixed_ips") or []:
                value = _addr(fixed.get("ip_address"), v6)
                if value is not None:
                    out[v6].append((value, value))
            for pair in port.get("allowed_address_pairs") or []:
                span = _ranges_of(pair.get("ip_address"), v6)
                if span:
                    out[v6].append(span)
    return out


def member_roots(ranges: tuple[list, list], nodes: trie.Arena) -> tuple[int, int]:
    """Membership tries (v4, v6) of a group from its ``member_ranges``."""
    roots = []
    for v6 in (False, True):
        starts, values = trie.paint([span + (1,) for span in ranges[v6]], 0, TOPS[v6])
        roots.append(trie.place_trie(nodes, starts, values, STRIDES[v6]))
    return roots[0], roots[1]
