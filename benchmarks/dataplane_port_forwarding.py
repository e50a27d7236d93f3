"""Port forwarding in the vectorised walk: 100k flows from the internet to forwarding floating IPs.

A 10k-port synthetic cloud in which every other floating IP serves port forwardings instead of
its port (ten each: single ports, N:N and N:1 ranges; 10k forwardings in all). Prints the
compile time with and without the forwardings, the batch time of 100k flows to forwarded
ports (half hit a forwarding, half reach the router itself), the same number of flows to
whole-address floating IPs for comparison, and a baseline measured in the same process: the
same flows walked one flow per batch (extrapolated from a sample) — the ratio is what walking
the batch at once buys.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from types import MappingProxyType

from xloudnet.dataplane import compile_tables, resolve, run_flows
from xloudnet.dataplane.synthetic import synthetic_snapshot

from _timing import median_time

HOST = "198.51.100.7"
FLOWS = 100_000
# (external, internal): a single port, N:N and N:1 ranges, ten per floating IP
SHAPES = [("22{n}0", "22"), ("80{n}0:80{n}9", "8000:8009"), ("90{n}0:90{n}9", "443")]


def with_forwardings(snap):
    """Every other floating IP gives up its port for ten forwardings to that port."""
    fips, forwardings = dict(snap.floatingips), {}
    for k, fid in enumerate(sorted(fips)):
        if k % 2:
            continue
        fip = fips[fid]
        fips[fid] = {**fip, "port_id": None, "fixed_ip_address": None}
        for n in range(10):
            external, internal = SHAPES[n % 3]
            external = external.format(n=n)
            spans = [v if ":" in v else f"{v}:{v}" for v in (external, internal)]
            pid = f"pf-{fid}-{n}"
            forwardings[pid] = {"id": pid, "floatingip_id": fid, "protocol": "tcp",
                                "internal_port_id": fip["port_id"], "internal_ip_address": fip["fixed_ip_address"],
                                "external_port_range": spans[0], "internal_port_range": spans[1]}
    return replace(snap, floatingips=MappingProxyType(fips), port_forwardings=MappingProxyType(forwardings))


def flows_to(tables, addresses, ports, rng):
    return [resolve(tables, {"source": {"ip_address": HOST}, "destination": {"ip_address": rng.choice(addresses)},
                             "protocol": "tcp", "destination_port": rng.choice(ports)}) for _ in range(FLOWS)]


def main(argv=None) -> None:
    rng = random.Random(0)
    plain = synthetic_snapshot(ports=10_000, groups=1000, rules=10_000, seed=0)
    snap = with_forwardings(plain)
    t_plain = median_time(lambda: compile_tables(plain), 3)
    t_compile = median_time(lambda: compile_tables(snap), 3)
    tables = compile_tables(snap)
    forwarding = sorted({snap.floatingips[p["floatingip_id"]]["floating_ip_address"]
                         for p in snap.port_forwardings.values()})
    whole = sorted(f["floating_ip_address"] for f in snap.floatingips.values() if f["fixed_ip_address"])
    hits = [2200, 2230, 8015, 8045, 9025, 9088]  # inside a forwarding (see SHAPES)
    flows = flows_to(tables, forwarding, hits + [1, 23, 7000, 65000, 8100, 9100], rng)
    plain_flows = flows_to(tables, whole, hits + [1, 23, 7000, 65000, 8100, 9100], rng)
    t_batch = median_time(lambda: run_flows(tables, flows), 3)
    t_plain_batch = median_time(lambda: run_flows(tables, plain_flows), 3)
    req, _ = run_flows(tables, flows, replies=False)
    translated = sum(1 for f, end in zip(flows, req.dst_lo.tolist()) if end != f.dst)
    sample = flows[:300]
    t_single = median_time(lambda: [run_flows(tables, [f]) for f in sample], 3) / len(sample)
    print(f"ports {len(snap.ports)}, floating IPs {len(snap.floatingips)} ({len(forwarding)} forwarding), "
          f"forwardings {len(snap.port_forwardings)}, groups {len(snap.security_groups)}, "
          f"rules {len(snap.security_group_rules)}")
    print(f"full compile: {t_compile:.2f} s with forwardings, {t_plain:.2f} s without")
    print(f"{FLOWS:,} flows to forwarding floating IPs (requests + replies): {t_batch:.3f} s median "
          f"({FLOWS / t_batch / 1e3:.0f} k flows/s; {translated:,} forwarded)")
    print(f"{FLOWS:,} flows to whole-address floating IPs: {t_plain_batch:.3f} s median")
    print(f"baseline one flow per batch: {t_single * 1e6:.0f} us/flow -> {t_single * FLOWS:.1f} s for the batch")
    print(f"ratio: {t_single * FLOWS / t_batch:.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
