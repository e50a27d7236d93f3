"""``Simulation(tables, config, rng)``: the per-packet QoS simulation (SimPy), the reference.

Each flow's path comes from the data plane's explained trace (``paths.plan_flow``) and the stages
from ``stages.build_layout`` (shared with the batched engine):

    source ─▶ [egress policer of the source port: bandwidth_limit / packet_rate_limit, DSCP mark]
           ─▶ port:SRC/tx ─▶ (uplink:R/in) ─▶ router:R ... ─▶ (uplink:R/out)
           ─▶ port:DST/rx ─▶ [ingress rules hit] ─▶ [ingress shaper (or OVN meter) of the port]
           ─▶ receiver

Links are shared by every flow crossing them (``Link``: per-flow queues, minimum_bandwidth
floors, fair queueing). A flow the data plane refuses loses every packet with its disposition
(``DENIED_EGRESS``, ``NO_ROUTE``, ...) at the source; such packets load no link. Traffic is one
way (no replies). ``run(progress)`` returns the result dict described in ``docs/simulation.md``.
"""

from __future__ import annotations

import time

import numpy as np
import simpy

from .bucket import TokenBucket
from .config import SimConfig
from .link import Link
from .metrics import RunMetrics
from .packet import Packet, forward
from .paths import Plan, plan_flow
from .policer import Policer
from .result import build_result
from .shaper import Shaper
from .sources import start_source
from .stages import build_layout
from .tcp import TcpSource
from .stepping import drive

PROGRESS_STEPS = 50
FLUSH_EVENTS = 65_536  # metrics take events in batches (the same vectorised calls as the batched engine)


def _once(env, emit, start: float):
    if start > env.now:
        yield env.timeout(start - env.now)
    emit()


def _copy(bucket: TokenBucket | None) -> TokenBucket | None:
    return None if bucket is None else TokenBucket(bucket.rate, bucket.depth)


class _Recorder:
    """Buffers per-packet events and hands them to ``RunMetrics`` in batches."""

    def __init__(self, metrics: RunMetrics):
        self.metrics = metrics
        self.offered, self.delivered, self.lost = [], [], {}
        self.pending = 0

    def _tick(self) -> None:
        self.pending += 1
        if self.pending >= FLUSH_EVENTS:
            self.flush()

    def offer(self, flow: int, t: float) -> None:
        self.offered.append((flow, t))
        self._tick()

    def deliver(self, flow: int, t: float, sent: float) -> None:
        self.delivered.append((flow, t, sent))
        self._tick()

    def lose(self, flow: int, t: float, reason: str) -> None:
        self.lost.setdefault(reason, []).append((flow, t))
        self._tick()

    def flush(self) -> None:
        m = self.metrics
        if self.offered:
            a = np.array(self.offered)
            f = a[:, 0].astype(np.int64)
            m.offered(f, a[:, 1])
        for reason, events in self.lost.items():
            a = np.array(events)
            m.lose(a[:, 0].astype(np.int64), a[:, 1], reason)
        if self.delivered:
            a = np.array(self.delivered)
            f = a[:, 0].astype(np.int64)
            m.delivered(f, a[:, 1], a[:, 2])
        self.offered, self.delivered, self.lost, self.pending = [], [], {}, 0


