"""What a run is made of: the stages (policers, links, shapers) and each flow's way through them.

Both engines — the per-packet SimPy reference (``simulation``) and the batched one (``batched``)
— build from this one layout, so they cannot disagree about semantics:

- one egress **policer per source port** (every flow the port sends shares it), from the port's
  ``bandwidth_limit`` / ``packet_rate_limit`` egress rules;
- the **links** of the flow's path (shared by every flow crossing them); a ``minimum_bandwidth``
  belongs to its port, not to each flow: every flow a port sends (egress minimum) or receives
  (ingress minimum) draws on one guarantee per link (``guarantee_of``);
- one ingress **shaper per destination port** (OVS: HTB; Linux bridge: tbf) — or, on OVN, an
  ingress **policer** (a meter).

The backend (``SimConfig.backend``) decides units, frame counting and queue bounds
(``backends``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .backends import BACKENDS, ETHERNET_HEADER_BYTES
from .bucket import TokenBucket, packet_rate_bucket
from .config import SimConfig
from .link import GUARANTEE_PACKET_BITS
from .paths import Plan


@dataclass
class Stage:
    kind: str                      # "policer" | "link" | "shaper"
    key: str                       # port or link id
    bits_bucket: TokenBucket | None = None
    packets_bucket: TokenBucket | None = None
    overhead_bits: int = 0
    capacity_bps: float = 0.0      # links
    delay_s: float = 0.0
    queue_packets: float = math.inf
    queue_bits: float = math.inf   # shapers (tbf)
    loss_ratio: float = 0.0        # links: random loss
    drop_oversized: bool = False
    flows: list = field(default_factory=list)
    guarantees: dict = field(default_factory=dict)  # links: flow → (guarantee key, min bit/s)


@dataclass
class Layout:
    stages: list                   # Stage, in order of creation
    paths: list                    # per flow: stage indices (None: refused by the data plane)
    arrive_at: list                # per flow: position in its path where it reaches the destination
    dscp: list                     # per flow: the DSCP seen at the receiver


def min_kbps(qos: dict | None) -> float:
    minimum = (qos or {}).get("minimum_bandwidth") or {}
    return float(minimum.get("min_kbps") or 0.0)


def guarantee_of(plan: Plan, src: str, dst: str) -> tuple[str, float] | None:
    """The guarantee a flow draws on: its source port's egress minimum or its destination port's
    ingress minimum, whichever is larger (the source's on a tie), keyed by that port — so the
    flows of one port share one guarantee; None without a minimum."""
    egress, ingress = min_kbps(plan.egress_qos), min_kbps(plan.ingress_qos)
    if not egress and not ingress:
        return None
    if egress >= ingress:
        return f"egress:{src}", egress * 1000.0
    return f"ingress:{dst}", ingress * 1000.0


def _receiver(plan: Plan, i: int) -> str:
    last = plan.links[-1][0] if plan.links else ""
    return last.rsplit("/", 1)[0] if last.endswith("/rx") else f"flow{i}"


def build_layout(config: SimConfig, plans: list[Plan]) -> Layout:
    backend = BACKENDS[config.backend]
    overhead = ETHERNET_HEADER_BYTES * 8
    stages: list[Stage] = []
    index: dict[str, int] = {}

    def stage(key: str, make) -> int:
        if key not in index:
            index[key] = len(stages)
            stages.append(make())
        return index[key]

    def buckets(qos: dict, shaping: bool):
        bw, pps = qos.get("bandwidth_limit"), qos.get("packet_rate_limit")
        make = backend.shaper_bucket if shaping else backend.policer_bucket
        bits = make(bw["max_kbps"], bw.get("max_burst_kbps")) if bw else None
        pkts = packet_rate_bucket(pps["max_kpps"], pps.get("max_burst_kpps")) if pps else None
        return bits, pkts

    paths, arrive_at, dscps = [], [], []
    for i, (flow, plan) in enumerate(zip(config.flows, plans)):
        dscp = flow.dscp
        if plan.egress_qos and plan.egress_qos.get("dscp_mark") is not None:
            dscp = int(plan.egress_qos["dscp_mark"])
        dscps.append(dscp)
        if not plan.passes:
            paths.append(None)
            arrive_at.append(0)
            continue
        path = []
        src = plan.links[0][0].rsplit("/", 1)[0] if plan.links and plan.links[0][1] == "port" else f"flow{i}"
        egress = plan.egress_qos or {}
        if egress.get("bandwidth_limit") or egress.get("packet_rate_limit"):
            bits, pkts = buckets(egress, False)
            path.append(stage(f"police:{src}", lambda: Stage("policer", src, bits, pkts, overhead)))
        dst = _receiver(plan, i)
        guarantee = guarantee_of(plan, src, dst)
        for link_id, kind in plan.links:
            spec = config.link_spec(link_id, kind)
            s = stage(link_id, lambda: Stage("link", link_id, capacity_bps=spec.capacity_kbps * 1000.0,
                                             delay_s=spec.delay_ms / 1000.0, queue_packets=spec.queue_packets,
                                             loss_ratio=spec.loss_ratio))
            stages[s].flows.append(i)
            if guarantee:
                stages[s].guarantees[i] = guarantee
            path.append(s)
        arrive_at.append(len(path))
        ingress = plan.ingress_qos or {}
        if ingress.get("bandwidth_limit") or ingress.get("packet_rate_limit"):
            bits, pkts = buckets(ingress, backend.ingress != "policer")
            if backend.ingress == "policer":
                path.append(stage(f"meter:{dst}", lambda: Stage("policer", dst, bits, pkts, overhead)))
            else:
                def make_shaper():
                    limit_packets, limit_bits = backend.shaper_limits(
                        bits or TokenBucket(1.0, 1.0), config.shaper_queue_packets, config.tbf_latency_ms)
                    if bits is None:
                        limit_packets, limit_bits = config.shaper_queue_packets, math.inf
                    return Stage("shaper", dst, bits, pkts, overhead, queue_packets=limit_packets,
                                 queue_bits=limit_bits, drop_oversized=backend.drops_oversized)
                path.append(stage(f"shape:{dst}", make_shaper))
        paths.append(path)
    return Layout(stages, paths, arrive_at, dscps)


def guarantee_bucket(min_bps: float) -> TokenBucket:
    """A minimum's bucket: about 10 ms (and at least two full packets) deep — a rate, not a burst."""
    return TokenBucket(min_bps, max(min_bps * 0.01, 2 * GUARANTEE_PACKET_BITS))


__all__ = ["Stage", "Layout", "build_layout", "guarantee_bucket", "guarantee_of", "min_kbps"]
