"""Hand-built topologies (API-shaped dicts → Snapshot) and hypothesis strategies for random ones.

``Topology`` builds resources the way the API would leave them (router interfaces and gateways
are ports, floating IPs hold a ``network:floatingip`` port, ...). ``base()`` is the small cloud
most hand-written cases start from. ``topologies()`` draws random small-but-rich clouds and
``flows(topo)`` draws queries between their ends.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from hypothesis import strategies as st

from xloudnet.control.snapshot import Snapshot

PROJECT = "p1"
AUTO = object()


def _rev(record: dict) -> dict:
    record.setdefault("project_id", PROJECT)
    record.setdefault("revision_number", 1)
    return record


@dataclass
class Topology:
    """A mutable bag of API-shaped resources; ``snapshot()`` freezes it."""

    networks: dict = field(default_factory=dict)
    subnets: dict = field(default_factory=dict)
    ports: dict = field(default_factory=dict)
    routers: dict = field(default_factory=dict)
    floatingips: dict = field(default_factory=dict)
    security_groups: dict = field(default_factory=dict)
    security_group_rules: dict = field(default_factory=dict)
    address_groups: dict = field(default_factory=dict)
    subnetpools: dict = field(default_factory=dict)
    port_forwardings: dict = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        return Snapshot.from_resources(
            networks=self.networks.values(), subnets=self.subnets.values(),
            ports=self.ports.values(), routers=self.routers.values(),
            floatingips=self.floatingips.values(), security_groups=self.security_groups.values(),
            security_group_rules=self.security_group_rules.values(),
            address_groups=self.address_groups.values(),
            subnetpools=self.subnetpools.values(),
            port_forwardings=self.port_forwardings.values())

    def scope(self, subnet: str, scope: str | None) -> str:
        """Put a subnet in an address scope: it comes from a pool (one per scope and IP
        version) that belongs to ``scope`` (None: a pool in no scope)."""
        self.subnets[subnet]["subnetpool_id"] = self.pool_for(scope, self.subnets[subnet]["ip_version"])
        return subnet

    def pool_for(self, scope: str | None, version: int) -> str:
        """The pool of ``scope`` and IP version (made on first use)."""
        pool = f"pool-{scope or 'none'}-v{version}"
        self.subnetpools.setdefault(pool, _rev({"id": pool, "name": pool, "ip_version": version,
                                                "prefixes": [], "address_scope_id": scope}))
        return pool

    # -- resources ---------------------------------------------------------------------------
    def network(self, id: str, *, external: bool = False, admin: bool = True,
                port_security: bool = True) -> str:
        self.networks[id] = _rev({"id": id, "name": id, "admin_state_up": admin,
                                  "router:external": external, "shared": False, "subnets": [],
                                  "mtu": 1500, "qos_policy_id": None,
                                  "port_security_enabled": port_security, "status": "ACTIVE"})
        return id

    def subnet(self, id: str, network: str, cidr: str, *, gateway=AUTO,
               host_routes: tuple = ()) -> str:
        net = ipaddress.ip_network(cidr)
        if gateway is AUTO:
            gateway = str(net.network_address + 1)
        self.subnets[id] = _rev({"id": id, "name": id, "network_id": network,
                                 "ip_version": net.version, "cidr": str(net), "gateway_ip": gateway,
                                 "host_routes": [{"destination": d, "nexthop": h}
                                                 for d, h in host_routes],
                                 "allocation_pools": [], "enable_dhcp": True, "subnetpool_id": None})
        self.networks[network]["subnets"].append(id)
        return id

    def subnet_for(self, network: str, address: str) -> str:
        addr = ipaddress.ip_address(address)
        for sid in self.networks[network]["subnets"]:
            if addr in ipaddress.ip_network(self.subnets[sid]["cidr"]):
                return sid
        raise ValueError(f"{address} is in no subnet of {network}")

    def port(self, id: str, network: str, ips: tuple = (), *, groups: tuple = (),
             pairs: tuple = (), security: bool = True, admin: bool = True,
             owner: str = "compute:nova", device_id: str = "", project: str = PROJECT) -> str:
        self.ports[id] = _rev({
            "id": id, "name": id, "network_id": network, "admin_state_up": admin,
            "fixed_ips": [{"subnet_id": self.subnet_for(network, ip), "ip_address": ip} for ip in ips],
            "allowed_address_pairs": [{"ip_address": p, "mac_address": "fa:16:3e:00:00:01"}
                                      for p in pairs],
            "security_groups": list(groups), "port_security_enabled": security,
            "device_owner": owner, "device_id": device_id or (f"vm-{id}" if owner.startswith("compute") else ""),
            "qos_policy_id": None, "mac_address": "fa:16:3e:00:00:01", "status": "ACTIVE",
            "project_id": project})
        return id

    def router(self, id: str, *, gateway: str | None = None, gateway_ips: tuple = (),
               enable_snat: bool = True, routes: tuple = (), admin: bool = True,
               gateway_admin: bool = True) -> str:
        info = None
        if gateway is not None:
            fixed = [{"subnet_id": self.subnet_for(gateway, ip), "ip_address": ip} for ip in gateway_ips]
            info = {"network_id": gateway, "enable_snat": enable_snat, "external_fixed_ips": fixed}
            self.port(f"gw-{id}", gateway, gateway_ips, security=False, admin=gateway_admin,
                      owner="network:router_gateway", device_id=id, project="")
        self.routers[id] = _rev({"id": id, "name": id, "admin_state_up": admin,
                                 "external_gateway_info": info, "status": "ACTIVE",
                                 "routes": [{"destination": d, "nexthop": h} for d, h in routes]})
        return id

    def interface(self, router: str, subnet: str, ip: str | None = None, *,
                  admin: bool = True, id: str | None = None) -> str:
        sub = self.subnets[subnet]
        ip = ip or sub["gateway_ip"]
        return self.port(id or f"if-{router}-{subnet}", sub["network_id"], (ip,), security=False,
                         admin=admin, owner="network:router_interface", device_id=router)

    def fip(self, id: str, network: str, address: str, port: str | None = None,
            fixed_ip: str | None = None, router: str | None = None) -> str:
        if port is not None and fixed_ip is None:
            fixed_ip = next(f["ip_address"] for f in self.ports[port]["fixed_ips"]
                            if ipaddress.ip_address(f["ip_address"]).version == 4)
        self.floatingips[id] = _rev({
            "id": id, "floating_ip_address": address, "floating_network_id": network,
            "port_id": port, "fixed_ip_address": fixed_ip if port else None,
            "router_id": router if port else None, "status": "ACTIVE" if port else "DOWN",
            "qos_policy_id": None})
        self.port(f"fp-{id}", network, (address,), security=False, owner="network:floatingip",
                  device_id=id, project="")
        return id

    def forward(self, id: str, fip: str, port: str, router: str, protocol: str = "tcp",
                external: str = "2222", internal: str = "22", internal_ip: str | None = None) -> str:
        """A port forwarding (``external`` / ``internal``: a port or ``"first:last"``); its
        floating IP, which must not be associated, is then held by ``router``."""
        internal_ip = internal_ip or self.ports[port]["fixed_ips"][0]["ip_address"]
        spans = {side: value if ":" in value else f"{value}:{value}"
                 for side, value in (("external", external), ("internal", internal))}
        self.port_forwardings[id] = {
            "id": id, "floatingip_id": fip, "protocol": protocol, "internal_port_id": port,
            "internal_ip_address": internal_ip, "description": "", "project_id": PROJECT,
            "external_port_range": spans["external"], "internal_port_range": spans["internal"],
            "external_port": int(external) if ":" not in external else None,
            "internal_port": int(internal) if ":" not in internal else None}
        self.floatingips[fip].update(router_id=router, status="ACTIVE")
        return id

    def group(self, id: str, *, name: str | None = None, stateful: bool = True,
              project: str = PROJECT) -> str:
        self.security_groups[id] = _rev({"id": id, "name": name or id, "stateful": stateful,
                                         "description": "", "project_id": project})
        return id

    def rule(self, group: str, direction: str, ethertype: str = "IPv4", protocol=None,
             port_min=None, port_max=None, prefix=None, remote_group=None,
             id: str | None = None, address_group=None) -> str:
        id = id or f"{group}-r{len(self.security_group_rules)}"
        self.security_group_rules[id] = _rev({
            "id": id, "security_group_id": group, "direction": direction, "ethertype": ethertype,
            "protocol": protocol, "port_range_min": port_min, "port_range_max": port_max,
            "remote_ip_prefix": prefix, "remote_group_id": remote_group, "description": "",
            "remote_address_group_id": address_group,
            "project_id": self.security_groups[group]["project_id"]})
        return id

    def address_group(self, id: str, *addresses: str) -> str:
        self.address_groups[id] = _rev({"id": id, "name": id, "description": "",
                                        "addresses": list(addresses)})
        return id

    def open_group(self, id: str, *, stateful: bool = True) -> str:
        """A group admitting everything both ways, both families."""
        self.group(id, stateful=stateful)
        for direction in ("ingress", "egress"):
            for ethertype in ("IPv4", "IPv6"):
                self.rule(id, direction, ethertype)
        return id


def base() -> Topology:
    """The cloud most hand cases start from.

    ext (n-ext, 203.0.113.0/24 gw .1 = upstream; 2001:db8:ff::/64) ← r1 gateway 203.0.113.2
    r1 interfaces: s-a 10.0.1.1 (+ fd00:a::1), s-b 10.0.2.1
    vm-a 10.0.1.10 / fd00:a::10 on n-a, group sg-open (everything both ways)
    vm-b 10.0.2.10 on n-b, group sg-web (ingress tcp 80 and icmp from anywhere; egress all),
    floating IP fip-b 203.0.113.20 → vm-b.
    """
    t = Topology()
    t.network("n-ext", external=True)
    t.subnet("s-ext", "n-ext", "203.0.113.0/24")
    t.subnet("s-ext6", "n-ext", "2001:db8:ff::/64")
    t.network("n-a")
    t.subnet("s-a", "n-a", "10.0.1.0/24")
    t.subnet("s-a6", "n-a", "fd00:a::/64")
    t.network("n-b")
    t.subnet("s-b", "n-b", "10.0.2.0/24")
    t.router("r1", gateway="n-ext", gateway_ips=("203.0.113.2", "2001:db8:ff::2"))
    t.interface("r1", "s-a")
    t.interface("r1", "s-a6")
    t.interface("r1", "s-b")
    t.open_group("sg-open")
    t.group("sg-web")
    t.rule("sg-web", "ingress", protocol="tcp", port_min=80, port_max=80, id="web-http")
    t.rule("sg-web", "ingress", protocol="icmp", id="web-icmp")
    t.rule("sg-web", "egress", id="web-out4")
    t.rule("sg-web", "egress", "IPv6", id="web-out6")
    t.port("vm-a", "n-a", ("10.0.1.10", "fd00:a::10"), groups=("sg-open",))
    t.port("vm-b", "n-b", ("10.0.2.10",), groups=("sg-web",))
    t.fip("fip-b", "n-ext", "203.0.113.20", port="vm-b", router="r1")
    return t


def query(src, dst, protocol="tcp", **extra) -> dict:
    """A reachability query; ``src``/``dst`` are port ids or {"ip_address": ...} dicts."""
    def end(value):
        return value if isinstance(value, dict) else {"port_id": value}
    if protocol in ("tcp", "udp", 6, 17) and "destination_port" not in extra:
        extra["destination_port"] = 80
    return {"source": end(src), "destination": end(dst), "protocol": protocol, **extra}


@dataclass
class Case:
    """One hand-written expectation: a topology builder, a query, what must come out."""

    name: str
    build: object  # () -> Topology
    query: dict
    disposition: str
    return_disposition: str | None = None
    flow: dict | None = None  # expected subset of the delivered flow (e.g. translated addresses)
    return_flow: dict | None = None
    delivered_to: str | None = None
    error: bool = False  # the query itself is invalid (400)

    def __str__(self) -> str:
        return self.name


def case(name, build, q, disposition, ret=None, **kw) -> Case:
    return Case(name, build, q, disposition, ret, **kw)


def assert_case(result: dict, c: Case) -> None:
    """Compare one answer (reference or engine, normalised to the reference's keys) to a case."""
    got = (result["disposition"], result.get("return_disposition"))
    assert got == (c.disposition, c.return_disposition), (c.name, got, result.get("hops"))
    assert result["reachable"] == (c.disposition in ("ACCEPTED", "EXITS_NETWORK"))
    for key, value in (c.flow or {}).items():
        assert result["flow"][key] == value, (c.name, key, result["flow"])
    for key, value in (c.return_flow or {}).items():
        assert result["return_flow"][key] == value, (c.name, key, result["return_flow"])
    if c.delivered_to is not None:
        assert result["delivered_to"] == c.delivered_to, (c.name, result["delivered_to"])


def variant(*edits):
    """A builder: ``base()`` with each edit (a function of the Topology) applied in order."""
    def build() -> Topology:
        t = base()
        for edit in edits:
            edit(t)
        return t
    return build


def set_attr(collection: str, id: str, **attrs):
    """An edit setting attributes of one resource, e.g. ``set_attr("ports", "vm-a", admin_state_up=False)``."""
    def edit(t: Topology) -> None:
        getattr(t, collection)[id].update(attrs)
    return edit


def set_groups(port: str, *groups: str):
    return set_attr("ports", port, security_groups=list(groups))


# ----------------------------------------------------------------------------------------------
# Random topologies (hypothesis)

EXT_V4, EXT_V6, EXT2_V4 = "203.0.113.0/24", "2001:db8:ff::/64", "198.18.0.0/24"
TENANT_V4 = ("10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
INTERNET = ("192.0.2.50", "2001:db8:1234::5", "10.0.9.5")
EXTERNAL_HOSTS = ("198.51.100.7", "2001:db8:5::7")
PORT_RANGES = ((None, None), (22, 22), (80, 80), (80, 443), (1, 1024), (8000, 8080))
ICMP_RANGES = ((None, None), (8, None), (8, 0), (0, 0), (3, 1), (13, None), (128, None))
PROTOCOLS = (None, "tcp", "udp", "icmp", "6", "17", "1", "any", "0", "gre", "47", "sctp", "132")


def mostly(p: float = 0.85):
    """True with probability about ``p`` (hypothesis shrinks towards True)."""
    return st.integers(0, 99).map(lambda x: x < int(p * 100))


def _host(cidr: str, n: int) -> str:
    net = ipaddress.ip_network(cidr)
    return str(net.network_address + n)


@st.composite
def _rule(draw, t: Topology, group: str, groups: list) -> None:
    ethertype = draw(st.sampled_from(("IPv4", "IPv4", "IPv4", "IPv6")))
    protocol = draw(st.sampled_from(PROTOCOLS))
    if ethertype == "IPv6" and protocol in ("1", "icmp"):
        protocol = draw(st.sampled_from(("icmp", "ipv6-icmp", "58")))
    lo = hi = None
    if protocol in ("tcp", "udp", "6", "17", "sctp", "132"):
        lo, hi = draw(st.sampled_from(PORT_RANGES))
    elif protocol in ("icmp", "1", "ipv6-icmp", "58"):
        lo, hi = draw(st.sampled_from(ICMP_RANGES))
    prefix = remote_group = None
    remote = draw(st.sampled_from(("none", "none", "prefix", "prefix", "group")))
    if remote == "prefix":
        choices = (("0.0.0.0/0", "10.0.1.0/24", "10.0.1.10/32", "10.0.2.0/25", "203.0.113.0/24",
                    "198.51.100.0/24", "10.0.0.0/8") if ethertype == "IPv4" else
                   ("::/0", "fd00:1::/64", "2001:db8::/32"))
        prefix = draw(st.sampled_from(choices))
    elif remote == "group":
        remote_group = draw(st.sampled_from(groups))
    t.rule(group, draw(st.sampled_from(("ingress", "egress"))), ethertype, protocol, lo, hi,
           prefix, remote_group, address_group=draw(_address_group_remote(t)))


# Address-group members: both families, host bits set on some (they are ignored), overlaps.
AG_ADDRESSES = ("10.0.1.0/24", "10.0.1.10/32", "10.0.2.7/25", "203.0.113.0/24", "198.51.100.9/24",
                "10.0.0.0/8", "0.0.0.0/0", "fd00:a::/64", "2001:db8::5/32", "fd00:1::10/128")


@st.composite
def _address_groups(draw, t: Topology) -> None:
    """0-2 address groups of 0-4 addresses each."""
    for i in range(draw(st.sampled_from((0, 0, 1, 2)))):
        t.address_group(f"ag-{i}", *draw(st.lists(st.sampled_from(AG_ADDRESSES), max_size=4, unique=True)))


@st.composite
def _address_group_remote(draw, t: Topology):
    """Now and then a rule names an address group (rarely one that does not exist); with a
    prefix or a remote group as well when those were drawn (conjunctive in the semantics)."""
    if draw(st.integers(0, 99)) < 75:  # shrinks towards "no address group"
        return None
    return draw(st.sampled_from(sorted(t.address_groups) + ["ag-missing"]))


@st.composite
def _groups(draw, t: Topology) -> list:
    ids = [f"sg-{i}" for i in range(draw(st.integers(1, 4)))]
    for gid in ids:
        t.group(gid, stateful=draw(mostly(0.75)))
    for gid in ids:
        if draw(mostly(0.6)):  # the two egress-any rules every new group starts with
            t.rule(gid, "egress", "IPv4")
            t.rule(gid, "egress", "IPv6")
        if draw(mostly(0.3)):
            t.rule(gid, "ingress", draw(st.sampled_from(("IPv4", "IPv6"))))
        for _ in range(draw(st.sampled_from((0, 1, 2, 3, 4, 5, 6, 8)))):
            draw(_rule(t, gid, ids))
    return ids


@st.composite
def _tenant_networks(draw, t: Topology) -> list:
    """1-3 tenant networks, each with an IPv4 subnet (maybe overlapping) and maybe an IPv6 one."""
    subnets = []
    for i in range(1, draw(st.integers(1, 3)) + 1):
        net = t.network(f"n-{i}", admin=draw(mostly(0.96)))
        cidr = draw(st.sampled_from((TENANT_V4[i - 1],) * 4 + TENANT_V4))
        gateway = draw(st.sampled_from((_host(cidr, 1),) * 5 + (None, _host(cidr, 20))))
        t.subnet(f"s-{i}", net, cidr, gateway=gateway)
        subnets.append(f"s-{i}")
        if draw(mostly(0.3)):
            t.subnet(f"s-{i}v6", net, f"fd00:{i}::/64", gateway=f"fd00:{i}::1")
            subnets.append(f"s-{i}v6")
    return subnets


def _free(t: Topology, subnet: str, start: int) -> str:
    taken = {f["ip_address"] for p in t.ports.values() for f in p["fixed_ips"]}
    n = start
    while _host(t.subnets[subnet]["cidr"], n) in taken:
        n += 1
    return _host(t.subnets[subnet]["cidr"], n)


@st.composite
def _vm_ports(draw, t: Topology, groups: list) -> None:
    """1-3 ports per network (VMs; sometimes a DHCP port), with pairs, port security, admin state."""
    stateful = [g for g in groups if t.security_groups[g]["stateful"]]
    stateless = [g for g in groups if not t.security_groups[g]["stateful"]]
    for net in list(t.networks):
        subs = t.networks[net]["subnets"]
        if not subs:
            continue
        for k in range(draw(st.integers(0 if t.networks[net]["router:external"] else 1, 3))):
            ips = [_free(t, s, 10 + k) for s in subs if draw(mostly(0.9)) or s == subs[0]]
            security = draw(mostly(0.85))
            pool = draw(st.sampled_from([p for p in (stateful, stateless) if p] or [[]]))
            chosen = (draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
                      if security and pool and draw(mostly(0.95)) else [])
            pairs = []
            if security and draw(mostly(0.3)):
                cidr = t.subnets[subs[0]]["cidr"]
                pairs = [draw(st.sampled_from((_host(cidr, 50), _host(cidr, 50) + "/32",
                                               _host(cidr, 48) + "/29", "0.0.0.0/0", "10.0.0.0/8")))]
            owner = "network:dhcp" if k == 2 and draw(mostly(0.3)) else "compute:nova"
            t.port(f"vm-{net}-{k}", net, tuple(ips), groups=tuple(chosen) if owner != "network:dhcp" else (),
                   pairs=tuple(pairs), security=security, admin=draw(mostly(0.96)), owner=owner)


@st.composite
def _dhcp_ports(draw, t: Topology) -> None:
    """The DHCP agent's port on some tenant networks: the lowest free address of each subnet,
    port security off — or, rarely, on with groups (still trusted: never filtered)."""
    for net in [n for n, v in t.networks.items() if not v["router:external"] and v["subnets"]]:
        if not draw(mostly(0.5)):
            continue
        groups = tuple(draw(st.lists(st.sampled_from(sorted(t.security_groups)), max_size=1))) \
            if t.security_groups and draw(mostly(0.2)) else ()
        t.port(f"dhcp-{net}", net, tuple(_free(t, s, 2) for s in t.networks[net]["subnets"]),
               owner="network:dhcp", device_id=f"dhcp-agent-{net}", security=bool(groups), groups=groups,
               admin=draw(mostly(0.95)))


def _interface_ip(t: Topology, subnet: str, router_index: int) -> str:
    """The subnet's gateway address when free, else a high address of the subnet."""
    taken = {f["ip_address"] for p in t.ports.values() for f in p["fixed_ips"]}
    gateway = t.subnets[subnet]["gateway_ip"]
    if gateway and gateway not in taken:
        return gateway
    return _free(t, subnet, 250 - 3 * router_index)


def _overlaps(t: Topology, subnet: str, attached: list) -> bool:
    net = ipaddress.ip_network(t.subnets[subnet]["cidr"])
    return any(net.overlaps(ipaddress.ip_network(t.subnets[s]["cidr"])) for s in attached)


@st.composite
def _routers(draw, t: Topology, tenant_subnets: list) -> list:
    """0-2 routers with gateways, interfaces (no overlap on one router) and admin state."""
    routers = []
    for r in range(draw(st.sampled_from((1, 1, 2, 2, 0)))):
        rid = f"r{r}"
        gateway = draw(mostly(0.8))
        ext = draw(st.sampled_from(sorted(n for n, v in t.networks.items() if v["router:external"])))
        if ext == "n-ext":
            ips = (f"203.0.113.{2 + r}",) + ((f"2001:db8:ff::{2 + r}",) if "s-ext6" in t.subnets else ())
        else:
            ips = (f"198.18.0.{2 + r}",)
        t.router(rid, gateway=ext if gateway else None, gateway_ips=ips if gateway else (),
                 enable_snat=draw(mostly(0.7)), admin=draw(mostly(0.96)),
                 gateway_admin=draw(mostly(0.97)))
        attached = []
        for subnet in tenant_subnets:
            if draw(mostly(0.6)) and not _overlaps(t, subnet, attached):
                t.interface(rid, subnet, _interface_ip(t, subnet, r), admin=draw(mostly(0.97)))
                attached.append(subnet)
        routers.append(rid)
    return routers


def _connected(t: Topology, router: str) -> list:
    return [f["subnet_id"] for p in t.ports.values()
            if p["device_id"] == router and p["device_owner"].startswith("network:router")
            for f in p["fixed_ips"]]


@st.composite
def _extra_routes(draw, t: Topology, routers: list) -> None:
    """0-2 extra routes per router; next hops in connected subnets (other routers, VMs, nobody,
    the upstream), destinations that can form loops."""
    for rid in routers:
        own = {f["ip_address"] for p in t.ports.values() if p["device_id"] == rid for f in p["fixed_ips"]}
        hops = []
        for subnet in _connected(t, rid):
            cidr = t.subnets[subnet]["cidr"]
            hops += [f["ip_address"] for p in t.ports.values() for f in p["fixed_ips"]
                     if f["subnet_id"] == subnet and not p["device_owner"].startswith("network:floatingip")]
            hops.append(_host(cidr, 99))
            if t.subnets[subnet]["gateway_ip"]:
                hops.append(t.subnets[subnet]["gateway_ip"])
        hops = sorted(set(h for h in hops if h not in own and ipaddress.ip_address(h).version == 4))
        routers_hops = [h for h in hops if any(
            h == f["ip_address"] for p in t.ports.values() if p["device_owner"].startswith("network:router")
            for f in p["fixed_ips"])]
        hops += routers_hops * 4  # other routers are the interesting next hops (and make loops)
        if not hops:
            continue
        dests = (*TENANT_V4, "10.0.9.0/24", "0.0.0.0/0", "10.0.0.0/16", "192.0.2.0/24")
        routes = draw(st.lists(st.tuples(st.sampled_from(dests), st.sampled_from(hops)),
                               max_size=2, unique=True))
        t.routers[rid]["routes"] = [{"destination": d, "nexthop": h} for d, h in routes]


def _router_ip_on(t: Topology, router: str, subnet: str) -> str | None:
    for p in t.ports.values():
        if p["device_id"] == router and p["device_owner"].startswith("network:router"):
            for f in p["fixed_ips"]:
                if f["subnet_id"] == subnet:
                    return f["ip_address"]
    return None


@st.composite
def _loop(draw, t: Topology, routers: list) -> None:
    """Sometimes two routers sharing a subnet each send 10.0.9.0/24 to the other: a loop."""
    if len(routers) < 2 or not draw(mostly(0.5)):
        return
    a, b = routers[:2]
    shared = [s for s in _connected(t, a) if s in _connected(t, b) and t.subnets[s]["ip_version"] == 4]
    if shared:
        for here, there in ((a, b), (b, a)):
            t.routers[here]["routes"].append(
                {"destination": "10.0.9.0/24", "nexthop": _router_ip_on(t, there, shared[0])})


@st.composite
def _floating_ips(draw, t: Topology, routers: list) -> None:
    """Floating IPs for some ports behind routers with a gateway, and one unassociated."""
    n = 100
    for rid in routers:
        info = t.routers[rid]["external_gateway_info"]
        if info is None:
            continue
        ext = info["network_id"]
        prefix = "203.0.113" if ext == "n-ext" else "198.18.0"
        subnets = set(_connected(t, rid))
        for port in list(t.ports.values()):
            if not port["device_owner"].startswith("compute"):
                continue
            v4 = [f for f in port["fixed_ips"] if f["subnet_id"] in subnets
                  and ipaddress.ip_address(f["ip_address"]).version == 4]
            if v4 and draw(mostly(0.5)):
                if any(f["port_id"] == port["id"] for f in t.floatingips.values()):
                    continue
                t.fip(f"fip-{n}", ext, f"{prefix}.{n}", port=port["id"],
                      fixed_ip=v4[0]["ip_address"], router=rid)
                n += 1
    if draw(mostly(0.5)):
        t.fip("fip-free", "n-ext", "203.0.113.200")
    draw(_port_forwardings(t, routers))


# (protocol, external, internal): single ports, N:N and N:1 ranges, a port-less protocol, and
# overlapping ranges (the lower forwarding id wins on a hand-built snapshot).
FORWARDS = (("tcp", "2222", "22"), ("tcp", "80", "8080"), ("udp", "53", "53"), ("tcp", "400:500", "8000:8100"),
            ("tcp", "3000:3400", "22"), ("sctp", "22", "80"), ("icmp", "1", "1"), ("tcp", "443:450", "80"),
            ("tcp", "8080", "80"), ("udp", "50:60", "5300:5310"))


@st.composite
def _port_forwardings(draw, t: Topology, routers: list) -> None:
    """Sometimes a floating IP of a gateway router forwards a few ports to ports behind it."""
    for rid in routers:
        info = t.routers[rid]["external_gateway_info"]
        if info is None or not draw(mostly(0.6)):
            continue
        prefix = "203.0.113" if info["network_id"] == "n-ext" else "198.18.0"
        fip = t.fip(f"fip-pf-{rid}", info["network_id"], f"{prefix}.{210 + len(t.port_forwardings)}")
        subnets = set(_connected(t, rid))
        targets = sorted((p["id"], f["ip_address"]) for p in t.ports.values() if p["device_owner"].startswith("compute")
                         for f in p["fixed_ips"] if f["subnet_id"] in subnets
                         and ipaddress.ip_address(f["ip_address"]).version == 4)
        if not targets:
            continue
        for n in range(draw(st.integers(1, 3))):
            port, address = draw(st.sampled_from(targets))
            protocol, external, internal = draw(st.sampled_from(FORWARDS))
            t.forward(f"pf-{rid}-{n}", fip, port, rid, protocol, external, internal, internal_ip=address)


@st.composite
def _scopes(draw, t: Topology) -> None:
    """Sometimes address scopes: every network's subnets of one IP version come from one pool
    (as the API insists) in scope blue or red, in a pool of no scope, or from no pool."""
    if not draw(mostly(0.45)):
        return
    no_pool = object()
    for net in sorted(t.networks):
        for version in (4, 6):
            subs = [s for s in t.networks[net]["subnets"] if t.subnets[s]["ip_version"] == version]
            if not subs:
                continue
            scope = draw(st.sampled_from(("blue", "blue", "red", None, no_pool)))
            if scope is not no_pool:
                for subnet in subs:
                    t.scope(subnet, scope if scope is None else f"{scope}{version}")


@st.composite
def topologies(draw) -> Topology:
    """A random small but rich cloud: external network, 1-3 tenant networks, 0-2 routers,
    1-4 security groups with random rules, ports with pairs / port security / admin state,
    floating IPs, extra routes and host routes (loops included)."""
    t = Topology()
    t.network("n-ext", external=True, admin=draw(mostly(0.97)))
    t.subnet("s-ext", "n-ext", EXT_V4, gateway=draw(st.sampled_from(("203.0.113.1",) * 6 + (None,))))
    if draw(mostly(0.3)):
        t.subnet("s-ext6", "n-ext", EXT_V6)
    if draw(mostly(0.25)):  # a second external network (a higher id: not the default entry)
        t.network("n-ext2", external=True, admin=draw(mostly(0.97)))
        t.subnet("s-ext2", "n-ext2", EXT2_V4)
    tenant = draw(_tenant_networks(t))
    draw(_address_groups(t))
    groups = draw(_groups(t))
    routers = draw(_routers(t, tenant))
    draw(_dhcp_ports(t))
    draw(_vm_ports(t, groups))
    draw(_extra_routes(t, routers))
    draw(_loop(t, routers))
    draw(_floating_ips(t, routers))
    for subnet in tenant:
        sub = t.subnets[subnet]
        if sub["ip_version"] == 4 and draw(mostly(0.2)):
            hop = draw(st.sampled_from(sorted({f["ip_address"] for p in t.ports.values()
                                               for f in p["fixed_ips"] if f["subnet_id"] == subnet}
                                              | {_host(sub["cidr"], 99)})))
            sub["host_routes"] = [{"destination": draw(st.sampled_from(TENANT_V4 + ("0.0.0.0/0",))),
                                   "nexthop": hop}]
    draw(_scopes(t))
    return t


# ----------------------------------------------------------------------------------------------
# Random flows


def _addresses(t: Topology) -> list:
    """Every interesting destination address of a topology."""
    found = {f["ip_address"] for p in t.ports.values() for f in p["fixed_ips"]}
    found |= {a["ip_address"] for p in t.ports.values() for a in p["allowed_address_pairs"]
              if "/" not in a["ip_address"]}
    found |= {s["gateway_ip"] for s in t.subnets.values() if s["gateway_ip"]}
    found |= {_host(s["cidr"], 99) for s in t.subnets.values()}
    found |= {_host(s["cidr"], 50) for s in t.subnets.values()}
    found |= set(INTERNET)
    return sorted(found)


@st.composite
def _protocol(draw) -> dict:
    kind = draw(st.sampled_from(("tcp", "tcp", "udp", "icmp", "icmp", "gre", "sctp", "number")))
    if kind in ("tcp", "udp", "sctp"):
        q = {"protocol": kind, "destination_port": draw(st.sampled_from((22, 80, 443, 8080, 53, 3306, 2222, 450, 3100, 55)))}
        if draw(mostly(0.2)):
            q["source_port"] = draw(st.sampled_from((1024, 40000, 65535)))
        return q
    if kind == "icmp":
        q = {"protocol": "icmp"}
        if draw(mostly(0.4)):
            q["icmp_type"] = draw(st.sampled_from((8, 0, 13, 3, 17, 128, 129)))
            q["icmp_code"] = draw(st.sampled_from((0, 0, 1)))
        return q
    if kind == "number":
        return draw(st.sampled_from(({"protocol": 6, "destination_port": 80},
                                     {"protocol": "17", "destination_port": 53}, {"protocol": 112})))
    return {"protocol": kind}


@st.composite
def flows(draw, t: Topology) -> dict:
    """A query between two ends of ``t``: a port (maybe sending from another address) or an
    external host, to a port or an address (fixed, pair, floating, router, free, beyond)."""
    senders = sorted(p["id"] for p in t.ports.values()
                     if p["device_owner"] in ("compute:nova", "network:dhcp") and p["fixed_ips"])
    has_v6 = any(s["ip_version"] == 6 for s in t.subnets.values())
    version = draw(st.sampled_from((4, 4, 4, 4, 6) if has_v6 else (4,)))
    addresses = [a for a in _addresses(t) if ipaddress.ip_address(a).version == version]
    if senders and draw(mostly(0.8)):
        source = {"port_id": draw(st.sampled_from(senders))}
        if draw(mostly(0.15)):
            source["ip_address"] = draw(st.sampled_from(addresses))
    else:
        source = {"ip_address": EXTERNAL_HOSTS[version == 6]}
        if draw(mostly(0.2)):
            source["network_id"] = draw(st.sampled_from(sorted(
                n for n, v in t.networks.items() if v["router:external"])))
    fips = sorted(f["floating_ip_address"] for f in t.floatingips.values()) if version == 4 else []
    external = [ipaddress.ip_network(c) for c in (EXT_V4, EXT_V6, EXT2_V4)]
    outside = [a for a in addresses
               if any(ipaddress.ip_address(a) in net for net in external if net.version == version)] + fips * 3
    forwarded = [t.port_forwardings[k] for k in sorted(t.port_forwardings)]
    if version == 4 and forwarded and draw(mostly(0.35)):
        return draw(_forwarded_flow(t, source, forwarded))
    looped = any(r["destination"] == "10.0.9.0/24" for x in t.routers.values() for r in x["routes"])
    if looped and version == 4 and draw(mostly(0.3)):
        destination = {"ip_address": "10.0.9.5"}  # where the generated routing loops lead
    elif "port_id" not in source and outside and draw(mostly(0.8)):
        destination = {"ip_address": draw(st.sampled_from(outside))}
    elif senders and draw(mostly(0.4)):
        destination = {"port_id": draw(st.sampled_from(senders))}
    else:
        destination = {"ip_address": draw(st.sampled_from(addresses + fips * 3))}
    q = {"source": source, "destination": destination, **draw(_protocol())}
    if draw(mostly(0.15)):
        q["ethertype"] = draw(st.sampled_from(("IPv4", "IPv6")))
    return q


@st.composite
def _forwarded_flow(draw, t: Topology, source: dict, forwarded: list) -> dict:
    """A flow to a forwarding floating IP, at the edges of one forwarding's external range
    (inside and just outside), its protocol or another."""
    pf = draw(st.sampled_from(forwarded))
    first, last = (int(p) for p in pf["external_port_range"].split(":"))
    protocol = pf["protocol"] if pf["protocol"] in ("tcp", "udp", "sctp") and draw(mostly(0.85)) else (
        draw(st.sampled_from(("tcp", "udp", "icmp"))))
    q = {"source": source, "protocol": protocol,
         "destination": {"ip_address": t.floatingips[pf["floatingip_id"]]["floating_ip_address"]}}
    if protocol != "icmp":
        q["destination_port"] = draw(st.sampled_from((first, last, (first + last) // 2, min(last + 1, 65535),
                                                      max(first - 1, 1))))
    return q
