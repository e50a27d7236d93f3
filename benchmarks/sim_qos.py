"""QoS packet simulation: simulated packets (and simpy events) per wall second.

A synthetic cloud (200 VMs, routers with gateways) with QoS policies — an egress policer on half
the flows' sources, an ingress shaper on a quarter of the destinations, DSCP marking, and a
minimum bandwidth — and N flows (CBR, Poisson and on/off) between VMs and to the outside, sharing
port, router and uplink links. For N in (4, 16, 64) it prints packets offered, events, wall time,
packets/s and events/s, against two baselines measured in the same run:

- ``bucket-loop``: a plain-Python loop doing the same per-packet token-bucket arithmetic (the
  policer decision alone, no simulation) — the floor of any per-packet Python design;
- ``simpy-timeout``: one simpy process yielding one ``Timeout`` per packet — SimPy's own cost per
  event, i.e. what the simulator pays per event beyond its model code.

Writes benchmarks/results/sim_qos.json and an example run's plot, sim_qos_example.png.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import simpy

from xloudnet.analysis.capacity import parse_request, plan_flows
from xloudnet.dataplane import compile_tables
from xloudnet.dataplane.synthetic import synthetic_snapshot
from xloudnet.sim import TokenBucket

RESULTS = Path(__file__).resolve().parent / "results"
POLICIES = {
    "q-police": [{"id": "police", "type": "bandwidth_limit", "max_kbps": 4000, "max_burst_kbps": 0, "direction": "egress"},
                 {"id": "mark", "type": "dscp_marking", "dscp_mark": 26}],
    "q-shape": [{"id": "shape", "type": "bandwidth_limit", "max_kbps": 6000, "max_burst_kbps": 200, "direction": "ingress"}],
    "q-min": [{"id": "min", "type": "minimum_bandwidth", "min_kbps": 3000, "direction": "egress"},
              {"id": "ef", "type": "dscp_marking", "dscp_mark": 46}],
}


def cloud():
    """A synthetic cloud with every VM allowing all traffic in (so flows pass) and QoS policies."""
    snap = synthetic_snapshot(ports=200, groups=20, rules=200, seed=0)
    vms = sorted(pid for pid, p in snap.ports.items() if not p["device_owner"].startswith("network:"))
    rules = dict(snap.security_group_rules)
    for gid in snap.security_groups:
        for direction in ("ingress", "egress"):
            rid = f"bench-{direction}-{gid}"
            rules[rid] = {"id": rid, "security_group_id": gid, "direction": direction, "ethertype": "IPv4",
                          "protocol": None, "port_range_min": None, "port_range_max": None,
                          "remote_ip_prefix": None, "remote_group_id": None, "project_id": "p-synth",
                          "revision_number": 1}
    ports = dict(snap.ports)
    for i, pid in enumerate(vms):
        policy = ("q-police", "q-shape", "q-min", None)[i % 4]
        ports[pid] = dict(ports[pid], qos_policy_id=policy)
    qos = {pid: {"id": pid, "rules": r, "shared": False, "is_default": False} for pid, r in POLICIES.items()}
    snap = replace(snap, ports=MappingProxyType(ports), security_group_rules=MappingProxyType(rules),
                   qos_policies=MappingProxyType(qos))
    return compile_tables(snap), vms


def request(vms: list, flows: int, duration: float) -> dict:
    patterns = ("cbr", "poisson", "onoff")
    out = []
    for i in range(flows):
        src = vms[(7 * i) % len(vms)]
        dst = {"ip_address": f"198.51.100.{i % 250 + 1}"} if i % 3 == 2 else {"port_id": vms[(7 * i + 61) % len(vms)]}
        out.append({"source": {"port_id": src}, "destination": dst, "protocol": "udp", "destination_port": 5001,
                    "rate_kbps": 5000 + 1000 * (i % 5), "packet_size": 1250, "pattern": patterns[i % 3],
                    "dscp": 10, "name": f"f{i}"})
    return {"flows": out, "duration_s": duration, "seed": 1,
            "links": {"router_uplink": {"capacity_kbps": 20_000}}}


def baseline_bucket_loop(packets: int, bits: int = 10_000) -> float:
    """Seconds for a plain loop: lazy refill + conform test + take, per packet."""
    bucket = TokenBucket(4e6, 3.2e6)
    gap = bits / 8e6
    t0 = time.perf_counter()
    now = 0.0
    passed = 0
    for _ in range(packets):
        now += gap
        if bucket.conforms(now, bits):
            bucket.take(now, bits)
            passed += 1
    return time.perf_counter() - t0


def baseline_simpy_timeouts(events: int) -> float:
    """Seconds for one simpy process yielding ``events`` Timeouts."""
    env = simpy.Environment()

    def proc():
        for _ in range(events):
            yield env.timeout(1e-6)
    env.process(proc())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def measure(tables, vms, flows: int, duration: float) -> tuple[dict, dict]:
    from xloudnet.sim import Simulation
    config, seed = parse_request(request(vms, flows, duration))
    plans = plan_flows(tables, config)
    sim = Simulation(tables, config, np.random.default_rng(seed), plans=plans)
    result = sim.run()
    result["seed"] = seed
    events = next(sim.env._eid) if hasattr(sim.env, "_eid") else None  # simpy's event counter
    packets = result["packets"]["offered"]
    wall = result["wall_s"]
    loop = baseline_bucket_loop(packets)
    timeouts = baseline_simpy_timeouts(events or packets)
    row = {"flows": flows, "duration_s": duration, "packets": packets, "events": events, "wall_s": wall,
           "packets_per_s": packets / wall, "events_per_s": (events or 0) / wall,
           "events_per_packet": (events or 0) / packets if packets else None,
           "bucket_loop_packets_per_s": packets / loop, "simpy_timeouts_per_s": (events or packets) / timeouts,
           "slowdown_vs_bucket_loop": wall / loop, "sim_vs_bare_simpy_event_cost": wall / timeouts,
           "dispositions": sorted({f["disposition"] for f in result["flows"]}),
           "loss_by_reason": result["loss_by_reason"]}
    return row, result


def main(argv=None) -> None:
    tables, vms = cloud()
    rows, example = [], None
    for flows, duration in ((4, 4.0), (16, 2.0), (64, 1.0)):
        row, result = measure(tables, vms, flows, duration)
        rows.append(row)
        example = example or result
        print(f"N={flows:3d} flows, {duration:g} s: {row['packets']:>8,} packets, {row['events']:>9,} events "
              f"({row['events_per_packet']:.1f}/packet) in {row['wall_s']:.2f} s → "
              f"{row['packets_per_s']:>9,.0f} packets/s, {row['events_per_s']:>9,.0f} events/s | "
              f"bucket loop {row['bucket_loop_packets_per_s']:>11,.0f} packets/s (×{row['slowdown_vs_bucket_loop']:.0f} "
              f"slower) | bare simpy {row['simpy_timeouts_per_s']:>9,.0f} events/s "
              f"(sim/bare = {row['sim_vs_bare_simpy_event_cost']:.2f})")
        print(f"        losses: {row['loss_by_reason']}  dispositions: {row['dispositions']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sim_qos.json").write_text(json.dumps(rows, indent=2))
    from xloudnet.cli.simulate import plot_result
    plot_result(example, RESULTS / "sim_qos_example.png")
    print(f"wrote {RESULTS / 'sim_qos.json'} and {RESULTS / 'sim_qos_example.png'}")


if __name__ == "__main__":
    main(sys.argv[1:])
