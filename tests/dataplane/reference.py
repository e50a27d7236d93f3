"""A plain, per-packet reference for the data-plane semantics of docs/semantics.md.

Written from the semantics alone (never from the engine in ``xloudnet.dataplane``), so that the
property tests compare two independent readings of the same text. Clarity over speed: every
step is a plain loop over the snapshot's API-shaped dicts, addresses are ``ipaddress`` objects.

``reference_reachability(snapshot, query)`` walks one flow, then its reply, and returns::

    {"disposition", "reachable", "flow" (the packet as it finally was: translated addresses),
     "sent_flow" (as it left the source), "delivered_to" ("port:ID" | "router:ID" | "external" |
     None), "return_disposition" (None when there is no reply), "return_flow", "hops",
     "return_hops"}
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field, replace

from xloudnet.control.snapshot import Snapshot
from xloudnet.model.protocols import (
    ICMP_ECHO_REQUEST,
    ICMP_PROTOCOLS,
    ICMP_REPLIES,
    PORT_PROTOCOLS,
    protocol_number,
)

DEFAULT_SOURCE_PORT = 49152
TTL = 64
REACHABLE = ("ACCEPTED", "EXITS_NETWORK")


class ReferenceQueryError(ValueError):
    """The query names no valid flow (the API would answer 400)."""


def _ip(text):
    return ipaddress.ip_address(str(text))


def _cidr(text):
    return ipaddress.ip_network(str(text), strict=False)


def _holds(pair_address: str, addr) -> bool:
    """True when an allowed-address-pair entry (an address or a CIDR) holds ``addr``."""
    net = _cidr(pair_address)
    return net.version == addr.version and addr in net


@dataclass(frozen=True)
class Packet:
    version: int
    src: object
    dst: object
    proto: int
    sport: int | None = None
    dport: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None

    def as_dict(self) -> dict:
        return {
            "ethertype": f"IPv{self.version}",
            "protocol": self.proto,
            "source_ip": str(self.src),
            "destination_ip": str(self.dst),
            "source_port": self.sport,
            "destination_port": self.dport,
            "icmp_type": self.icmp_type,
            "icmp_code": self.icmp_code,
        }


@dataclass
class Outcome:
    disposition: str
    node: str | None
    packet: Packet
    reason: str = ""
    exit_network: str | None = None  # EXITS_NETWORK: the external network it left by
    exit_router: str | None = None  # ... and the router whose gateway it left by, if any


@dataclass
class Walk:
    """State of one packet's walk: its trace, TTL, NAT visits, and the request it answers."""

    reply_to: "Walk | None" = None
    source_port: str | None = None
    sent: Packet | None = None
    ttl: int = TTL
    hops: list = field(default_factory=list)
    visits: list = field(default_factory=list)  # (router_id, packet in, packet out)
    leaving_router: str | None = None

    def note(self, node: str, stage: str, action: str, **extra) -> None:
        self.hops.append({"node": node, "stage": stage, "action": action, **extra})

    def stop(self, disposition: str, node: str | None, pkt: Packet, reason: str = "") -> Outcome:
        self.note(node or "external", "stop", disposition, reason=reason)
        return Outcome(disposition, node, pkt, reason)


# ----------------------------------------------------------------------------------------------
# Index over the snapshot


