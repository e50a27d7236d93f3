"""What the real agents do with a port's QoS rules: per-port aggregates, max-min fair floors on
shared links, and each backend's units, frame counting and queue bounds (docs/simulation.md)."""

from __future__ import annotations

import pytest
from sim_cases import flow, run, tables_with_qos

from xloudnet.sim.backends import BACKENDS

EXT = {"ip_address": "198.51.100.7"}
FRAME = 1500 / 1514  # IP bits per metered frame bit


def _limit(direction, kbps=10_000, burst=100):
    return [{"id": "bw", "type": "bandwidth_limit", "max_kbps": kbps, "max_burst_kbps": burst, "direction": direction}]


def _delivered(result):
    return [f["delivered"]["kbps"] for f in result["flows"]]


def test_two_flows_leaving_one_policed_port_share_its_limit():
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": _limit("egress")})
    r = run(tables, [flow("vm-a", "vm-b", 12_000), flow("vm-a", EXT, 12_000, protocol="udp", port=53)], 5.0)
    assert sum(_delivered(r)) == pytest.approx(10_000 * FRAME, rel=0.02)
    assert {f["policer"]["port_flows"] for f in r["flows"]} == {2}


def test_two_flows_into_one_shaped_port_share_its_limit():
    tables = tables_with_qos(ports={"vm-b": "q"}, policies={"q": _limit("ingress")})
    r = run(tables, [flow("vm-a", "vm-b", 8_000), flow("vm-a", "vm-b", 8_000, packet_size=1000)], 5.0)
    assert sum(_delivered(r)) == pytest.approx(10_000, rel=0.03)  # frames at 10 Mbit/s, less the headers
    assert sum(_delivered(r)) < 10_000


def _shared_uplink(guaranteed: int, others: int, min_kbps: float = 7000):
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": [
        {"id": "min", "type": "minimum_bandwidth", "min_kbps": min_kbps, "direction": "egress"}]})
    flows = [flow("vm-a", EXT, 8_000, protocol="udp", port=53) for _ in range(guaranteed)]
    flows += [flow("vm-b", EXT, 8_000, protocol="udp", port=53) for _ in range(others)]
    return _delivered(run(tables, flows, 4.0, links={"router_uplink": {"capacity_kbps": 10_000}}))


@pytest.mark.parametrize("others, rest", [(1, 3000), (2, 1500), (3, 1000)])
def test_guaranteed_flow_gets_its_minimum_and_the_others_share_the_rest_equally(others, rest):
    got = _shared_uplink(1, others)
    assert got[0] == pytest.approx(7000, rel=0.02)
    for share in got[1:]:
        assert share == pytest.approx(rest, rel=0.03)


def test_guaranteed_flow_gets_its_fair_share_when_that_is_more_than_its_minimum():
    assert _shared_uplink(1, 1, min_kbps=5000) == pytest.approx([5000, 5000], rel=0.02)
    assert _shared_uplink(1, 1, min_kbps=2000) == pytest.approx([5000, 5000], rel=0.02)


@pytest.mark.parametrize("guaranteed, others, min_kbps, expected", [
    (2, 1, 7000, [3500, 3500, 3000]),           # the port's 7 between its two flows; the rest 3
    (3, 2, 7000, [7000 / 3] * 3 + [1500] * 2),   # never 3 × 7 on a 10 Mbit/s link
    (2, 1, 5000, [10_000 / 3] * 3),              # the port's fair share (6.67) is above its 5
    (2, 2, 4000, [2500] * 4),                    # ... and here exactly its fair share
])
def test_a_ports_minimum_is_shared_by_its_flows_not_given_to_each(guaranteed, others, min_kbps, expected):
    """A guarantee belongs to the port, as the limit does: its flows together get max(minimum,
    their fair shares), the other flows share the rest max-min fairly."""
    got = _shared_uplink(guaranteed, others, min_kbps)
    assert got == pytest.approx(expected, rel=0.03)
    assert sum(got[:guaranteed]) >= min_kbps * 0.98


