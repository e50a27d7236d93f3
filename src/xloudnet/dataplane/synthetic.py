"""Deterministic synthetic clouds for benchmarks and scale tests (API-shaped records).

``synthetic_snapshot(ports=1000, groups=100, rules=1000, seed=0)`` builds one external network,
tenant networks of ``ports_per_network`` VMs, a router per ``networks_per_router`` networks
(interfaces at .1, gateway on the external network, a few extra routes), floating IPs on a
fraction of the VMs, and ``groups`` security groups sharing ``rules`` rules (port ranges,
prefixes, remote-group references, ICMP, egress-any) — every VM in one to three groups.
``change_one_rule(snapshot, seed)`` returns the snapshot with one rule replaced (all other
records shared), the what-if a benchmark recompiles.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace
from types import MappingProxyType

from ..control.snapshot import Snapshot


def _rec(record: dict) -> dict:
    record.setdefault("project_id", "p-synth")
    record.setdefault("revision_number", 1)
    return record


def _rule(rng: random.Random, rid: str, gid: str, group_ids: list, ports: int) -> dict:
    kind = rng.random()
    rule = {"id": rid, "security_group_id": gid, "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": None, "port_range_max": None,
            "remote_ip_prefix": None, "remote_group_id": None}
    if kind < 0.45:
        low = rng.randrange(1, 65000)
        rule.update(port_range_min=low, port_range_max=low + rng.choice((0, 0, 0, 10, 1000)),
                    remote_ip_prefix=f"10.{rng.randrange(256)}.0.0/{rng.choice((8, 16, 24))}")
    elif kind < 0.65:
        port = rng.choice((22, 80, 443, 5432, 8080))
        rule.update(port_range_min=port, port_range_max=port, remote_group_id=rng.choice(group_ids))
    elif kind < 0.75:
        rule.update(protocol="icmp", port_range_min=rng.choice((None, 8, 0)))
    elif kind < 0.85:
        rule.update(protocol="udp", port_range_min=53, port_range_max=53, remote_ip_prefix="0.0.0.0/0")
    else:
        rule.update(direction="egress", protocol=None)
    return _rec(rule)


def synthetic_snapshot(ports: int = 1000, groups: int = 100, rules: int = 1000, *, seed: int = 0,
                       ports_per_network: int = 50, networks_per_router: int = 10,
                       fip_fraction: float = 0.2, extra_routes: int = 2) -> Snapshot:
    """A reproducible cloud of the given size (see the module docstring)."""
    rng = random.Random(seed)
    res = {k: [] for k in ("networks", "subnets", "ports", "routers", "floatingips",
                           "security_groups", "security_group_rules")}
    res["networks"].append(_rec({"id": "net-ext", "admin_state_up": True, "router:external": True,
                                 "port_security_enabled": True}))
    res["subnets"].append(_rec({"id": "sub-ext", "network_id": "net-ext", "ip_version": 4,
                                "cidr": "100.64.0.0/10", "gateway_ip": "100.64.0.1", "host_routes": []}))
    ext_hosts = ipaddress.ip_network("100.64.0.0/10").hosts()
    next(ext_hosts)
    group_ids = [f"sg-{g:05d}" for g in range(groups)]
    for gid in group_ids:
        res["security_groups"].append(_rec({"id": gid, "name": gid, "stateful": True}))
    for r in range(rules):
        gid = group_ids[r % groups]
        res["security_group_rules"].append(_rule(rng, f"rule-{r:06d}", gid, group_ids, ports))
    networks = -(-ports // ports_per_network)
    for n in range(networks):
        _network(res, n, rng, group_ids, ports - n * ports_per_network, ports_per_network)
    for r in range(-(-networks // networks_per_router)):
        _router(res, r, range(r * networks_per_router, min(networks, (r + 1) * networks_per_router)),
                ext_hosts, extra_routes)
    _floating_ips(res, rng, fip_fraction, ext_hosts, networks_per_router, ports_per_network)
    return Snapshot.from_resources(revision=1, **res)


def _network(res, n: int, rng, group_ids, remaining: int, per: int) -> None:
    nid, sid = f"net-{n:05d}", f"sub-{n:05d}"
    cidr = f"10.{n >> 8 & 255}.{n & 255}.0/24" if n < 65536 else f"172.{16 + (n >> 16)}.{n >> 8 & 255}.0/24"
    base = cidr.rsplit(".", 1)[0]
    res["networks"].append(_rec({"id": nid, "admin_state_up": True, "router:external": False,
                                 "port_security_enabled": True}))
    res["subnets"].append(_rec({"id": sid, "network_id": nid, "ip_version": 4, "cidr": cidr,
                                "gateway_ip": f"{base}.1", "host_routes": []}))
    for k in range(min(per, remaining)):
        pid = f"port-{n:05d}-{k:03d}"
        pairs = [{"ip_address": f"{base}.{200 + k % 50}", "mac_address": "fa:16:3e:00:00:02"}] if k % 7 == 0 else []
        res["ports"].append(_rec({
            "id": pid, "network_id": nid, "admin_state_up": True, "device_owner": "compute:nova",
            "device_id": f"vm-{pid}", "fixed_ips": [{"subnet_id": sid, "ip_address": f"{base}.{10 + k}"}],
            "allowed_address_pairs": pairs, "port_security_enabled": True,
            "security_groups": rng.sample(group_ids, min(len(group_ids), rng.choice((1, 1, 2, 3))))}))


def _router(res, r: int, nets, ext_hosts, extra_routes: int) -> None:
    rid = f"router-{r:04d}"
    gw_ip = str(next(ext_hosts))
    res["routers"].append(_rec({"id": rid, "admin_state_up": True, "routes": [
        {"destination": f"192.168.{(r * extra_routes + e) % 256}.0/24", "nexthop": f"10.{n >> 8 & 255}.{n & 255}.254"}
        for e, n in zip(range(extra_routes), nets)],
        "external_gateway_info": {"network_id": "net-ext", "enable_snat": True,
                                  "external_fixed_ips": [{"subnet_id": "sub-ext", "ip_address": gw_ip}]}}))
    res["ports"].append(_rec({"id": f"gw-{rid}", "network_id": "net-ext", "admin_state_up": True,
                              "device_owner": "network:router_gateway", "device_id": rid,
                              "fixed_ips": [{"subnet_id": "sub-ext", "ip_address": gw_ip}],
                              "allowed_address_pairs": [], "security_groups": []}))
    for n in nets:
        base = f"10.{n >> 8 & 255}.{n & 255}"
        res["ports"].append(_rec({"id": f"if-{rid}-{n:05d}", "network_id": f"net-{n:05d}",
                                  "admin_state_up": True, "device_owner": "network:router_interface",
                                  "device_id": rid, "allowed_address_pairs": [], "security_groups": [],
                                  "fixed_ips": [{"subnet_id": f"sub-{n:05d}", "ip_address": f"{base}.1"}]}))


def _floating_ips(res, rng, fraction: float, ext_hosts, per_router: int, per_net: int) -> None:
    for port in [p for p in res["ports"] if p["device_owner"] == "compute:nova"]:
        if rng.random() >= fraction:
            continue
        n = int(port["network_id"].split("-")[1])
        address = str(next(ext_hosts))
        fid = f"fip-{port['id']}"
        res["floatingips"].append(_rec({
            "id": fid, "floating_ip_address": address, "floating_network_id": "net-ext",
            "port_id": port["id"], "fixed_ip_address": port["fixed_ips"][0]["ip_address"],
            "router_id": f"router-{n // per_router:04d}", "status": "ACTIVE"}))
        res["ports"].append(_rec({"id": f"fp-{fid}", "network_id": "net-ext", "admin_state_up": True,
                                  "device_owner": "network:floatingip", "device_id": fid,
                                  "fixed_ips": [{"subnet_id": "sub-ext", "ip_address": address}],
                                  "allowed_address_pairs": [], "security_groups": []}))


def change_one_rule(snapshot: Snapshot, seed: int = 0) -> Snapshot:
    """The snapshot with one rule's port range changed (a new record, revision bumped)."""
    rng = random.Random(seed)
    rules = dict(snapshot.security_group_rules)
    rid = rng.choice(sorted(rules)) if len(rules) < 4096 else f"rule-{rng.randrange(len(rules)):06d}"
    rule = dict(rules[rid])
    low = rng.randrange(1, 60000)
    rule.update(protocol="tcp", port_range_min=low, port_range_max=low + 5,
                revision_number=rule.get("revision_number", 1) + 1)
    rules[rid] = rule
    return replace(snapshot, revision=snapshot.revision + 1, security_group_rules=MappingProxyType(rules))


def change_one_route(snapshot: Snapshot, seed: int = 0) -> Snapshot:
    """The snapshot with one extra route added to one router."""
    rng = random.Random(seed)
    routers = dict(snapshot.routers)
    rid = rng.choice(sorted(routers))
    router = dict(routers[rid])
    hop = next((r["nexthop"] for r in router.get("routes") or []), None)
    if hop is None:
        return snapshot
    router["routes"] = list(router["routes"]) + [{"destination": f"172.31.{rng.randrange(256)}.0/24", "nexthop": hop}]
    router["revision_number"] = router.get("revision_number", 1) + 1
    routers[rid] = router
    return replace(snapshot, revision=snapshot.revision + 1, routers=MappingProxyType(routers))
