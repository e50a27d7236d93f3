"""``Simulation(tables, config, rng)``: QoS packet simulation over compiled flow tables.

Each flow's path comes from the data plane's explained trace (``paths.plan_flow``):

    source ─▶ [egress policer: bandwidth_limit / packet_rate_limit egress, DSCP mark]
           ─▶ port:SRC/tx ─▶ (uplink:R/in) ─▶ router:R ... ─▶ (uplink:R/out)
           ─▶ port:DST/rx ─▶ [ingress rules hit] ─▶ [ingress shaper] ─▶ receiver

Links are shared by every flow crossing them (``Link``: per-flow queues, minimum_bandwidth
guarantees, deficit round robin). A flow the data plane refuses loses every packet with its
disposition (``DENIED_EGRESS``, ``NO_ROUTE``, ...) at the source; such packets load no link.
Traffic is one way (no replies). ``run(progress)`` returns the result dict described in
``docs/simulation.md``.
"""

from __future__ import annotations

import time

import numpy as np
import simpy

from .bucket import bandwidth_bucket, packet_rate_bucket
from .config import SimConfig
from .link import Link
from .metrics import FlowMetrics, jain
from .packet import Packet, forward
from .paths import Plan, plan_flow
from .policer import Policer
from .shaper import Shaper
from .sources import start_source

PROGRESS_STEPS = 50