class Index:
    """Plain lookups over a snapshot (lists sorted by id so every tie breaks the same way)."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self.networks = snap.networks
        self.subnets = snap.subnets
        self.ports = snap.ports
        self.routers = snap.routers
        self.fips = snap.floatingips
        self.pools = snap.subnetpools
        self.forwardings = [snap.port_forwardings[k] for k in sorted(snap.port_forwardings)]
        self.groups = snap.security_groups
        self.rules = defaultdict(list)
        for rid in sorted(snap.security_group_rules):
            rule = snap.security_group_rules[rid]
            self.rules[rule["security_group_id"]].append(rule)
        self.net_ports = defaultdict(list)
        self.members = defaultdict(list)
        for pid in sorted(snap.ports):
            port = snap.ports[pid]
            self.net_ports[port["network_id"]].append(port)
            for gid in port.get("security_groups") or []:
                self.members[gid].append(port)
        self.net_subnets = defaultdict(list)
        for sid in sorted(snap.subnets):
            self.net_subnets[snap.subnets[sid]["network_id"]].append(snap.subnets[sid])

    def subnets_of(self, net_id: str, version: int) -> list[dict]:
        return [s for s in self.net_subnets[net_id] if _cidr(s["cidr"]).version == version]

    def on_link(self, net_id: str, addr) -> bool:
        return any(addr in _cidr(s["cidr"]) for s in self.subnets_of(net_id, addr.version))

    def is_external(self, net_id: str) -> bool:
        return bool(self.networks.get(net_id, {}).get("router:external"))

    def router_ports(self, router_id: str) -> list[dict]:
        return [p for p in sorted(self.ports.values(), key=lambda p: p["id"])
                if is_router_port(p) and p.get("device_id") == router_id]

    def gateway_port(self, router_id: str) -> dict | None:
        for port in self.router_ports(router_id):
            if port.get("device_owner") == "network:router_gateway":
                return port
        return None

    def gateway_address(self, router_id: str, version: int = 4):
        port = self.gateway_port(router_id)
        return first_address(port, version) if port else None

    def fip_by_address(self, addr, router_id: str | None = None, net_id: str | None = None):
        for fid in sorted(self.fips):
            fip = self.fips[fid]
            if _ip(fip["floating_ip_address"]) != addr:
                continue
            if router_id is not None and fip.get("router_id") != router_id:
                continue
            if net_id is not None and fip.get("floating_network_id") != net_id:
                continue
            return fip
        return None

    def fip_of_source(self, router_id: str, addr):
        """The floating IP on ``router_id`` whose fixed address is ``addr`` (the lowest one)."""
        found = [f for f in self.fips.values()
                 if f.get("router_id") == router_id and f.get("fixed_ip_address")
                 and _ip(f["fixed_ip_address"]) == addr]
        return min(found, key=lambda f: _ip(f["floating_ip_address"])) if found else None


def is_router_port(port: dict) -> bool:
    owner = port.get("device_owner") or ""
    return owner.startswith("network:router_interface") or owner in (
        "network:router_gateway", "network:ha_router_replicated_interface")


def is_fip_port(port: dict) -> bool:
    return port.get("device_owner") == "network:floatingip"


def addresses(port: dict, version: int | None = None) -> list:
    found = [_ip(f["ip_address"]) for f in port.get("fixed_ips") or []]
    return [a for a in found if version is None or a.version == version]


def first_address(port: dict, version: int):
    found = addresses(port, version)
    return found[0] if found else None


def _admin_up(resource: dict | None) -> bool:
    return bool(resource) and resource.get("admin_state_up", True) is not False


def filtered(ix: Index, port: dict) -> bool:
    """Port security applies: not a trusted ``network:*`` port, and port security on."""
    if (port.get("device_owner") or "").startswith("network:"):
        return False
    enabled = port.get("port_security_enabled")
    if enabled is None:
        enabled = ix.networks.get(port["network_id"], {}).get("port_security_enabled", True)
    return enabled is not False


def stateful(ix: Index, port: dict) -> bool:
    """Connection tracking applies unless the port's groups are stateless."""
    groups = [ix.groups.get(g, {}) for g in port.get("security_groups") or []]
    return all(g.get("stateful", True) is not False for g in groups)


# ----------------------------------------------------------------------------------------------
# Security groups


def in_remote_group(ix: Index, group_id: str, addr) -> bool:
    """``addr`` is a member's fixed IP or lies in a member's allowed address pair."""
    for port in ix.members[group_id]:
        if addr in addresses(port):
            return True
        if any(_holds(p["ip_address"], addr) for p in port.get("allowed_address_pairs") or []):
            return True
    return False


def _ports_match(rule: dict, proto: int, pkt: Packet) -> bool:
    lo, hi = rule.get("port_range_min"), rule.get("port_range_max")
    if proto in PORT_PROTOCOLS:
        if lo is None and hi is None:
            return True
        lo = 0 if lo is None else lo
        hi = 65535 if hi is None else hi
        return pkt.dport is not None and lo <= pkt.dport <= hi
    if proto in ICMP_PROTOCOLS:
        # Type is port_range_min, code is port_range_max; code 0 is a real code.
        if lo is not None and pkt.icmp_type != lo:
            return False
        return hi is None or pkt.icmp_code == hi
    return True


def rule_matches(ix: Index, rule: dict, direction: str, pkt: Packet, remote) -> bool:
    """One rule against one packet; ``remote`` is the far end's address as this port sees it."""
    if rule.get("direction") != direction:
        return False
    if (rule.get("ethertype") or "IPv4") != f"IPv{pkt.version}":
        return False
    proto = protocol_number(rule.get("protocol"), pkt.version)
    if proto is not None and (proto != pkt.proto or not _ports_match(rule, proto, pkt)):
        return False
    prefix = rule.get("remote_ip_prefix")
    if prefix is not None and not _holds(prefix, remote):
        return False
    group = rule.get("remote_group_id")
    if group is not None and not in_remote_group(ix, group, remote):
        return False
    address_group = rule.get("remote_address_group_id")
    if address_group is not None and not in_address_group(ix, address_group, remote):
        return False
    return True


def in_address_group(ix: Index, group_id: str, addr) -> bool:
    """``addr`` lies in one of the address group's CIDRs (of its own family); an unknown group
    holds nothing."""
    group = ix.snap.address_groups.get(group_id) or {}
    return any(_holds(cidr, addr) for cidr in group.get("addresses") or [])


