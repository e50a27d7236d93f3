"""Security-group decisions per second on one port with 1k rules: vectorised vs a Python loop.

Prints the vectorised rate (median of runs over a 1M-packet batch, one core) through the port's
merged classifier, the time of the first batch (which builds that classifier), the rate of the
per-group path on the same batch, the rate of a plain per-packet, per-rule Python loop measured
in the same process on a sample, and the ratio. Target: >= 10 M decisions/s.
"""

from __future__ import annotations

import ipaddress
import random
import statistics
import sys
import time

import numpy as np

from xloudnet.control.snapshot import Snapshot
from xloudnet.dataplane import compile_tables
from xloudnet.dataplane import groups as sg

RULES, GROUPS, PACKETS = 1000, 4, 1_000_000


def cloud(seed: int = 0):
    rng = random.Random(seed)
    groups = [{"id": f"g{i}", "stateful": True} for i in range(GROUPS)]
    rules = []
    for r in range(RULES):
        kind = rng.random()
        rule = {"id": f"r{r:04d}", "security_group_id": f"g{r % GROUPS}", "direction": "ingress",
                "ethertype": "IPv4", "protocol": "tcp", "port_range_min": None, "port_range_max": None,
                "remote_ip_prefix": None, "remote_group_id": None}
        if kind < 0.7:
            low = rng.randrange(1, 60000)
            rule.update(port_range_min=low, port_range_max=low + rng.choice((0, 0, 5, 100)),
                        remote_ip_prefix=f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/{rng.choice((16, 24))}")
        elif kind < 0.8:
            rule.update(protocol="udp", port_range_min=rng.randrange(1, 60000), remote_ip_prefix="10.0.0.0/8")
            rule["port_range_max"] = rule["port_range_min"]
        elif kind < 0.9:
            rule.update(protocol="icmp", port_range_min=rng.randrange(0, 20), remote_ip_prefix="10.1.0.0/16")
        else:
            rule.update(port_range_min=443, port_range_max=443, remote_group_id=f"g{rng.randrange(GROUPS)}")
        rules.append(rule)
    ports = [{"id": "target", "network_id": "n", "admin_state_up": True, "device_owner": "compute:nova",
              "fixed_ips": [{"subnet_id": "s", "ip_address": "10.0.0.5"}], "allowed_address_pairs": [],
              "security_groups": [g["id"] for g in groups]}]
    for m in range(200):
        ports.append({"id": f"m{m:03d}", "network_id": "n", "admin_state_up": True, "device_owner": "compute:nova",
                      "fixed_ips": [{"subnet_id": "s", "ip_address": f"10.{m % 4}.{m}.7"}],
                      "allowed_address_pairs": [], "security_groups": [f"g{m % GROUPS}"]})
    snap = Snapshot.from_resources(networks=[{"id": "n", "admin_state_up": True}],
                                   subnets=[{"id": "s", "network_id": "n", "cidr": "10.0.0.0/8", "gateway_ip": None}],
                                   ports=ports, security_groups=groups, security_group_rules=rules)
    return snap, rules, ports


def packets(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    proto = rng.choice(np.array([6, 6, 6, 17, 1]), n)
    dport = rng.integers(0, 65536, n)
    value = np.where(proto == 1, rng.integers(0, 20, n) << 8, dport)
    src = (10 << 24) | rng.integers(0, 1 << 18, n)
    return proto, value, src.astype(np.uint64)


def naive_rate(snap, rules, ports, proto, value, src, sample: int = 3000) -> float:
    """A plain per-packet loop over every rule (remote groups as Python sets of addresses)."""
    members = {}
    for p in ports:
        for g in p["security_groups"]:
            members.setdefault(g, set()).update(int(ipaddress.ip_address(f["ip_address"])) for f in p["fixed_ips"])
    compiled = []
    for r in rules:
        net = ipaddress.ip_network(r["remote_ip_prefix"], strict=False) if r["remote_ip_prefix"] else None
        number = {"tcp": 6, "udp": 17, "icmp": 1}[r["protocol"]]
        compiled.append((number, r["port_range_min"], r["port_range_max"],
                         (int(net.network_address), int(net.broadcast_address)) if net else None, r["remote_group_id"]))
    t0 = time.perf_counter()
    for k in range(sample):
        p, v, s = int(proto[k]), int(value[k]), int(src[k])
        for number, lo, hi, span, group in compiled:
            if number != p:
                continue
            if p == 1:
                if lo is not None and v >> 8 != lo:
                    continue
            elif lo is not None and not lo <= v <= hi:
                continue
            if span and not span[0] <= s <= span[1]:
                continue
            if group and s not in members.get(group, ()):
                continue
            break
    return sample / (time.perf_counter() - t0)


def main(argv=None) -> None:
    snap, rules, ports = cloud()
    tables = compile_tables(snap)
    proto, value, src = packets(PACKETS)
    port = np.full(PACKETS, tables.port_slot("target"))
    svc = ((proto << 16) | value).astype(np.uint64)
    v6, hi = np.zeros(PACKETS, bool), np.zeros(PACKETS, np.uint64)
    t0 = time.perf_counter()  # the first batch also builds the port's merged classifier
    first = sg.port_verdict(tables, port, sg.INGRESS, v6, svc, hi, src)
    cold = time.perf_counter() - t0
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        allowed, _gd, _rule = sg.port_verdict(tables, port, sg.INGRESS, v6, svc, hi, src)
        times.append(time.perf_counter() - t0)
    rate = PACKETS / statistics.median(times)
    group_times = []
    for _ in range(3):  # the per-group path (what ports with few packets in a batch use)
        t0 = time.perf_counter()
        by_group = sg.port_verdict(tables, port, sg.INGRESS, v6, svc, hi, src, hot=PACKETS + 1)
        group_times.append(time.perf_counter() - t0)
    assert all((a == b).all() for a, b in zip(first, by_group)), "merged and per-group paths disagree"
    base = naive_rate(snap, rules, ports, proto, value, src)
    print(f"rules on the port: {RULES} in {GROUPS} groups; batch {PACKETS:,} packets; allowed {allowed.mean():.1%}")
    print(f"vectorised (merged classifier): {rate / 1e6:.1f} M decisions/s "
          f"(median {statistics.median(times) * 1e3:.0f} ms per batch; first batch, building it: {cold * 1e3:.0f} ms)")
    print(f"vectorised (per-group path): {PACKETS / statistics.median(group_times) / 1e6:.1f} M decisions/s")
    print(f"baseline per-packet Python loop: {base / 1e3:.1f} k decisions/s")
    print(f"ratio: {rate / base:.0f}x   target >= 10 M/s: {'met' if rate >= 10e6 else 'NOT met'}")


if __name__ == "__main__":
    main(sys.argv[1:])
