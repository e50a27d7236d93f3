"""QoS what-if: the same traffic before and after a change — "raise this policy to 200 Mbit/s",
"move these ports to that policy" — as a per-flow table of throughput, loss and p99.

``qos_whatif(before_tables, after_tables, request, progress=None)`` runs the simulation request
on both compiled states with the same seed (so only the change differs) and pairs the flows. The
caller produces the after-state: a what-if fork of the control plane (``control.changes``)
compiled like any other state — ``Session.qos_whatif`` does exactly that, as its caller.

``qos_whatif_steps`` is the same run as a step generator (fractions 0..1 over both runs, then the
answer), so a server runs it in slices or in a child process like any simulation job.
"""

from __future__ import annotations

from ..dataplane import FlowTables, QueryError
from ..sim.config import SimConfig
from ..sim.stepping import drive
from .capacity import parse_request, plan_flows, simulation_steps


def plan_both(before: FlowTables, after: FlowTables, config: SimConfig) -> tuple[list, list]:
    """Each flow's path in both states; a flow the after-state cannot place (say its port was
    deleted by a change) is a ``QueryError`` saying so."""
    plans = plan_flows(before, config)
    try:
        return plans, plan_flows(after, config)
    except QueryError as exc:
        raise QueryError(f"after the changes: {exc.message}", exc.http_status) from None


def qos_whatif_steps(before_tables: FlowTables, after_tables: FlowTables, config: SimConfig, seed: int,
                     before_plans: list, after_plans: list):
    """Yields the fraction done (both runs: 0..0.5 before, 0.5..1 after); returns the raw answer
    ``{"before", "after", "flows": [row...]}``."""
    results = []
    for step, (tables, plans) in enumerate(((before_tables, before_plans), (after_tables, after_plans))):
        run = simulation_steps(tables, config, seed, plans)
        while True:
            try:
                fraction = next(run)
            except StopIteration as done:
                results.append(done.value)
                break
            yield (step + fraction) / 2
    before, after = results
    return {"before": before, "after": after, "flows": pair_flows(before, after)}


def qos_whatif(before_tables: FlowTables, after_tables: FlowTables, request: dict, progress=None) -> dict:
    """``{"before": result, "after": result, "flows": [row...]}``; each row names the flow and
    gives before/after delivered kbit/s, loss ratio, p99 latency (ms) and disposition."""
    config, seed = parse_request(request)
    before_plans, after_plans = plan_both(before_tables, after_tables, config)
    return drive(qos_whatif_steps(before_tables, after_tables, config, seed, before_plans, after_plans), progress)


def pair_flows(before: dict, after: dict) -> list[dict]:
    """One row per flow: its figures in both results, and the change in delivered throughput."""
    rows = []
    for a, b in zip(before["flows"], after["flows"]):
        row = {"index": a["index"], "name": a["name"]}
        for key, result in (("before", a), ("after", b)):
            latency = result["latency_ms"]
            row[key] = {"disposition": result["disposition"], "delivered_kbps": result["delivered"]["kbps"],
                        "loss_ratio": result["loss"]["ratio"], "p99_ms": latency["p99"] if latency else None}
        row["delivered_kbps_change"] = row["after"]["delivered_kbps"] - row["before"]["delivered_kbps"]
        rows.append(row)
    return rows


def whatif_table(answer: dict):
    """A rich table of the before/after rows (for the terminal)."""
    from .models import QosWhatIfAnswer

    return QosWhatIfAnswer.model_validate({"changes_applied": answer.get("changes_applied", 0), **answer}).table()


__all__ = ["qos_whatif", "qos_whatif_steps", "plan_both", "pair_flows", "whatif_table"]