def matching_rules(ix: Index, port: dict, direction: str, pkt: Packet, remote) -> list[dict]:
    """Every rule of the port's groups that matches (the verdict is PERMIT when non-empty)."""
    return [r for gid in port.get("security_groups") or [] for r in ix.rules[gid]
            if rule_matches(ix, r, direction, pkt, remote)]


# ----------------------------------------------------------------------------------------------
# Forwarding


def owner_of(ix: Index, net_id: str, addr):
    """Who holds ``addr`` on a network: ("router", router_id) for a floating IP held by a router,
    ("port", port), ("upstream",) for an external subnet's unowned gateway, or None."""
    if ix.is_external(net_id):
        fip = ix.fip_by_address(addr, net_id=net_id)
        if fip and fip.get("router_id"):
            return ("router", fip["router_id"])
    candidates = [p for p in ix.net_ports[net_id] if not is_fip_port(p)]
    holders = [p for p in candidates if addr in addresses(p)]
    if holders:
        return ("port", holders[0])
    pair_holders = [p for p in candidates
                    if any(_holds(a["ip_address"], addr) for a in p.get("allowed_address_pairs") or [])]
    if pair_holders:
        return ("port", pair_holders[0])
    if ix.is_external(net_id):
        for subnet in ix.subnets_of(net_id, addr.version):
            if subnet.get("gateway_ip") and _ip(subnet["gateway_ip"]) == addr:
                return ("upstream",)
    return None


def _best_route(routes: list, addr):
    """Longest prefix; at equal prefix an extra route (priority 1) wins; then the lowest next hop.

    ``routes`` holds (network, priority, nexthop-or-None, payload)."""
    best = None
    for net, prio, hop, payload in routes:
        if net.version != addr.version or addr not in net:
            continue
        key = (net.prefixlen, prio, -int(hop) if hop is not None else 0)
        if best is None or key > best[0]:
            best = (key, net, hop, payload)
    return best


def source_subnet(ix: Index, port: dict, addr) -> dict | None:
    """The subnet of the fixed IP sent from, else the port's first subnet of that family."""
    for fixed in port.get("fixed_ips") or []:
        if _ip(fixed["ip_address"]) == addr:
            return ix.subnets.get(fixed["subnet_id"])
    for fixed in port.get("fixed_ips") or []:
        subnet = ix.subnets.get(fixed["subnet_id"])
        if subnet and _cidr(subnet["cidr"]).version == addr.version:
            return subnet
    subnets = ix.subnets_of(port["network_id"], addr.version)
    return subnets[0] if subnets else None


def subnet_next_hop(subnet: dict, addr):
    """host_routes by longest prefix (ECMP: lowest next hop), then the gateway."""
    routes = [(_cidr(r["destination"]), 0, _ip(r["nexthop"]), None)
              for r in subnet.get("host_routes") or []]
    best = _best_route(routes, addr)
    if best is not None:
        return best[2]
    gateway = subnet.get("gateway_ip")
    return _ip(gateway) if gateway else None


def vm_forward(ix: Index, port: dict, pkt: Packet, walk: Walk) -> Outcome:
    """§4.4: on-link delivery at L2, else the subnet's routes to a router port."""
    net_id = port["network_id"]
    node = f"port:{port['id']}"
    walk.leaving_router = None
    if ix.on_link(net_id, pkt.dst):
        walk.note(node, "forward", "FORWARD")
        return deliver(ix, net_id, pkt, walk)
    subnet = source_subnet(ix, port, pkt.src)
    hop = subnet_next_hop(subnet, pkt.dst) if subnet else None
    if hop is None:
        return walk.stop("NO_ROUTE", node, pkt, "no route")
    walk.note(node, "forward", "FORWARD", route={"nexthop": str(hop)})
    return to_next_hop(ix, net_id, hop, pkt, walk)


def to_next_hop(ix: Index, net_id: str, hop, pkt: Packet, walk: Walk) -> Outcome:
    """Hand the packet to a next hop on a network: a router port, or the upstream."""
    owner = owner_of(ix, net_id, hop)
    if owner and owner[0] == "port" and is_router_port(owner[1]):
        port = owner[1]
        return enter_router(ix, port["device_id"], port, pkt, walk)
    if owner == ("upstream",):
        return exit_cloud(ix, net_id, pkt, walk)
    return walk.stop("NO_ROUTE", f"network:{net_id}", pkt, "next hop is not a router")


