"""The closed-loop TCP-like source: goodput against the Mathis et al. model, and what a policer
does to it compared with a shaper at the same rate."""

from __future__ import annotations

import math

import pytest
from sim_cases import flow, run, tables_with_qos

EXT = {"ip_address": "198.51.100.7"}
MATHIS_C = math.sqrt(3 / 2)  # ≈ 1.22


@pytest.mark.parametrize("p, seconds", [(0.002, 12.0), (0.006, 8.0), (0.02, 6.0)])
def test_goodput_follows_the_mathis_model_over_loss_rates(p, seconds):
    """Throughput ≈ MSS/RTT · 1.22/√p. The flow leaves through a 10 ms, lossy, uncongested
    uplink, so its RTT is the path's propagation (2 × 10.1 ms) and its loss is the link's. Random
    (not periodic) losses and the once-per-window reduction put the model's constant a little
    above 1.22: accepted within −15 % / +35 % (measured +8 … +23 %)."""
    r = run(tables_with_qos(), [flow("vm-a", EXT, 1e6, protocol="tcp", port=80, pattern="tcp")], seconds, seed=3,
            links={"router_uplink": {"capacity_kbps": 1e7, "delay_ms": 10, "loss_ratio": p}})
    f = r["flows"][0]
    assert r["engine"] == "reference" and set(f["loss"]["by_reason"]) == {"LINK_LOSS"}
    rtt = 2 * (2 * 0.05e-3 + 10e-3)
    mathis_kbps = 1500 * 8 / rtt * MATHIS_C / math.sqrt(p) / 1000
    assert 0.85 <= f["delivered"]["kbps"] / mathis_kbps <= 1.35


def test_goodput_falls_as_loss_rises():
    rates = []
    for p in (0.001, 0.01):
        r = run(tables_with_qos(), [flow("vm-a", EXT, 1e6, protocol="tcp", port=80, pattern="tcp")], 4.0, seed=1,
                links={"router_uplink": {"capacity_kbps": 1e7, "delay_ms": 10, "loss_ratio": p}})
        rates.append(r["flows"][0]["delivered"]["kbps"])
    assert rates[0] > 2 * rates[1]


def _tcp_through(ports: dict, direction: str):
    tables = tables_with_qos(ports=ports, policies={"q": [{"id": "bw", "type": "bandwidth_limit", "max_kbps": 10_000,
                                                           "max_burst_kbps": 100, "direction": direction}]})
    r = run(tables, [flow("vm-a", "vm-b", 1e6, pattern="tcp")], 8.0, seed=1, links={"port": {"delay_ms": 5}})
    return r["flows"][0]


def test_a_policer_hurts_tcp_goodput_far_more_than_a_shaper_at_the_same_rate():
    policed = _tcp_through({"vm-a": "q"}, "egress")
    shaped = _tcp_through({"vm-b": "q"}, "ingress")
    assert shaped["delivered"]["kbps"] >= 0.9 * 10_000 * 1500 / 1514
    assert policed["delivered"]["kbps"] <= 0.7 * shaped["delivered"]["kbps"]
    assert set(policed["loss"]["by_reason"]) == {"POLICED"}
    assert shaped["latency_ms"]["p50"] > 10 * policed["latency_ms"]["p50"]  # the shaper queues instead


def test_a_refused_tcp_flow_loses_its_first_segment_only():
    r = run(tables_with_qos(), [flow("vm-a", "vm-b", 1000, protocol="udp", port=53, pattern="tcp")], 1.0)
    f = r["flows"][0]
    assert f["offered"]["packets"] == 1 and f["loss"]["by_reason"] == {"DENIED_INGRESS": 1}


# --- retransmission timeout: a whole window lost -------------------------------------------------

def _outage_run(outage=(1.0, 1.6), seconds=4.0, one_way=0.01):
    """One TcpSource over a toy path: 10 ms each way, paced at 12 Mbit/s of 1500-byte packets;
    every packet sent during ``outage`` is dropped at the first hop (a burst loss: the whole
    window, and the retransmissions while it lasts). Returns the source and the (time, seq) of
    every packet sent and of every one delivered."""
    import simpy

    from xloudnet.sim.tcp import TcpSource

    env = simpy.Environment()
    sent, delivered = [], []

    def emit(seq):
        now = env.now
        sent.append((now, seq))
        if outage[0] <= now < outage[1]:
            source.lost(now, seq)
            return

        def arrive(_event, at=now, seq=seq):
            delivered.append((env.now, seq))
            source.delivered(at, seq)
        env.timeout(one_way).callbacks.append(arrive)

    source = TcpSource(env, emit, interval=1500 * 8 / 12e6, start=0.0, stop=seconds, reverse_s=one_way)
    env.run(until=seconds)
    return source, sent, delivered


def test_a_flow_whose_whole_window_is_lost_recovers_by_timeout_with_backoff():
    """RTT 20 ms: the RTO is the 200 ms minimum. The outage swallows the window (no duplicate
    ACKs come back), then the retransmissions at each timeout: the silences between them double
    (0.4, 0.8, 1.6 s after the first timeout, 0.2 s after the last ACK), and once a packet gets through the flow
    slow-starts back to its pace."""
    source, sent, delivered = _outage_run(outage=(1.0, 3.0), seconds=7.0)
    assert source.timeouts == 4  # at 1.22, 1.62, 2.42 (lost again) and 4.02 (gets through)
    times = [t for t, _ in sent]
    silences = [b - a for a, b in zip(times, times[1:]) if b - a > 0.1]
    assert silences == pytest.approx([0.4, 0.8, 1.6], rel=0.02)
    assert not [t for t, _ in delivered if 1.02 < t < 4.0]  # nothing got through the outage
    late = [t for t, _ in delivered if t >= 5.0]  # 12 Mbit/s ≈ 1000 packets/s again
    assert len(late) >= 1900


def test_without_an_outage_no_timeout_fires():
    source, sent, delivered = _outage_run(outage=(0, 0))
    assert source.timeouts == 0 and source.reductions == 0 and len(delivered) >= len(sent) - 30


def test_rto_follows_rfc6298_from_the_measured_rtt():
    from xloudnet.sim.tcp import MIN_RTO_S

    source, _, _ = _outage_run(outage=(0, 0), one_way=0.15)  # RTT 0.3 s: above the minimum
    assert source.srtt == pytest.approx(0.3, rel=0.01)
    assert source.rto == pytest.approx(source.srtt + 4 * source.rttvar) and source.rto > MIN_RTO_S