def test_an_ingress_minimum_is_shared_by_the_flows_into_its_port():
    tables = tables_with_qos(ports={"vm-b": "q"}, policies={"q": [
        {"id": "min", "type": "minimum_bandwidth", "min_kbps": 8000, "direction": "ingress"}]})
    flows = [flow("vm-a", "vm-b", 8_000), flow("vm-a", "vm-b", 8_000), flow("vm-a", EXT, 8_000, protocol="udp", port=53)]
    got = _delivered(run(tables, flows, 4.0, links={"port": {"capacity_kbps": 10_000}}))  # all three leave vm-a
    assert got == pytest.approx([4000, 4000, 2000], rel=0.03)


def _shaped_12_into_10(backend, burst=32, seconds=6.0):
    tables = tables_with_qos(ports={"vm-b": "q"}, policies={"q": _limit("ingress", burst=burst)})
    return run(tables, [flow("vm-a", "vm-b", 12_000)], seconds, backend=backend)["flows"][0]


def test_tc_tbf_queue_is_bounded_by_its_latency_setting():
    """Linux bridge: 10 Mbit/s, 50 ms, burst max(32 kbit, rate/HZ = 40 kbit) = 5120 bytes →
    limit 1 280 000 B/s · 0.05 s + 5120 B = 69 120 B = 45 frames of 1514 bytes."""
    tbf = _shaped_12_into_10("linuxbridge")
    assert tbf["shaper"]["max_queue"] == 45
    assert tbf["latency_ms"]["max"] < 60
    htb = _shaped_12_into_10("ovs")
    assert htb["shaper"]["max_queue"] == 1000 and htb["latency_ms"]["p99"] > 900
    assert tbf["loss"]["packets"] > htb["loss"]["packets"] + 800  # ~1.9 Mbit/s too much for 6 s: 926 frames


def test_tc_counts_the_ethernet_header_and_1024_bit_kilobits():
    """tbf's rate 10 000 kbit is 10 240 000 bit/s of frames: 10 145 kbit/s of 1500-byte packets."""
    tbf = _shaped_12_into_10("linuxbridge", seconds=10.0)
    assert tbf["delivered"]["kbps"] == pytest.approx(10_000 * 1.024 * FRAME, rel=0.01)
    bucket = BACKENDS["linuxbridge"].policer_bucket(10_000, 6400)
    assert bucket.depth / 8 == 819_200 and bucket.rate == 10_000_000  # police: SI rate, IEC burst
    assert BACKENDS["ovs"].frame_bits(1500) == 1514 * 8


def test_tc_drops_every_frame_bigger_than_the_burst():
    tables = tables_with_qos(ports={"vm-b": "q"}, policies={"q": _limit("ingress", kbps=1000, burst=8)})
    lb = run(tables, [flow("vm-a", "vm-b", 500)], 2.0, backend="linuxbridge")["flows"][0]
    assert lb["delivered"]["packets"] == 0 and lb["loss"]["packets"] == lb["offered"]["packets"]
    ovs = run(tables, [flow("vm-a", "vm-b", 500)], 2.0, backend="ovs")["flows"][0]
    assert ovs["loss"]["packets"] == 0  # HTB sends a frame above its burst


def test_ovn_polices_ingress_with_a_meter_instead_of_shaping():
    tables = tables_with_qos(ports={"vm-b": "q"}, policies={"q": _limit("ingress")})
    f = run(tables, [flow("vm-a", "vm-b", 12_000)], 4.0, backend="ovn")["flows"][0]
    assert set(f["loss"]["by_reason"]) == {"POLICED"} and "shaper" not in f
    assert f["latency_ms"]["p99"] < 1.0
    assert f["delivered"]["kbps"] == pytest.approx(10_000 * FRAME, rel=0.03)


def test_unknown_backend_is_refused():
    from xloudnet.analysis.capacity import run_capacity
    from xloudnet.dataplane import QueryError
    with pytest.raises(QueryError) as err:
        run_capacity(tables_with_qos(), {"duration_s": 1, "backend": "vpp", "flows": [flow("vm-a", "vm-b", 10)]})
    assert err.value.http_status == 400 and "backend" in err.value.message
