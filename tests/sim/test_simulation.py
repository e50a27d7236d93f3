"""End-to-end QoS runs on the base topology (vm-a on n-a, vm-b on n-b, router r1 with a gateway)."""

from __future__ import annotations

import pytest
from sim_cases import flow, run, tables_with_qos

from xloudnet.dataplane import QueryError

BW_EGRESS = [{"id": "bw", "type": "bandwidth_limit", "max_kbps": 1000, "max_burst_kbps": 0, "direction": "egress"}]


def test_unloaded_latency_is_serialisation_plus_propagation():
    r = run(tables_with_qos(), [flow("vm-a", "vm-b", 1000)], 1.0)
    f = r["flows"][0]
    assert f["disposition"] == "ACCEPTED"
    assert f["path"] == ["port:vm-a/tx", "router:r1", "port:vm-b/rx"]
    assert f["loss"]["packets"] == 0 and f["delivered"]["packets"] == f["offered"]["packets"]
    expected = 3 * (1500 * 8 / 10e9 + 50e-6) * 1000  # three 10 Gbit/s, 50 µs links, in ms
    assert f["latency_ms"]["p50"] == pytest.approx(expected, rel=1e-6)


def test_policer_delivers_the_limit_and_drops_the_rest():
    """CBR at twice max_kbps for 20 s: delivered bits within [CIR·t − 1 packet, CIR·t + CBS]."""
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": BW_EGRESS})
    r = run(tables, [flow("vm-a", "vm-b", 2000, packet_size=1250)], 20.0)
    f = r["flows"][0]
    cir_t, cbs = 1000e3 * 20, 800e3
    assert cir_t - 10_000 <= f["delivered"]["bits"] <= cir_t + cbs
    assert f["delivered"]["kbps"] == pytest.approx(1000, rel=0.05)
    assert set(f["loss"]["by_reason"]) == {"POLICED"}
    assert f["loss"]["by_reason"]["POLICED"] == f["policer"]["dropped"]
    assert f["delivered"]["packets"] + f["loss"]["packets"] + f["in_flight"] == f["offered"]["packets"]


def test_policer_passes_a_flow_under_the_limit():
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": BW_EGRESS})
    f = run(tables, [flow("vm-a", "vm-b", 900)], 5.0)["flows"][0]
    assert f["loss"]["packets"] == 0


def _shaped(queue=None):
    tables = tables_with_qos(ports={"vm-b": "q"}, policies={"q": [
        {"id": "in", "type": "bandwidth_limit", "max_kbps": 1000, "max_burst_kbps": 100, "direction": "ingress"}]})
    links = {"shaper": {"queue_packets": queue}} if queue else {}
    return run(tables, [flow("vm-a", "vm-b", 1500, packet_size=1250)], 2.0, links=links)["flows"][0]


def test_shaper_delays_instead_of_dropping():
    f = _shaped()
    assert f["loss"]["packets"] == 0
    assert f["delivered"]["bits"] <= 1000e3 * 2 + 100e3 + 10_000
    assert f["in_flight"] > 50 and 0 <= f["in_flight"] - f["shaper"]["queued"] <= 3  # the rest: on the wire
    assert f["latency_ms"]["p99"] > 100  # packets waited in the shaper's queue


def test_shaper_overflows_its_bounded_queue():
    f = _shaped(queue=20)
    assert f["loss"]["by_reason"].get("QUEUE_OVERFLOW", 0) > 0
    assert set(f["loss"]["by_reason"]) == {"QUEUE_OVERFLOW"}
    assert f["shaper"]["max_queue"] == 20


def test_packet_rate_limit_polices_packets():
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": [
        {"id": "pps", "type": "packet_rate_limit", "max_kpps": 1, "max_burst_kpps": 0.1, "direction": "egress"}]})
    # 100-byte packets at 1600 kbit/s = 2000 packets/s, twice the limit, for 4 s
    f = run(tables, [flow("vm-a", "vm-b", 1600, packet_size=100)], 4.0)["flows"][0]
    assert 4000 - 1 <= f["delivered"]["packets"] <= 4000 + 100 + 1
    assert f["loss"]["by_reason"]["POLICED"] == f["offered"]["packets"] - f["delivered"]["packets"] - f["in_flight"]


def test_dscp_marking_is_seen_at_the_receiver():
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": [{"id": "d", "type": "dscp_marking", "dscp_mark": 26}]})
    r = run(tables, [flow("vm-a", "vm-b", 100, dscp=10), flow("vm-b", "vm-a", 100, protocol="udp", port=53, dscp=46)], 1.0)
    marked, unmarked = r["flows"]
    assert set(marked["dscp_seen"]) == {"26"} and marked["dscp_seen"]["26"] == marked["delivered"]["packets"]
    assert set(unmarked["dscp_seen"]) == {"46"}