def deliver(ix: Index, net_id: str, pkt: Packet, walk: Walk) -> Outcome:
    """Deliver to the owner of the destination on this network (§4.6 / §6 corner cases)."""
    owner = owner_of(ix, net_id, pkt.dst)
    if owner is None:
        return walk.stop("NEIGHBOR_UNREACHABLE", f"network:{net_id}", pkt, "no owner")
    if owner[0] == "upstream":
        return exit_cloud(ix, net_id, pkt, walk)
    if owner[0] == "router":
        router_id = owner[1]
        return enter_router(ix, router_id, ix.gateway_port(router_id), pkt, walk)
    port = owner[1]
    if is_router_port(port):
        return enter_router(ix, port["device_id"], port, pkt, walk)
    return arrive(ix, port, pkt, walk)


def exit_cloud(ix: Index, net_id: str, pkt: Packet, walk: Walk) -> Outcome:
    """The packet reaches the upstream router and leaves the cloud; remember where, for its reply."""
    out = walk.stop("EXITS_NETWORK", "external", pkt)
    out.exit_network, out.exit_router = net_id, walk.leaving_router
    return out


def arrive(ix: Index, port: dict, pkt: Packet, walk: Walk) -> Outcome:
    """§4.7: the destination port's admin state and ingress groups."""
    node = f"port:{port['id']}"
    if not _admin_up(port):
        return walk.stop("ADMIN_DOWN", node, pkt, "destination port is down")
    if filtered(ix, port):
        if walk.reply_to is not None and _established_at(ix, port, pkt, walk.reply_to):
            walk.note(node, "ingress-security-group", "PERMIT", conntrack="established")
        else:
            rules = matching_rules(ix, port, "ingress", pkt, pkt.src)
            if not rules:
                return walk.stop("DENIED_INGRESS", node, pkt, "no rule matched (default deny)")
            walk.note(node, "ingress-security-group", "PERMIT", rule_id=rules[0]["id"])
    return walk.stop("ACCEPTED", node, pkt)


def _established_at(ix: Index, port: dict, pkt: Packet, request: Walk) -> bool:
    """A reply reaching the request's own source port with the connection's addresses."""
    sent = request.sent
    return (request.source_port == port["id"] and stateful(ix, port)
            and _is_reverse(pkt, sent))


def _is_reverse(pkt: Packet, fwd: Packet) -> bool:
    if (pkt.src, pkt.dst, pkt.proto) != (fwd.dst, fwd.src, fwd.proto):
        return False
    return pkt.proto not in PORT_PROTOCOLS or (pkt.sport, pkt.dport) == (fwd.dport, fwd.sport)


# ----------------------------------------------------------------------------------------------
# Routers


def enter_router(ix: Index, router_id: str, in_port: dict | None, pkt: Packet, walk: Walk) -> Outcome:
    """§4.5: TTL, admin state, conntrack or DNAT, router-local addresses, then routing."""
    node = f"router:{router_id}"
    if walk.ttl <= 0:
        return walk.stop("LOOP", node, pkt, "TTL exceeded")
    walk.ttl -= 1
    router = ix.routers.get(router_id)
    if not _admin_up(router) or (in_port is not None and not _admin_up(in_port)):
        return walk.stop("ADMIN_DOWN", node, pkt, "router or its port is down")
    pkt_in = pkt
    reversed_pkt = _conntrack_reverse(router_id, pkt, walk)
    if reversed_pkt is not None:
        pkt, translated = reversed_pkt, True
        one_to_one = reversed_pkt != pkt_in  # undoing a translation this router made
    else:
        via_gateway = in_port is not None and in_port.get("device_owner") == "network:router_gateway"
        pkt, translated = _dnat(ix, router, pkt, internal=not via_gateway, walk=walk)
        fip = ix.fip_by_address(pkt_in.dst, router_id=router_id) if pkt_in.version == 4 else None
        one_to_one = translated and bool(fip and fip.get("fixed_ip_address"))  # port forwarding is not 1:1
    local = _router_local(ix, router_id, pkt)
    if local is not None:
        return _answer_locally(local, router_id, pkt, walk)
    return route_from_router(ix, router, pkt_in, pkt, translated, walk, in_port=in_port, one_to_one=one_to_one)


def _conntrack_reverse(router_id: str, pkt: Packet, walk: Walk) -> Packet | None:
    """A reply matching a connection this router forwarded: undo its translation."""
    if walk.reply_to is None:
        return None
    for rid, before, after in walk.reply_to.visits:
        if rid == router_id and _is_reverse(pkt, after):
            walk.note(f"router:{router_id}", "dnat", "TRANSLATE", conntrack="established")
            sport = before.dport if pkt.proto in PORT_PROTOCOLS else pkt.sport  # undo port forwarding
            return replace(pkt, src=before.dst, dst=before.src, sport=sport)
    return None


