"""The batched engine against the per-packet SimPy reference: the same result, packet for packet.

Counts, time series, rule hits, link and stage statistics and the latency sketch (quantiles, min,
max) must be identical; only the latency mean and jitter, sums whose additions the engines group
differently, may differ in the last bits.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_cases import flow, run, tables_with_qos

EXT = {"ip_address": "198.51.100.7"}
# (source, destination, protocol, port) that the base topology lets through
ROUTES = [("vm-a", "vm-b", "tcp", 80), ("vm-b", "vm-a", "udp", 53), ("vm-a", EXT, "udp", 53),
          ("vm-b", EXT, "udp", 53)]


def _strip(result: dict) -> dict:
    out = {k: v for k, v in result.items() if k not in ("wall_s", "engine")}
    out["flows"] = []
    for f in result["flows"]:
        f = dict(f)
        if f["latency_ms"]:
            f["latency_ms"] = {k: v for k, v in f["latency_ms"].items() if k not in ("mean", "jitter")}
        out["flows"].append(f)
    return out


def assert_same(tables, flows, duration, **extra):
    reference = run(tables, flows, duration, engine="reference", **extra)
    batched = run(tables, flows, duration, engine="batched", **extra)
    assert (reference["engine"], batched["engine"]) == ("reference", "batched")
    assert _strip(batched) == _strip(reference)
    for a, b in zip(reference["flows"], batched["flows"]):
        if a["latency_ms"]:
            assert b["latency_ms"]["mean"] == pytest.approx(a["latency_ms"]["mean"], rel=1e-9)
            assert b["latency_ms"]["jitter"] == pytest.approx(a["latency_ms"]["jitter"], rel=1e-6, abs=1e-12)
    return batched


policies = st.fixed_dictionaries({}, optional={
    "police": st.tuples(st.sampled_from([500, 2000, 8000]), st.sampled_from([0, 20, 200])),
    "shape": st.tuples(st.sampled_from([1000, 3000, 9000]), st.sampled_from([0, 40, 400])),
    "pps": st.sampled_from([0.2, 1.0]),
    "minimum": st.sampled_from([1000, 4000]),
})
flows_ = st.lists(st.fixed_dictionaries({
    "route": st.sampled_from(ROUTES), "rate": st.sampled_from([300, 1500, 6000]),
    "size": st.sampled_from([200, 1000, 1500]), "pattern": st.sampled_from(["cbr", "poisson", "onoff"]),
    "start": st.sampled_from([0.0, 0.013, 0.1]),
}), min_size=1, max_size=4)


def _policy(p: dict) -> list:
    rules = []
    if "police" in p:
        rules.append({"id": "pol", "type": "bandwidth_limit", "max_kbps": p["police"][0],
                      "max_burst_kbps": p["police"][1], "direction": "egress"})
    if "shape" in p:
        rules.append({"id": "shp", "type": "bandwidth_limit", "max_kbps": p["shape"][0],
                      "max_burst_kbps": p["shape"][1], "direction": "ingress"})
    if "pps" in p:
        rules.append({"id": "pps", "type": "packet_rate_limit", "max_kpps": p["pps"], "max_burst_kpps": 0,
                      "direction": "egress"})
    if "minimum" in p:
        rules.append({"id": "min", "type": "minimum_bandwidth", "min_kbps": p["minimum"], "direction": "egress"})
    return rules


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pa=policies, pb=policies, flows=flows_, backend=st.sampled_from(["ovs", "linuxbridge", "ovn"]),
       uplink=st.sampled_from([2000, 8000, 1_000_000]), queue=st.sampled_from([5, 50, 1000]),
       seed=st.integers(0, 3))
def test_batched_engine_equals_the_per_packet_reference_on_generated_runs(pa, pb, flows, backend, uplink, queue, seed):
    tables = tables_with_qos(ports={"vm-a": "qa", "vm-b": "qb"}, policies={"qa": _policy(pa), "qb": _policy(pb)})
    requested = [flow(src, dst, f["rate"], protocol=proto, port=port, packet_size=f["size"], pattern=f["pattern"],
                      start_s=f["start"], burst={"on_ms": 30, "off_ms": 20})
                 for f in flows for src, dst, proto, port in [f["route"]]]
    links = {"router_uplink": {"capacity_kbps": uplink, "queue_packets": queue}, "shaper": {"queue_packets": queue}}
    assert_same(tables, requested, 0.3, seed=seed, links=links, backend=backend, bins=7)


BW = [{"id": "bw", "type": "bandwidth_limit", "max_kbps": 1000, "max_burst_kbps": 0, "direction": "egress"}]
MIN = [{"id": "min", "type": "minimum_bandwidth", "min_kbps": 7000, "direction": "egress"}]
SHAPE = [{"id": "in", "type": "bandwidth_limit", "max_kbps": 1000, "max_burst_kbps": 100, "direction": "ingress"}]
ACCURACY_CASES = {
    "policer": (dict(ports={"vm-a": "q"}, policies={"q": BW}), [flow("vm-a", "vm-b", 2000, packet_size=1250)], {}),
    "shaper": (dict(ports={"vm-b": "q"}, policies={"q": SHAPE}), [flow("vm-a", "vm-b", 1500, packet_size=1250)],
               {"links": {"shaper": {"queue_packets": 20}}}),
    "minimum-share": (dict(ports={"vm-a": "q"}, policies={"q": MIN}),
                      [flow("vm-a", EXT, 8000, protocol="udp", port=53)] + [flow("vm-b", EXT, 8000, protocol="udp", port=53)] * 2,
                      {"links": {"router_uplink": {"capacity_kbps": 10_000}}}),
    "minimum-per-port": (dict(ports={"vm-a": "q"}, policies={"q": MIN}),
                         [flow("vm-a", EXT, 8000, protocol="udp", port=53)] * 3 + [flow("vm-b", EXT, 8000, protocol="udp", port=53)] * 2,
                         {"links": {"router_uplink": {"capacity_kbps": 10_000}}}),
    "tbf": (dict(ports={"vm-b": "q"}, policies={"q": SHAPE}), [flow("vm-a", "vm-b", 1200)], {"backend": "linuxbridge"}),
    "onoff-poisson": (dict(), [flow("vm-a", EXT, 5000, protocol="udp", port=53, pattern="poisson"),
                               flow("vm-b", "vm-a", 3000, protocol="udp", port=53, pattern="onoff")], {}),
    "denied": (dict(), [flow("vm-a", "vm-b", 1200, protocol="udp", port=53)], {}),
}


@pytest.mark.parametrize("case", sorted(ACCURACY_CASES))
def test_batched_engine_equals_the_reference_on_the_accuracy_cases(case):
    qos, flows, extra = ACCURACY_CASES[case]
    assert_same(tables_with_qos(**qos), flows, 2.0, seed=5, **extra)


POLICE_B = [{"id": "pol", "type": "bandwidth_limit", "max_kbps": 2000, "max_burst_kbps": 20, "direction": "egress"}]
SHORT_QUEUES = {"router_uplink": {"capacity_kbps": 2000, "queue_packets": 5}, "shaper": {"queue_packets": 5}}
EDGE_CASES = {
    # two onoff flows of vm-b send at exactly the same instant (0.1667 s, 0.2707 s) into its policer
    # with too few tokens for both: the one with the lower index is taken first, in both engines
    "simultaneous-packets-at-a-shared-policer": (
        dict(ports={"vm-b": "q"}, policies={"q": POLICE_B}),
        [flow("vm-a", "vm-b", 300, packet_size=200)] * 2
        + [flow("vm-b", "vm-a", 6000, protocol="udp", port=53, packet_size=1000, pattern="onoff", start_s=0.1,
                burst={"on_ms": 30, "off_ms": 20}),
           flow("vm-b", "vm-a", 300, protocol="udp", port=53, packet_size=200, pattern="onoff",
                burst={"on_ms": 30, "off_ms": 20})], 0),
    # the uplink's last transmission ends after a window's horizon, and no packet arrives after it
    "a-transmission-ending-in-a-window-without-arrivals": (
        dict(), [flow("vm-a", "vm-b", 300, packet_size=200),
                 flow("vm-a", EXT, 300, protocol="udp", port=53, packet_size=1000, pattern="poisson", start_s=0.1)], 1),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_batched_engine_equals_the_reference_on_simultaneous_arrivals_and_window_edges(case):
    qos, flows, seed = EDGE_CASES[case]
    assert_same(tables_with_qos(**qos), flows, 0.3, seed=seed, links=SHORT_QUEUES, backend="ovs", bins=7)


def test_closed_loop_and_lossy_runs_fall_back_to_the_reference_engine():
    r = run(tables_with_qos(), [flow("vm-a", "vm-b", 1000, pattern="tcp")], 0.2)
    assert r["engine"] == "reference"
    r = run(tables_with_qos(), [flow("vm-a", "vm-b", 1000)], 0.2, links={"port": {"loss_ratio": 0.01}})
    assert r["engine"] == "reference"
    assert run(tables_with_qos(), [flow("vm-a", "vm-b", 1000)], 0.2)["engine"] == "batched"