class Simulation:
    """One run: ``Simulation(tables, config, rng).run(progress=None) -> dict``."""

    def __init__(self, tables, config: SimConfig, rng: np.random.Generator, plans: list[Plan] | None = None):
        self.config = config
        self.rng = rng
        self.env = simpy.Environment()
        self.plans = plans if plans is not None else [plan_flow(tables, f.query()) for f in config.flows]
        self.links: dict[str, Link] = {}
        self.metrics = [FlowMetrics(config.duration_s, config.bins) for _ in config.flows]
        self.rule_hits: dict[str, int] = {}
        self.policers: dict[int, Policer] = {}
        self.shapers: dict[int, Shaper] = {}
        for index, (flow, plan) in enumerate(zip(config.flows, self.plans)):
            self._build_flow(index, flow, plan)

    # --- construction ---------------------------------------------------------------------------
    def _lose(self, packet: Packet, reason: str) -> None:
        self.metrics[packet.flow].lose(self.env.now, reason)

    def _link(self, link_id: str, kind: str) -> Link:
        link = self.links.get(link_id)
        if link is None:
            spec = self.config.link_spec(link_id, kind)
            link = Link(self.env, self._lose, link_id, spec.capacity_kbps * 1000.0,
                        spec.delay_ms / 1000.0, spec.queue_packets)
            self.links[link_id] = link
        return link

    def _build_flow(self, index: int, flow, plan: Plan) -> None:
        env, metrics = self.env, self.metrics[index]
        bits = int(flow.packet_size) * 8
        for rule in plan.send_rules + plan.arrive_rules:
            self.rule_hits.setdefault(rule, 0)
        path = self._path(index, plan) if plan.passes else None
        dscp = flow.dscp
        if plan.egress_qos and plan.egress_qos.get("dscp_mark") is not None:
            dscp = int(plan.egress_qos["dscp_mark"])
        hits, send_rules = self.rule_hits, plan.send_rules
        disposition = plan.disposition

        def emit() -> None:
            now = env.now
            metrics.offered(now, bits)
            for rule in send_rules:
                hits[rule] += 1
            if path is None:
                metrics.lose(now, disposition)
            else:
                forward(Packet(index, bits, dscp, now, path))

        interval = bits / (flow.rate_kbps * 1000.0)
        child = np.random.default_rng(self.rng.integers(2**63))
        start_source(env, flow.pattern, emit, interval, flow.start_s, self.config.duration_s, child,
                     flow.on_ms / 1000.0, flow.off_ms / 1000.0)

    def _path(self, index: int, plan: Plan) -> list:
        """The stages of a passing flow, ending at the receiver."""
        path = []
        egress = plan.egress_qos or {}
        bw, pps = egress.get("bandwidth_limit"), egress.get("packet_rate_limit")
        if bw or pps:
            policer = Policer(self.env, self._lose,
                              bandwidth_bucket(bw["max_kbps"], bw.get("max_burst_kbps")) if bw else None,
                              packet_rate_bucket(pps["max_kpps"], pps.get("max_burst_kpps")) if pps else None)
            self.policers[index] = policer
            path.append(policer)
        guarantee = max(_min_kbps(plan.egress_qos), _min_kbps(plan.ingress_qos)) * 1000.0
        for link_id, kind in plan.links:
            link = self._link(link_id, kind)
            link.attach(index, guarantee or None)
            path.append(link)
        if plan.arrive_rules:
            path.append(self._arrival_counter(plan.arrive_rules))
        ingress = plan.ingress_qos or {}
        bw, pps = ingress.get("bandwidth_limit"), ingress.get("packet_rate_limit")
        if bw or pps:
            shaper = Shaper(self.env, self._lose, self.config.shaper_queue_packets,
                            bandwidth_bucket(bw["max_kbps"], bw.get("max_burst_kbps")) if bw else None,
                            packet_rate_bucket(pps["max_kpps"], pps.get("max_burst_kpps")) if pps else None)
            self.shapers[index] = shaper
            path.append(shaper)
        path.append(self._receive)
        return path

    def _arrival_counter(self, rules: list):
        hits = self.rule_hits

        def count(packet: Packet) -> None:
            for rule in rules:
                hits[rule] += 1
            forward(packet)
        return count

    def _receive(self, packet: Packet) -> None:
        self.metrics[packet.flow].delivered(self.env.now, packet)

    # --- running --------------------------------------------------------------------------------
    def run(self, progress=None) -> dict:
        """Run for ``duration_s`` simulated seconds; ``progress(fraction)`` after each step."""
        steps = self.steps()
        while True:
            try:
                fraction = next(steps)
            except StopIteration as done:
                return done.value
            if progress is not None:
                progress(fraction)

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
        cfg = self.config
        flows, totals, delivered_kbps, normalised = [], {}, [], []
        for index, (flow, plan, m) in enumerate(zip(cfg.flows, self.plans, self.metrics)):
            summary = m.summary(max(cfg.duration_s - flow.start_s, 0.0))
            entry = {"index": index, "name": flow.name or f"flow-{index}", "source": flow.source,
                     "destination": flow.destination, "protocol": flow.protocol,
                     "destination_port": flow.destination_port, "pattern": flow.pattern,
                     "rate_kbps": flow.rate_kbps, "packet_size": flow.packet_size,
                     "disposition": plan.disposition, "path": [lid for lid, _ in plan.links],
                     "qos": {"egress": plan.egress_qos, "ingress": plan.ingress_qos}, **summary}
            if index in self.policers:
                p = self.policers[index]
                entry["policer"] = {"conformed": p.conformed, "dropped": p.dropped}
            if index in self.shapers:
                s = self.shapers[index]
                entry["shaper"] = {"dropped": s.dropped, "max_queue": s.max_queue, "queued": len(s.queue)}
            for reason, count in summary["loss"]["by_reason"].items():
                totals[reason] = totals.get(reason, 0) + count
            if plan.passes:
                delivered_kbps.append(summary["delivered"]["kbps"])
                offered = summary["offered"]["kbps"]
                normalised.append(summary["delivered"]["kbps"] / offered if offered else 0.0)
            flows.append(entry)
        offered = sum(m.offered_packets for m in self.metrics)
        delivered = sum(m.delivered_packets for m in self.metrics)
        lost = sum(totals.values())
        return {
            "duration_s": cfg.duration_s,
            "flows": flows,
            "packets": {"offered": offered, "delivered": delivered, "lost": lost,
                        "in_flight": offered - delivered - lost},
            "loss_by_reason": dict(sorted(totals.items())),
            "rule_hits": dict(sorted(self.rule_hits.items())),
            "links": {lid: link.stats(cfg.duration_s) for lid, link in sorted(self.links.items())},
            "fairness": {"jain_delivered": jain(delivered_kbps), "jain_normalised": jain(normalised)},
            "series": {"bin_s": cfg.duration_s / cfg.bins,
                       "t": [(i + 0.5) * cfg.duration_s / cfg.bins for i in range(cfg.bins)]},
            "wall_s": wall,
        }


def _min_kbps(qos: dict | None) -> float:
    minimum = (qos or {}).get("minimum_bandwidth") or {}
    return float(minimum.get("min_kbps") or 0.0)