def _dnat(ix: Index, router: dict, pkt: Packet, internal: bool, walk: Walk):
    """A floating IP held by the router → its fixed IP; hairpin SNAT for internal sources."""
    fip = ix.fip_by_address(pkt.dst, router_id=router["id"]) if pkt.version == 4 else None
    if fip is None:
        return pkt, False
    if fip.get("fixed_ip_address"):
        new = replace(pkt, dst=_ip(fip["fixed_ip_address"]))
    else:
        target = _port_forwarding(ix, fip, pkt)
        if target is None:
            return pkt, False  # the router's own address (``_router_local``)
        new = replace(pkt, dst=target[0], dport=target[1])
    walk.note(f"router:{router['id']}", "dnat", "TRANSLATE")
    if internal:
        new = replace(new, src=_hairpin_source(ix, router, pkt.src))
    return new, True


def _span(text):
    first, _, last = str(text).partition(":")
    return int(first), int(last or first)


def _forwardings_of(ix: Index, fip: dict) -> list:
    """(protocol, external span, internal address, internal span) of the floating IP's usable
    forwardings, by id; one overlapping an earlier one of the same protocol is ignored."""
    usable = []
    for pf in ix.forwardings:
        if pf.get("floatingip_id") != fip["id"]:
            continue
        proto = protocol_number(pf["protocol"], 4)
        address = _ip(pf["internal_ip_address"])
        ext, inner = _span(pf["external_port_range"]), _span(pf["internal_port_range"])
        if proto not in PORT_PROTOCOLS or address.version != 4:
            continue
        if inner[0] != inner[1] and inner[1] - inner[0] != ext[1] - ext[0]:
            continue
        if any(p == proto and e[0] <= ext[1] and ext[0] <= e[1] for p, e, _a, _i in usable):
            continue
        usable.append((proto, ext, address, inner))
    return usable


def _port_forwarding(ix: Index, fip: dict, pkt: Packet):
    """(internal address, internal port) a forwarding sends the packet to, else None."""
    if pkt.proto not in PORT_PROTOCOLS:
        return None
    for proto, ext, address, inner in _forwardings_of(ix, fip):
        if proto == pkt.proto and ext[0] <= pkt.dport <= ext[1]:
            port = inner[0] if inner[0] == inner[1] else inner[0] + pkt.dport - ext[0]
            return address, port
    return None


def _hairpin_source(ix: Index, router: dict, src):
    own = ix.fip_of_source(router["id"], src)
    if own is not None:
        return _ip(own["floating_ip_address"])
    gateway = ix.gateway_address(router["id"], 4)
    if gateway is not None and _snat_enabled(router):
        return gateway
    return src


def _snat_enabled(router: dict) -> bool:
    info = router.get("external_gateway_info") or {}
    return info.get("enable_snat", True) is not False


def _router_local(ix: Index, router_id: str, pkt: Packet) -> dict | None:
    for port in ix.router_ports(router_id):
        if pkt.dst in addresses(port):
            return port
    # A floating IP the router holds without a fixed IP (it serves port forwardings) is one of
    # its addresses, on its gateway port.
    gateway = ix.gateway_port(router_id)
    if gateway is not None and any(
            f.get("router_id") == router_id and not f.get("fixed_ip_address")
            and _ip(f["floating_ip_address"]) == pkt.dst for f in ix.fips.values()):
        return gateway
    return None


def _answer_locally(port: dict, router_id: str, pkt: Packet, walk: Walk) -> Outcome:
    node = f"router:{router_id}"
    if not _admin_up(port):
        return walk.stop("ADMIN_DOWN", node, pkt, "router port holding the address is down")
    echo = ICMP_ECHO_REQUEST[pkt.version]
    icmp = 58 if pkt.version == 6 else 1  # ICMP of the packet's own family
    if pkt.proto == icmp and pkt.icmp_type == echo:
        return walk.stop("ACCEPTED", node, pkt, "router answers echo")
    return walk.stop("DENIED_INGRESS", node, pkt, "a router runs no services")


def router_routes(ix: Index, router: dict) -> list:
    """Connected subnets, extra routes and the default via the external gateway."""
    routes = []
    ports = ix.router_ports(router["id"])
    for port in ports:
        for fixed in port.get("fixed_ips") or []:
            subnet = ix.subnets.get(fixed["subnet_id"])
            if subnet:
                routes.append((_cidr(subnet["cidr"]), 0, None, ("connected", port, None)))
    for extra in router.get("routes") or []:
        hop = _ip(extra["nexthop"])
        routes.append((_cidr(extra["destination"]), 1, hop, ("via", _port_towards(ix, ports, hop), hop)))
    gateway = ix.gateway_port(router["id"])
    if gateway is not None:
        for fixed in gateway.get("fixed_ips") or []:
            subnet = ix.subnets.get(fixed["subnet_id"])
            if subnet and subnet.get("gateway_ip"):
                hop = _ip(subnet["gateway_ip"])
                default = _cidr("0.0.0.0/0" if hop.version == 4 else "::/0")
                if not any(r[0] == default and r[1] == 0 for r in routes):
                    routes.append((default, 0, hop, ("via", gateway, hop)))
    return routes


