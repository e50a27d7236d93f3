"""QoS packet simulation: simulated packets per wall second, against a plain SimPy model.

A synthetic cloud (VMs behind routers with gateways) with QoS policies — an egress policer on a
quarter of the VMs, an ingress shaper on a quarter, DSCP marking and a minimum bandwidth — and N
flows (CBR, Poisson, on/off) between VMs and to the outside, sharing port, router and uplink
links. For N = 1 and N = 100 it runs, on the same request:

- ``plain-simpy``: the textbook SimPy model — one process per source yielding a timeout per
  packet, one process per packet, a ``simpy.Resource`` per link (request, hold for the
  serialisation, release, then a propagation timeout) and the policer's bucket arithmetic inline;
  it models less (no per-flow queues, fair queueing, shapers or metrics) — the floor of a
  per-packet SimPy design;
- ``reference``: xloudnet's per-packet SimPy engine (``engine: reference``);
- ``batched``: xloudnet's batched engine (``engine: batched``), checked equal to the reference.

It prints packets/s of each and the ratio batched / plain-simpy (the target is ≥ 10×), then the
large run: 1000 flows × 100 Mbit/s × 10 s on the batched engine (wall time, peak RSS growth).
Writes benchmarks/results/sim_qos.json and an example plot, sim_qos_example.png.

``--quick`` runs shorter cases (for a smoke test).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import simpy

from xloudnet.analysis.capacity import parse_request, plan_flows, simulate
from xloudnet.dataplane import compile_tables
from xloudnet.dataplane.synthetic import synthetic_snapshot
from xloudnet.sim import TokenBucket
from xloudnet.sim.stages import build_layout

RESULTS = Path(__file__).resolve().parent / "results"
POLICIES = {
    "q-police": [{"id": "police", "type": "bandwidth_limit", "max_kbps": 40_000, "max_burst_kbps": 0, "direction": "egress"},
                 {"id": "mark", "type": "dscp_marking", "dscp_mark": 26}],
    "q-shape": [{"id": "shape", "type": "bandwidth_limit", "max_kbps": 60_000, "max_burst_kbps": 2000, "direction": "ingress"}],
    "q-min": [{"id": "min", "type": "minimum_bandwidth", "min_kbps": 30_000, "direction": "egress"},
              {"id": "ef", "type": "dscp_marking", "dscp_mark": 46}],
}


def cloud(ports: int = 600):
    """A synthetic cloud with every VM allowing all traffic in (so flows pass) and QoS policies."""
    snap = synthetic_snapshot(ports=ports, groups=20, rules=200, seed=0)
    vms = sorted(pid for pid, p in snap.ports.items() if not p["device_owner"].startswith("network:"))
    rules = dict(snap.security_group_rules)
    for gid in snap.security_groups:
        for direction in ("ingress", "egress"):
            rid = f"bench-{direction}-{gid}"
            rules[rid] = {"id": rid, "security_group_id": gid, "direction": direction, "ethertype": "IPv4",
                          "protocol": None, "port_range_min": None, "port_range_max": None,
                          "remote_ip_prefix": None, "remote_group_id": None, "project_id": "p-synth",
                          "revision_number": 1}
    ports_ = dict(snap.ports)
    for i, pid in enumerate(vms):
        policy = ("q-police", "q-shape", "q-min", None)[i % 4]
        ports_[pid] = dict(ports_[pid], qos_policy_id=policy)
    qos = {pid: {"id": pid, "rules": r, "shared": False, "is_default": False} for pid, r in POLICIES.items()}
    snap = replace(snap, ports=MappingProxyType(ports_), security_group_rules=MappingProxyType(rules),
                   qos_policies=MappingProxyType(qos))
    return compile_tables(snap), vms


def request(vms: list, flows: int, duration: float, rate_kbps: float | None = None) -> dict:
    patterns = ("cbr", "poisson", "onoff")
    out = []
    for i in range(flows):
        src = vms[(7 * i) % len(vms)]
        dst = {"ip_address": f"198.51.100.{i % 250 + 1}"} if i % 3 == 2 else {"port_id": vms[(7 * i + 61) % len(vms)]}
        out.append({"source": {"port_id": src}, "destination": dst, "protocol": "udp", "destination_port": 5001,
                    "rate_kbps": rate_kbps or 50_000 + 10_000 * (i % 5), "packet_size": 1500,
                    "pattern": patterns[i % 3], "dscp": 10, "name": f"f{i}"})
    return {"flows": out, "duration_s": duration, "seed": 1, "links": {"router_uplink": {"capacity_kbps": 2_000_000}}}


def plain_simpy(config, plans) -> tuple[int, float]:
    """The plain SimPy model of the same request: (packets sent, wall seconds)."""
    env = simpy.Environment()
    layout = build_layout(config, plans)
    resources = {}
    delivered = [0]

    def packet(links):
        for res, capacity, delay, bits in links:
            with res.request() as req:
                yield req
                yield env.timeout(bits / capacity)
            yield env.timeout(delay)
        delivered[0] += 1

    def source(flow, stages, stop):
        bits = flow.packet_size * 8
        interval = bits / (flow.rate_kbps * 1000.0)
        policer = next((TokenBucket(s.bits_bucket.rate, s.bits_bucket.depth) for s in stages
                        if s.kind == "policer" and s.bits_bucket), None)
        links = [(resources.setdefault(s.key, simpy.Resource(env)), s.capacity_bps, s.delay_s, bits)
                 for s in stages if s.kind == "link"]
        while env.now < stop:
            if policer is None or policer.conforms(env.now, bits):
                if policer is not None:
                    policer.take(env.now, bits)
                env.process(packet(links))
            yield env.timeout(interval)

    offered = 0
    for flow, path in zip(config.flows, layout.paths):
        if path is not None:
            env.process(source(flow, [layout.stages[s] for s in path], config.duration_s))
            offered += int(flow.rate_kbps * 1000.0 / (flow.packet_size * 8) * config.duration_s)
    t0 = time.perf_counter()
    env.run(until=config.duration_s)
    return offered, time.perf_counter() - t0


def run_engine(tables, req: dict, engine: str) -> dict:
    config, seed = parse_request(dict(req, engine=engine))
    return simulate(tables, config, seed, plan_flows(tables, config))


def compare(tables, vms, flows: int, duration: float, rounds: int = 3) -> dict:
    """Plain SimPy and the batched engine alternately ``rounds`` times (medians: the machine is
    shared), the reference engine once."""
    req = request(vms, flows, duration)
    config, _ = parse_request(req)
    plans = plan_flows(tables, config)
    plain, fast = [], []
    for _ in range(rounds):
        packets, wall = plain_simpy(config, plans)
        plain.append(packets / wall)
        batched = run_engine(tables, req, "batched")
        fast.append(batched["packets"]["offered"] / batched["wall_s"])
    reference = run_engine(tables, req, "reference")
    packets = batched["packets"]["offered"]
    same = all(a["delivered"]["packets"] == b["delivered"]["packets"] and a["loss"] == b["loss"]
               for a, b in zip(reference["flows"], batched["flows"]))
    plain_rate, fast_rate = float(np.median(plain)), float(np.median(fast))
    row = {"flows": flows, "duration_s": duration, "packets": packets,
           "plain_simpy_packets_per_s": plain_rate, "plain_simpy_rounds": plain,
           "reference_packets_per_s": packets / reference["wall_s"],
           "batched_packets_per_s": fast_rate, "batched_rounds": fast,
           "ratio_batched_vs_plain_simpy": fast_rate / plain_rate,
           "ratio_reference_vs_plain_simpy": packets / reference["wall_s"] / plain_rate,
           "batched_equals_reference": same, "loss_by_reason": batched["loss_by_reason"]}
    print(f"N={flows:4d} flows, {duration:g} s, {packets:>9,} packets: plain SimPy {plain_rate:>10,.0f}/s"
          f" | reference {row['reference_packets_per_s']:>10,.0f}/s ({row['ratio_reference_vs_plain_simpy']:.2f}×)"
          f" | batched {fast_rate:>12,.0f}/s → {row['ratio_batched_vs_plain_simpy']:.1f}× plain SimPy"
          f" (medians of {rounds}; equal to the reference: {same})")
    return row, batched


def large(tables, vms, flows: int, duration: float) -> dict:
    req = request(vms, flows, duration, rate_kbps=100_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    result = run_engine(tables, req, "batched")
    wall = time.perf_counter() - t0
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    packets = result["packets"]["offered"]
    print(f"large: {flows} flows × 100 Mbit/s × {duration:g} s = {packets:,} packets in {wall:.1f} s "
          f"({packets / wall:,.0f} packets/s), peak RSS grew {grown:.0f} MB; losses {result['loss_by_reason']}")
    return {"flows": flows, "duration_s": duration, "packets": packets, "wall_s": wall,
            "packets_per_s": packets / wall, "peak_rss_growth_mb": grown}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    tables, vms = cloud()
    run_engine(tables, request(vms, 2, 0.01), "batched")  # compile the kernels (cached on disk)
    rows, example = [], None
    for flows, duration in ((1, 0.5 if quick else 2.0), (100, 0.05 if quick else 0.2)):
        row, result = compare(tables, vms, flows, duration)
        rows.append(row)
        example = example or result
    big = large(tables, vms, 100 if quick else 1000, 1.0 if quick else 10.0)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sim_qos.json").write_text(json.dumps({"compare": rows, "large": big}, indent=2))
    from xloudnet.cli.simulate import plot_result
    plot_result(example, RESULTS / "sim_qos_example.png")
    print(f"wrote {RESULTS / 'sim_qos.json'} and {RESULTS / 'sim_qos_example.png'}")


if __name__ == "__main__":
    main()
