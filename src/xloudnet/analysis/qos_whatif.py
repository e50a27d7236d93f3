"""QoS what-if: the same traffic before and after a change — "raise this policy to 200 Mbit/s",
"move these ports to that policy" — as a per-flow table of throughput, loss and p99.

``qos_whatif(before_tables, after_tables, request, progress=None)`` runs the simulation request
on both compiled states with the same seed (so only the change differs) and pairs the flows. The
caller produces the after-state: a what-if fork of the control plane (``control.changes``)
compiled like any other state.
"""

from __future__ import annotations

from ..dataplane import FlowTables
from .capacity import parse_request, plan_flows, simulate


def qos_whatif(before_tables: FlowTables, after_tables: FlowTables, request: dict, progress=None) -> dict:
    """``{"before": result, "after": result, "flows": [row...]}``; each row names the flow and
    gives before/after delivered kbit/s, loss ratio, p99 latency (ms) and disposition."""
    config, seed = parse_request(request)
    results = []
    for step, tables in enumerate((before_tables, after_tables)):
        plans = plan_flows(tables, config)
        report = None if progress is None else (lambda f, s=step: progress((s + f) / 2))
        results.append(simulate(tables, config, seed, plans, report))
    before, after = results
    rows = []
    for a, b in zip(before["flows"], after["flows"]):
        row = {"index": a["index"], "name": a["name"]}
        for key, result in (("before", a), ("after", b)):
            latency = result["latency_ms"]
            row[key] = {"disposition": result["disposition"], "delivered_kbps": result["delivered"]["kbps"],
                        "loss_ratio": result["loss"]["ratio"], "p99_ms": latency["p99"] if latency else None}
        row["delivered_kbps_change"] = row["after"]["delivered_kbps"] - row["before"]["delivered_kbps"]
        rows.append(row)
    return {"before": before, "after": after, "flows": rows}


def whatif_table(answer: dict):
    """A rich table of the before/after rows (for the terminal)."""
    from rich.table import Table

    table = Table(title="QoS what-if: before → after")
    for column in ("flow", "delivered kbps", "loss %", "p99 ms", "disposition"):
        table.add_column(column, justify="left" if column in ("flow", "disposition") else "right")

    def pair(row, key, fmt):
        a, b = row["before"][key], row["after"][key]
        show = (lambda v: "-" if v is None else fmt(v))
        return f"{show(a)} → {show(b)}"
    for row in answer["flows"]:
        table.add_row(row["name"], pair(row, "delivered_kbps", lambda v: f"{v:.1f}"),
                      pair(row, "loss_ratio", lambda v: f"{100 * v:.2f}"), pair(row, "p99_ms", lambda v: f"{v:.3f}"),
                      pair(row, "disposition", str))
    return table


__all__ = ["qos_whatif", "whatif_table"]