def _port_towards(ix: Index, ports: list, hop):
    """The router port whose connected subnet holds a next hop."""
    for port in ports:
        for fixed in port.get("fixed_ips") or []:
            subnet = ix.subnets.get(fixed["subnet_id"])
            if subnet and _cidr(subnet["cidr"]).version == hop.version and hop in _cidr(subnet["cidr"]):
                return port
    return None


def route_from_router(ix: Index, router: dict, pkt_in: Packet, pkt: Packet,
                      translated: bool, walk: Walk, in_port: dict | None = None,
                      one_to_one: bool = False) -> Outcome:
    """LPM, gateway SNAT on the way out, address scopes, then the out port's and network's
    admin state. ``in_port``: the router port the packet entered by (None: the router's own
    packet); ``one_to_one``: this router translated it 1:1 (floating IP, or undoing that)."""
    node = f"router:{router['id']}"
    best = _best_route(router_routes(ix, router), pkt.dst)
    if best is None:
        return walk.stop("NO_ROUTE", node, pkt, "no route")
    _key, net, hop, (kind, out_port, _hop) = best
    walk.note(node, "route", "FORWARD", route={"destination": str(net),
                                               "nexthop": str(hop) if hop else None})
    if out_port is None:
        return walk.stop("NO_ROUTE", node, pkt, "next hop not connected")
    scope_in = port_scope(ix, in_port, pkt.version) if in_port is not None else None
    scope_out = out_subnet_scope(ix, out_port, net if kind == "connected" else hop, pkt.version)
    exempt = in_port is None or one_to_one
    if out_port.get("device_owner") == "network:router_gateway" and not translated:
        # Inside one real scope the router routes without its default SNAT.
        same_real = in_port is not None and scope_in is not None and scope_in == scope_out
        snatted = _gateway_snat(ix, router, pkt, walk, default_snat=not same_real)
        exempt = exempt or snatted != pkt
        pkt = snatted
    if not exempt and scope_in != scope_out:
        return walk.stop("NO_ROUTE", node, pkt, "address scopes differ")
    walk.visits.append((router["id"], pkt_in, pkt))
    net_id = out_port["network_id"]
    if not _admin_up(out_port) or not _admin_up(ix.networks.get(net_id)):
        return walk.stop("ADMIN_DOWN", node, pkt, "out port or network is down")
    walk.leaving_router = router["id"]
    if kind == "connected":
        return deliver(ix, net_id, pkt, walk)
    return to_next_hop(ix, net_id, hop, pkt, walk)


def _gateway_snat(ix: Index, router: dict, pkt: Packet, walk: Walk, default_snat: bool = True) -> Packet:
    """Leaving by the gateway: own floating IP, else the gateway IP when enable_snat (IPv4)."""
    if pkt.version != 4:
        return pkt
    own = ix.fip_of_source(router["id"], pkt.src)
    if own is not None:
        new_src = _ip(own["floating_ip_address"])
    elif default_snat and _snat_enabled(router) and ix.gateway_address(router["id"], 4) is not None:
        new_src = ix.gateway_address(router["id"], 4)
    else:
        return pkt
    walk.note(f"router:{router['id']}", "snat", "TRANSLATE")
    return replace(pkt, src=new_src)


# ----------------------------------------------------------------------------------------------
# Address scopes


def subnet_scope(ix: Index, subnet: dict | None) -> str | None:
    """A subnet's scope: its pool's address_scope_id (None: the one "no scope" scope)."""
    pool = ix.pools.get((subnet or {}).get("subnetpool_id") or "")
    return (pool or {}).get("address_scope_id") or None


def port_scope(ix: Index, port: dict, version: int) -> str | None:
    """The scope of the subnet a router port holds of this IP version (the first such)."""
    for fixed in port.get("fixed_ips") or []:
        subnet = ix.subnets.get(fixed["subnet_id"])
        if subnet and _cidr(subnet["cidr"]).version == version:
            return subnet_scope(ix, subnet)
    return None


def out_subnet_scope(ix: Index, port: dict, where, version: int) -> str | None:
    """The scope of the out port's subnet that holds ``where`` (a connected CIDR or a next hop)."""
    for fixed in port.get("fixed_ips") or []:
        subnet = ix.subnets.get(fixed["subnet_id"])
        if subnet is None or _cidr(subnet["cidr"]).version != version:
            continue
        inside = where == _cidr(subnet["cidr"]) if isinstance(where, (ipaddress.IPv4Network, ipaddress.IPv6Network)) \
            else where in _cidr(subnet["cidr"])
        if inside:
            return subnet_scope(ix, subnet)
    return port_scope(ix, port, version)


