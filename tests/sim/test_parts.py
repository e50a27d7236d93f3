"""The parts on their own: token bucket conformance, policer, shaper, link scheduler."""

from __future__ import annotations

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from xloudnet.sim import Link, Policer, Shaper, TokenBucket, bandwidth_bucket, packet_rate_bucket
from xloudnet.sim.packet import Packet


@settings(max_examples=150, deadline=None)
@given(rate=st.floats(1e3, 1e7), depth=st.floats(1.2e4, 1e6),
       arrivals=st.lists(st.tuples(st.floats(0, 1e-2), st.integers(64 * 8, 1500 * 8)), min_size=1, max_size=200))
def test_bucket_never_allows_more_than_rate_times_t_plus_depth(rate, depth, arrivals):
    """RFC 2697 conformance: over ANY interval [t_i, t_j] the bits that conformed are at most
    rate·(t_j − t_i) + depth."""
    bucket = TokenBucket(rate, depth)
    now, passed = 0.0, []
    for gap, bits in arrivals:
        now += gap
        if bucket.conforms(now, bits):
            bucket.take(now, bits)
            passed.append((now, bits))
    for i in range(len(passed)):
        total = 0
        for j in range(i, len(passed)):
            total += passed[j][1]
            assert total <= rate * (passed[j][0] - passed[i][0]) + depth + 1e-6


def test_bucket_starts_full_and_refills_lazily():
    b = TokenBucket(1000.0, 500.0)
    assert b.conforms(0.0, 500) and not b.conforms(0.0, 501)
    b.take(0.0, 500)
    assert not b.conforms(0.25, 300) and b.conforms(0.3, 300)
    assert b.delay(0.3, 400) == 0.1 or abs(b.delay(0.3, 400) - 0.1) < 1e-9
    assert b.delay(0.3, 501) == float("inf")


def test_neutron_default_burst_is_80_percent_of_the_rate():
    assert bandwidth_bucket(1000, 0).depth == 800_000  # kilobits → bits
    assert bandwidth_bucket(1000, None).depth == 800_000
    assert bandwidth_bucket(1000, 50).depth == 50_000
    assert packet_rate_bucket(2, 0).depth == 1600 and packet_rate_bucket(2, 0).rate == 2000


def _feed(env, stage, count, gap, bits, sink):
    path = [stage, sink.append]

    def source():
        for _ in range(count):
            p = Packet(0, bits, 0, env.now, path)
            p.hop = 0
            stage(p)
            yield env.timeout(gap)
    env.process(source())


def test_policer_drops_only_non_conforming_packets():
    env, lost, got = simpy.Environment(), [], []
    policer = Policer(env, lambda p, r: lost.append(r), TokenBucket(10_000, 20_000))
    _feed(env, policer, 100, 0.05, 1000, got)  # 20 kbit/s offered into a 10 kbit/s policer
    env.run(until=10)
    assert len(got) + len(lost) == 100 and set(lost) == {"POLICED"}
    assert 10_000 * 5 <= len(got) * 1000 <= 10_000 * 5 + 20_000 + 1000


def test_shaper_delays_then_overflows():
    env, lost, got = simpy.Environment(), [], []
    shaper = Shaper(env, lambda p, r: lost.append(r), 5, TokenBucket(10_000, 1000))
    _feed(env, shaper, 10, 0.0, 1000, got)  # 10 packets at once, queue of 5
    env.run(until=10)
    assert len(lost) == 4 and set(lost) == {"QUEUE_OVERFLOW"}  # one left at once, 5 queued
    assert len(got) == 6


def test_link_serialises_at_its_capacity():
    env, got = simpy.Environment(), []
    link = Link(env, lambda p, r: None, "l", 1e6, 0.001, 100)
    link.attach(0)
    path = [link, lambda p: got.append(env.now)]
    for _ in range(3):
        p = Packet(0, 10_000, 0, 0.0, path)
        p.hop = 0
        link(p)
    env.run(until=1)
    assert [round(t, 6) for t in got] == [0.011, 0.021, 0.031]  # 10 ms each + 1 ms