class Simulation:
    """One run: ``Simulation(tables, config, rng).run(progress=None) -> dict``."""

    def __init__(self, tables, config: SimConfig, rng: np.random.Generator, plans: list[Plan] | None = None):
        self.config = config
        self.rng = rng
        self.env = simpy.Environment()
        self.plans = plans if plans is not None else [plan_flow(tables, f.query()) for f in config.flows]
        self.layout = build_layout(config, self.plans)
        self.metrics = RunMetrics(len(config.flows), config.duration_s, config.bins,
                                  [int(f.packet_size) * 8 for f in config.flows])
        self.recorder = _Recorder(self.metrics)
        self.rule_hits: dict[str, int] = {}
        self.tcp: dict[int, TcpSource] = {}
        self.stages = [self._make_stage(s) for s in self.layout.stages]
        for index, (flow, plan) in enumerate(zip(config.flows, self.plans)):
            self._build_flow(index, flow, plan)

    # --- construction ---------------------------------------------------------------------------
    def _lose(self, packet: Packet, reason: str) -> None:
        self.recorder.lose(packet.flow, self.env.now, reason)
        tcp = self.tcp.get(packet.flow)
        if tcp is not None:
            tcp.lost(packet.sent, packet.seq)

    def _make_stage(self, s):
        if s.kind == "policer":
            return Policer(self.env, self._lose, _copy(s.bits_bucket), _copy(s.packets_bucket), s.overhead_bits)
        if s.kind == "shaper":
            return Shaper(self.env, self._lose, s.queue_packets, _copy(s.bits_bucket), _copy(s.packets_bucket),
                          limit_bits=s.queue_bits, overhead_bits=s.overhead_bits, drop_oversized=s.drop_oversized)
        rng = np.random.default_rng(self.rng.integers(2**63)) if s.loss_ratio else None
        link = Link(self.env, self._lose, s.key, s.capacity_bps, s.delay_s, s.queue_packets, s.loss_ratio, rng)
        for flow in s.flows:
            link.attach(flow, s.guarantees.get(flow))
        return link

    def _build_flow(self, index: int, flow, plan: Plan) -> None:
        env, recorder = self.env, self.recorder
        bits = int(flow.packet_size) * 8
        for rule in plan.send_rules + plan.arrive_rules:
            self.rule_hits.setdefault(rule, 0)
        stage_ids = self.layout.paths[index]
        path = None
        if stage_ids is not None:
            path = [self.stages[i] for i in stage_ids]
            if plan.arrive_rules:
                path.insert(self.layout.arrive_at[index], self._arrival_counter(plan.arrive_rules))
            path.append(self._receive)
        dscp = self.layout.dscp[index]
        hits, send_rules = self.rule_hits, plan.send_rules
        disposition = plan.disposition

        def emit(seq: int = 0) -> None:
            now = env.now
            recorder.offer(index, now)
            for rule in send_rules:
                hits[rule] += 1
            if path is None:
                recorder.lose(index, now, disposition)
            else:
                forward(Packet(index, bits, dscp, now, path, seq))

        interval = bits / (flow.rate_kbps * 1000.0)
        child = np.random.default_rng(self.rng.integers(2**63))
        if flow.pattern == "tcp":
            if path is None:  # the connection never opens: its first segment is lost
                env.process(_once(env, emit, flow.start_s))
                return
            reverse = sum(self.layout.stages[s].delay_s for s in stage_ids if self.layout.stages[s].kind == "link")
            self.tcp[index] = TcpSource(env, emit, interval, flow.start_s, self.config.duration_s, reverse)
            return
        start_source(env, flow.pattern, emit, interval, flow.start_s, self.config.duration_s, child,
                     flow.on_ms / 1000.0, flow.off_ms / 1000.0)

    def _arrival_counter(self, rules: list):
        hits = self.rule_hits

        def count(packet: Packet) -> None:
            for rule in rules:
                hits[rule] += 1
            forward(packet)
        return count

    def _receive(self, packet: Packet) -> None:
        self.recorder.deliver(packet.flow, self.env.now, packet.sent)
        tcp = self.tcp.get(packet.flow)
        if tcp is not None:
            tcp.delivered(packet.sent, packet.seq)

    # --- running --------------------------------------------------------------------------------
    def run(self, progress=None) -> dict:
        """Run for ``duration_s`` simulated seconds; ``progress(fraction)`` after each step."""
        return drive(self.steps(), progress)

    def steps(self):
        """``run`` as a generator: yields the fraction done after each step, returns the result.
        A server runs jobs a few steps at a time, so other work gets turns in between."""
        duration = self.config.duration_s
        wall = 0.0
        for step in range(1, PROGRESS_STEPS + 1):
            started = time.perf_counter()  # time spent paused between steps is not the run's
            self.env.run(until=duration * step / PROGRESS_STEPS)
            wall += time.perf_counter() - started
            yield step / PROGRESS_STEPS
        return self._result(wall)

    def _result(self, wall: float) -> dict:
        self.recorder.flush()
        stage_stats = []
        for spec, stage in zip(self.layout.stages, self.stages):
            if spec.kind == "link":
                stage_stats.append(stage.stats(self.config.duration_s))
            elif spec.kind == "policer":
                stage_stats.append({"conformed": stage.conformed, "dropped": stage.dropped})
            else:
                stage_stats.append({"dropped": stage.dropped, "max_queue": stage.max_queue,
                                    "queued": stage.queued()})
        return build_result(self.config, self.plans, self.layout, self.metrics, self.rule_hits, stage_stats, wall)