def announced_gateway(ix: Index, net_id: str, dst) -> dict | None:
    """The router gateway port on external network ``net_id`` that the upstream sends ``dst`` to:
    routers announce their interface subnets that share the scope of their external subnet
    (longest prefix, then the lowest gateway address)."""
    best = None
    for gateway in ix.net_ports[net_id]:
        if gateway.get("device_owner") != "network:router_gateway":
            continue
        for fixed in gateway.get("fixed_ips") or []:
            scope = subnet_scope(ix, ix.subnets.get(fixed["subnet_id"]))
            hop = _ip(fixed["ip_address"])
            if scope is None or hop.version != dst.version:
                continue
            for port in ix.router_ports(gateway["device_id"]):
                if port["id"] == gateway["id"]:
                    continue
                for inner in port.get("fixed_ips") or []:
                    subnet = ix.subnets.get(inner["subnet_id"])
                    if subnet is None or subnet_scope(ix, subnet) != scope:
                        continue
                    cidr = _cidr(subnet["cidr"])
                    if cidr.version == dst.version and dst in cidr:
                        key = (cidr.prefixlen, -int(hop))
                        if best is None or key > best[0]:
                            best = (key, gateway)
    return best[1] if best else None


# ----------------------------------------------------------------------------------------------
# Sources


def from_port(ix: Index, port: dict, pkt: Packet, walk: Walk, established: bool = False) -> Outcome:
    """§4.1 at the sending port, then its forwarding."""
    node = f"port:{port['id']}"
    if not _admin_up(port) or not _admin_up(ix.networks.get(port["network_id"])):
        return walk.stop("ADMIN_DOWN", node, pkt, "source port or network is down")
    if filtered(ix, port):
        pairs = port.get("allowed_address_pairs") or []
        if pkt.src not in addresses(port) and not any(_holds(p["ip_address"], pkt.src) for p in pairs):
            return walk.stop("SPOOFED", node, pkt, "source address not owned")
        if established:
            walk.note(node, "egress-security-group", "PERMIT", conntrack="established")
        else:
            rules = matching_rules(ix, port, "egress", pkt, pkt.dst)
            if not rules:
                return walk.stop("DENIED_EGRESS", node, pkt, "no rule matched (default deny)")
            walk.note(node, "egress-security-group", "PERMIT", rule_id=rules[0]["id"])
    return vm_forward(ix, port, pkt, walk)


def from_outside(ix: Index, net_id: str, pkt: Packet, walk: Walk) -> Outcome:
    """An external host's packet enters on an external network: only its subnets are reachable."""
    if not _admin_up(ix.networks.get(net_id)):
        return walk.stop("ADMIN_DOWN", f"network:{net_id}", pkt, "external network is down")
    walk.leaving_router = None
    if ix.on_link(net_id, pkt.dst):
        return deliver(ix, net_id, pkt, walk)
    gateway = announced_gateway(ix, net_id, pkt.dst)
    if gateway is not None:
        walk.note("external", "forward", "FORWARD")
        return enter_router(ix, gateway["device_id"], gateway, pkt, walk)
    return walk.stop("NO_ROUTE", "external", pkt, "the upstream does not route tenant space")


def reply_from_outside(ix: Index, out: Outcome, pkt: Packet, walk: Walk) -> Outcome:
    """A reply from beyond the upstream: on-link on the network the request left by, else back
    through the gateway it left by."""
    if ix.on_link(out.exit_network, pkt.dst):
        return deliver(ix, out.exit_network, pkt, walk)
    if out.exit_router is not None:
        return enter_router(ix, out.exit_router, ix.gateway_port(out.exit_router), pkt, walk)
    return walk.stop("NO_ROUTE", "external", pkt, "the upstream does not route tenant space")


# ----------------------------------------------------------------------------------------------
# Queries


def _version_of_end(ix: Index, end: dict) -> set:
    if "ip_address" in end and end["ip_address"] is not None:
        return {_ip(end["ip_address"]).version}
    port = _port(ix, end)
    return {a.version for a in addresses(port)}


def _port(ix: Index, end: dict) -> dict:
    port = ix.ports.get(end.get("port_id"))
    if port is None:
        raise ReferenceQueryError(f"port {end.get('port_id')} not found")
    return port


def _end_address(ix: Index, end: dict, version: int):
    if end.get("ip_address") is not None:
        addr = _ip(end["ip_address"])
        if addr.version != version:
            raise ReferenceQueryError("address family does not match the ethertype")
        return addr
    addr = first_address(_port(ix, end), version)
    if addr is None:
        raise ReferenceQueryError("port has no address of the flow's ethertype")
    return addr


def _flow_version(ix: Index, query: dict) -> int:
    if query.get("ethertype"):
        return 4 if str(query["ethertype"]).lower() == "ipv4" else 6
    src = _version_of_end(ix, query.get("source") or {})
    dst = _version_of_end(ix, query.get("destination") or {})
    return 4 if 4 in src and 4 in dst else 6