def test_minimum_bandwidth_share_on_a_congested_shared_uplink():
    """Two flows leave through r1's gateway uplink (set to 10 Mbit/s), each offering 10 Mbit/s:
    without guarantees they split it evenly; vm-a's 7 Mbit/s minimum gives it at least that."""
    ext = {"ip_address": "198.51.100.7"}
    flows = [flow("vm-a", ext, 10_000, protocol="udp", port=53),
             flow("vm-b", ext, 10_000, protocol="udp", port=53)]
    links = {"router_uplink": {"capacity_kbps": 10_000}}
    even = run(tables_with_qos(), flows, 3.0, links=links)
    a, b = (f["delivered"]["kbps"] for f in even["flows"])
    assert a == pytest.approx(5000, rel=0.05) and b == pytest.approx(5000, rel=0.05)
    assert even["fairness"]["jain_delivered"] > 0.99
    assert all(f["path"][-1] == "uplink:r1/out" for f in even["flows"])
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": [
        {"id": "min", "type": "minimum_bandwidth", "min_kbps": 7000, "direction": "egress"}]})
    guaranteed = run(tables, flows, 3.0, links=links)
    a, b = (f["delivered"]["kbps"] for f in guaranteed["flows"])
    assert a >= 7000 * 0.97 and b == pytest.approx(10_000 - a, rel=0.05)
    assert guaranteed["flows"][0]["loss"]["by_reason"].keys() <= {"QUEUE_OVERFLOW"}


def test_denied_flow_loses_every_packet_with_its_disposition():
    r = run(tables_with_qos(), [flow("vm-a", "vm-b", 1200, protocol="udp", port=53)], 1.0)
    f = r["flows"][0]
    assert f["disposition"] == "DENIED_INGRESS"
    assert f["loss"]["by_reason"] == {"DENIED_INGRESS": f["offered"]["packets"]} and f["delivered"]["packets"] == 0
    assert f["latency_ms"] is None and f["path"] == []
    assert r["loss_by_reason"] == {"DENIED_INGRESS": 100}
    assert r["rule_hits"] == {"sg-open-r2": 100}  # vm-a's egress rule let them all out first


def test_rule_hit_counters_follow_the_trace():
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": BW_EGRESS})
    r = run(tables, [flow("vm-a", "vm-b", 2000), flow("vm-b", "vm-a", 120, protocol="udp", port=53)], 2.0)
    ab, ba = r["flows"]
    assert r["rule_hits"]["sg-open-r2"] == ab["offered"]["packets"]   # vm-a egress: before the policer
    assert r["rule_hits"]["web-http"] == ab["delivered"]["packets"]   # vm-b ingress: what arrived
    assert r["rule_hits"]["web-out4"] == ba["offered"]["packets"]
    assert r["rule_hits"]["sg-open-r0"] == ba["delivered"]["packets"]


def test_seeded_runs_are_reproducible():
    flows = [flow("vm-a", {"ip_address": "198.51.100.7"}, 5000, protocol="udp", port=53, pattern="poisson"),
             flow("vm-b", "vm-a", 3000, protocol="udp", port=53, pattern="onoff", burst={"on_ms": 50, "off_ms": 150})]
    tables = tables_with_qos(ports={"vm-a": "q"}, policies={"q": BW_EGRESS})

    def strip(r):
        return {k: v for k, v in r.items() if k != "wall_s"}
    one, two = (strip(run(tables, flows, 2.0, seed=7)) for _ in range(2))
    assert one == two
    other = strip(run(tables, flows, 2.0, seed=8))
    assert other["flows"][0]["offered"] != one["flows"][0]["offered"]


def test_onoff_mean_rate_and_series():
    r = run(tables_with_qos(), [flow("vm-a", "vm-b", 1200, packet_size=1500, pattern="onoff",
                                     burst={"on_ms": 100, "off_ms": 300})], 4.0, bins=40)
    f = r["flows"][0]
    assert f["offered"]["kbps"] == pytest.approx(300, rel=0.1)
    assert len(f["series"]["delivered_kbps"]) == 40 == len(r["series"]["t"])
    assert max(f["series"]["offered_kbps"]) == pytest.approx(1200, rel=0.1)
    assert min(f["series"]["offered_kbps"]) == 0


def test_flow_naming_an_unknown_port_is_404_naming_the_flow():
    with pytest.raises(QueryError) as err:
        run(tables_with_qos(), [flow("vm-a", "vm-b", 10), flow("nope", "vm-b", 10)], 1.0)
    assert err.value.http_status == 404 and err.value.message.startswith("flows[1]")


@pytest.mark.parametrize("request_, words", [
    ({"flows": [], "duration_s": 1}, "non-empty"),
    ({"flows": [{"source": {"port_id": "vm-a"}}], "duration_s": 1}, "destination is required"),
    ({"duration_s": -1, "flows": [{}]}, "duration_s"),
    ({"duration_s": 1, "flows": [{"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"},
                                  "protocol": "tcp", "rate_kbps": 10, "pattern": "zigzag"}]}, "pattern"),
    ({"duration_s": 600, "flows": [{"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"},
                                    "protocol": "tcp", "rate_kbps": 1e7}]}, "limit"),
    ({"duration_s": 60, "engine": "reference", "flows": [{"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"},
                                    "protocol": "tcp", "rate_kbps": 1e6}]}, "2,000,000"),
    ({"duration_s": 60, "flows": [{"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"},
                                   "protocol": "tcp", "rate_kbps": 1e6, "pattern": "tcp"}]}, "2,000,000"),
    ({"duration_s": 1, "flows": [{"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"},
                                  "protocol": "tcp", "rate_kbps": 10}], "links": {"port": {"speed": 1}}}, "speed"),
    ({"duration_s": 1, "bogus": 1, "flows": []}, "bogus"),
])
def test_bad_requests_are_400_with_a_clear_message(request_, words):
    from xloudnet.analysis.capacity import run_capacity
    with pytest.raises(QueryError) as err:
        run_capacity(tables_with_qos(), request_)
    assert err.value.http_status == 400 and words in err.value.message
