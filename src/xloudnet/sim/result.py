"""The result dict of a run (docs/simulation.md "Result"), the same for both engines."""

from __future__ import annotations

from .config import SimConfig
from .metrics import RunMetrics, jain
from .stages import Layout


def build_result(config: SimConfig, plans: list, layout: Layout, metrics: RunMetrics, rule_hits: dict,
                 stage_stats: list, wall: float) -> dict:
    """``stage_stats[i]``: links → ``Link.stats``; policers → {"conformed", "dropped"} (flow →
    packets); shapers → {"dropped" (flow → packets), "max_queue", "queued"}."""
    flows, totals, delivered_kbps, normalised = [], {}, [], []
    for index, (flow, plan) in enumerate(zip(config.flows, plans)):
        summary = metrics.summary(index, max(config.duration_s - flow.start_s, 0.0), layout.dscp[index])
        entry = {"index": index, "name": flow.name or f"flow-{index}", "source": flow.source,
                 "destination": flow.destination, "protocol": flow.protocol,
                 "destination_port": flow.destination_port, "pattern": flow.pattern,
                 "rate_kbps": flow.rate_kbps, "packet_size": flow.packet_size,
                 "disposition": plan.disposition, "path": [lid for lid, _ in plan.links],
                 "qos": {"egress": plan.egress_qos, "ingress": plan.ingress_qos}, **summary}
        for s in layout.paths[index] or ():
            spec, stats = layout.stages[s], stage_stats[s]
            if spec.kind == "policer":
                key = "policer" if s == (layout.paths[index] or [None])[0] else "ingress_policer"
                entry[key] = {"conformed": int(stats["conformed"].get(index, 0)),
                              "dropped": int(stats["dropped"].get(index, 0)), "port_flows": _users(layout, s)}
            elif spec.kind == "shaper":
                entry["shaper"] = {"dropped": int(stats["dropped"].get(index, 0)), "max_queue": int(stats["max_queue"]),
                                   "queued": int(stats["queued"]), "port_flows": _users(layout, s)}
        for reason, count in summary["loss"]["by_reason"].items():
            totals[reason] = totals.get(reason, 0) + count
        if plan.passes:
            delivered_kbps.append(summary["delivered"]["kbps"])
            offered = summary["offered"]["kbps"]
            normalised.append(summary["delivered"]["kbps"] / offered if offered else 0.0)
        flows.append(entry)
    offered = int(metrics.offered_packets.sum())
    delivered = int(metrics.delivered_packets.sum())
    lost = sum(totals.values())
    links = {spec.key: stage_stats[i] for i, spec in enumerate(layout.stages) if spec.kind == "link"}
    return {
        "duration_s": config.duration_s,
        "backend": config.backend,
        "flows": flows,
        "packets": {"offered": offered, "delivered": delivered, "lost": lost, "in_flight": offered - delivered - lost},
        "loss_by_reason": dict(sorted(totals.items())),
        "rule_hits": dict(sorted(rule_hits.items())),
        "links": dict(sorted(links.items())),
        "fairness": {"jain_delivered": jain(delivered_kbps), "jain_normalised": jain(normalised)},
        "series": {"bin_s": config.duration_s / config.bins,
                   "t": [(i + 0.5) * config.duration_s / config.bins for i in range(config.bins)]},
        "wall_s": wall,
    }


def _users(layout: Layout, stage: int) -> int:
    """How many flows share the stage (a port's policer or shaper)."""
    return sum(1 for p in layout.paths if p and stage in p)


__all__ = ["build_result"]