def build_packet(ix: Index, query: dict) -> Packet:
    """The concrete packet a query describes (defaults: source port 49152, ICMP echo code 0)."""
    source, destination = query.get("source") or {}, query.get("destination") or {}
    if not source or not destination:
        raise ReferenceQueryError("source and destination are required")
    version = _flow_version(ix, query)
    src, dst = _end_address(ix, source, version), _end_address(ix, destination, version)
    try:
        proto = protocol_number(query.get("protocol"), version)
    except ValueError as exc:
        raise ReferenceQueryError(str(exc)) from exc
    if proto is None:
        raise ReferenceQueryError("a concrete protocol is required")
    pkt = Packet(version, src, dst, proto)
    if proto in PORT_PROTOCOLS:
        if query.get("destination_port") is None:
            raise ReferenceQueryError("destination_port is required")
        sport = query.get("source_port")
        return replace(pkt, sport=DEFAULT_SOURCE_PORT if sport is None else sport,
                       dport=query["destination_port"])
    if proto in ICMP_PROTOCOLS:
        kind = query.get("icmp_type")
        code = query.get("icmp_code")
        return replace(pkt, icmp_type=ICMP_ECHO_REQUEST[version] if kind is None else kind,
                       icmp_code=0 if code is None else code)
    return pkt


def in_cloud(ix: Index, addr) -> bool:
    """Inside any subnet (but not an external subnet's upstream router), or a fixed or floating
    IP of the cloud."""
    for subnet in ix.subnets.values():
        if _cidr(subnet["cidr"]).version == addr.version and addr in _cidr(subnet["cidr"]):
            if owner_of(ix, subnet["network_id"], addr) != ("upstream",):
                return True
    if any(addr in addresses(p) for p in ix.ports.values()):
        return True
    return any(_ip(f["floating_ip_address"]) == addr for f in ix.fips.values())


def entry_network(ix: Index, source: dict, dst) -> str:
    """The external network an external host's packet enters on."""
    if source.get("network_id"):
        if not ix.is_external(source["network_id"]):
            raise ReferenceQueryError("network_id is not an external network")
        return source["network_id"]
    fip = ix.fip_by_address(dst)
    if fip is not None:
        return fip["floating_network_id"]
    externals = sorted(n for n in ix.networks if ix.is_external(n))
    if not externals:
        raise ReferenceQueryError("no external network")
    return externals[0]


def _has_reply(pkt: Packet) -> bool:
    if pkt.proto in ICMP_PROTOCOLS:
        return pkt.icmp_type in ICMP_REPLIES[pkt.version]
    return True


def _reply_packet(pkt: Packet) -> Packet:
    if pkt.proto in ICMP_PROTOCOLS:
        return replace(pkt, src=pkt.dst, dst=pkt.src,
                       icmp_type=ICMP_REPLIES[pkt.version][pkt.icmp_type], icmp_code=0)
    return replace(pkt, src=pkt.dst, dst=pkt.src, sport=pkt.dport, dport=pkt.sport)


def _walk_reply(ix: Index, out: Outcome, request: Walk) -> tuple[Outcome, Walk]:
    walk = Walk(reply_to=request)
    pkt = _reply_packet(out.packet)
    if out.node == "external":
        return reply_from_outside(ix, out, pkt, walk), walk
    kind, _, ident = out.node.partition(":")
    if kind == "router":
        router = ix.routers[ident]
        return route_from_router(ix, router, pkt, pkt, True, walk), walk
    port = ix.ports[ident]
    established = not filtered(ix, port) or stateful(ix, port)
    return from_port(ix, port, pkt, walk, established=established), walk


def reference_reachability(snapshot: Snapshot, query: dict) -> dict:
    """Walk one flow and its reply through the snapshot, per docs/semantics.md."""
    ix = Index(snapshot)
    pkt = build_packet(ix, query)
    source = query["source"]
    walk = Walk(sent=pkt)
    if source.get("port_id") is not None:
        port = _port(ix, source)
        walk.source_port = port["id"]
        out = from_port(ix, port, pkt, walk)
    else:
        if not in_cloud(ix, pkt.dst):
            raise ReferenceQueryError("both ends are outside the cloud")
        out = from_outside(ix, entry_network(ix, source, pkt.dst), pkt, walk)
    result = {
        "disposition": out.disposition,
        "reachable": out.disposition in REACHABLE,
        "flow": out.packet.as_dict(),
        "sent_flow": pkt.as_dict(),
        "delivered_to": out.node if out.disposition in REACHABLE else None,
        "return_disposition": None,
        "return_flow": None,
        "hops": walk.hops,
        "return_hops": None,
    }
    if result["reachable"] and _has_reply(pkt):
        back, rwalk = _walk_reply(ix, out, walk)
        result.update(return_disposition=back.disposition, return_flow=back.packet.as_dict(),
                      return_hops=rwalk.hops)
    return result
