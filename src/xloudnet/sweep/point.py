"""Run one sweep point, anywhere: in this process or in a Dask worker.

``run_point(task)`` builds its own control plane from the point's scenario (ids from a seeded
generator, so every worker builds the same cloud), applies the point's API changes, runs the
simulation or the analysis, and returns a small dict of figures — never the plane, the tables or
the per-packet series (they would cost more to ship back than to recompute).
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..scenarios.loader import ScenarioError, Source
from ..scenarios.schema import Scenario

# Collections of a change's path, and ``*_id`` fields of its body, whose names become ids.
PATH_TABLES = {"ports": "ports", "networks": "networks", "subnets": "subnets", "routers": "routers",
               "security-groups": "security_groups", "security-group-rules": "security_group_rules",
               "floatingips": "floatingips", "policies": "qos_policies"}
BODY_TABLES = {"security_group_id": "security_groups", "remote_group_id": "security_groups",
               "network_id": "networks", "floating_network_id": "networks", "port_id": "ports",
               "router_id": "routers", "subnet_id": "subnets", "qos_policy_id": "qos_policies"}
ACTIONS = frozenset({"add_router_interface", "remove_router_interface", "add_extraroutes", "remove_extraroutes",
                     "tags", "rules", "bandwidth_limit_rules", "dscp_marking_rules", "minimum_bandwidth_rules"})


@dataclass
class PointTask:
    """Everything one point needs (small and picklable)."""

    index: int
    scenario: Scenario
    source: Source
    changes: list[dict]               # [{"project": name | None, "changes": [API changes]}]
    run: str = "simulate"             # simulate | intents | matrix
    matrix: dict | None = None        # {"protocol", "port"} for run == "matrix"
    simulation: dict | None = None    # request keys beyond the scenario's: backend, engine


def seeded_ids(seed: int = 0):
    """An id factory giving the same uuid-shaped ids in the same order in every process."""
    rng = random.Random(seed)
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def project_ids(scenario: Scenario) -> dict[str, str]:
    """Project name → id: the file's id when it gives one, else one derived from the name."""
    from ..scenarios.provision import project_ids as ids_of

    return {name: given or hashlib.sha1(name.encode()).hexdigest()[:32]
            for name, given in ids_of(scenario, lambda: "").items()}


def build_plane(scenario: Scenario, source: Source):
    """``scenario`` provisioned into a new embedded plane with the same ids in every process
    (``ScenarioError`` when the API refuses a resource)."""
    from ..scenarios.provision import embedded_plane, provision

    plane, ids = embedded_plane()
    ids.fallback = seeded_ids()
    return provision(scenario, source, plane, projects=project_ids(scenario), ids=ids)


def run_point(task: PointTask) -> dict:
    """The point's figures: ``{"index", "status": "ok"|"error", "error"?, ...}``."""
    start = time.perf_counter()
    try:
        out = _run(task)
        out["status"] = "ok"
    except ScenarioError as exc:
        out = {"status": "error", "error": "; ".join(str(p) for p in exc.problems)}
    except ChangeFailed as exc:
        out = {"status": "error", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the engine refusing a query, or a bug: this point fails, the sweep goes on
        message = getattr(exc, "message", None) or str(exc)
        kind = "" if type(exc).__name__ == "QueryError" else f"internal error: {type(exc).__name__}: "
        out = {"status": "error", "error": f"{kind}{message}"}
    out["index"] = task.index
    out["wall_s"] = time.perf_counter() - start
    return out


class ChangeFailed(Exception):
    """A point's API change the control plane refused (one line)."""


def _run(task: PointTask) -> dict:
    from ..scenarios.analysis_adapter import Analyser
    from ..scenarios.endpoints import Endpoints
    from ..scenarios.runner import simulate

    provisioned = build_plane(task.scenario, task.source)
    plane = provisioned.plane
    projects = project_ids(task.scenario)
    for group in task.changes:
        project = projects[group.get("project") or task.scenario.default_project]
        provisioned.plane = plane = _changed(plane, project, group["changes"])
    analyser = Analyser(plane)
    if task.run == "matrix":
        return _matrix(analyser, task.matrix or {})
    endpoints = Endpoints(provisioned)
    result: dict[str, Any] = {}
    sim = None
    traffic = task.scenario.traffic
    if traffic and traffic.flows:
        asked = _Asking(analyser, task.simulation) if task.simulation else analyser
        sim = simulate(task.scenario, task.source, asked, endpoints, provisioned, lambda fraction: None)
        result.update(figures(sim))
    if task.run == "intents":
        from ..scenarios.intents import Checker

        checker = Checker(analyser, endpoints, sim)
        outcomes = [checker.check(intent) for intent in task.scenario.expect]
        counts = {}
        for r in outcomes:
            counts[r.status] = counts.get(r.status, 0) + 1
        result["intents"] = counts
        result["failed"] = [r.name for r in outcomes if r.status in ("fail", "error")]
    return result


class _Asking:
    """The analyser, with extra keys (backend, engine) in every simulation request it makes."""

    def __init__(self, analyser, extra: dict):
        self.analyser, self.extra = analyser, extra

    def simulate(self, request: dict, progress=None) -> dict:
        return self.analyser.simulate({**request, **self.extra}, progress)

    def __getattr__(self, name: str):
        return getattr(self.analyser, name)


def figures(sim: dict) -> dict:
    """The figures a sweep keeps of one simulation: per flow and in all."""
    flows = []
    for f in sim["flows"]:
        latency = f.get("latency_ms") or {}
        flows.append({"name": f["name"], "offered_kbps": f["offered"]["kbps"], "delivered_kbps": f["delivered"]["kbps"],
                      "loss": f["loss"]["ratio"], "p99_ms": latency.get("p99"),
                      "offered_packets": f["offered"]["packets"], "lost_packets": f["loss"]["packets"]})
    packets = sim["packets"]
    p99s = [f["p99_ms"] for f in flows if f["p99_ms"] is not None]
    return {"backend": sim.get("backend"), "engine": sim.get("engine"),
            "offered_kbps": sum(f["offered_kbps"] for f in flows),
            "delivered_kbps": sum(f["delivered_kbps"] for f in flows),
            "loss": packets["lost"] / packets["offered"] if packets["offered"] else 0.0,
            "p99_ms": max(p99s) if p99s else None,
            "flows": flows}


def _matrix(analyser, spec: dict) -> dict:
    from ..analysis.matrix import matrix

    query = {"protocol": spec.get("protocol", "tcp")}
    if spec.get("port") is not None:
        query["destination_port"] = spec["port"]
    answer = matrix(analyser.tables, query)
    pairs = len(answer["sources"]) * len(answer["destinations"])
    reachable = sum(map(sum, answer["reachable"]))
    return {"pairs": pairs, "reachable_pairs": reachable}


def _changed(plane, project_id: str, changes: list[dict]):
    """The plane after the changes, made through the API as an admin of ``project_id`` (names
    resolved to ids)."""
    from ..control import errors
    from ..control.changes import ChangeRejected, apply_changes
    from ..control.context import Context

    resolved = [_resolve_change(plane, c) for c in changes]
    try:
        return apply_changes(plane, Context.admin(project_id), resolved).plane
    except ChangeRejected as exc:
        raise ChangeFailed(f"change {exc.index} ({changes[exc.index]['method']} {changes[exc.index]['path']}) "
                           f"refused: {exc.error}") from None
    except errors.NeutronException as exc:
        raise ChangeFailed(f"changes refused: {exc}") from None


def _resolve_change(plane, change: dict) -> dict:
    parts = change["path"].split("/")
    for i in range(1, len(parts)):
        table = PATH_TABLES.get(parts[i - 1])
        if table and parts[i] and parts[i] not in ACTIONS:
            parts[i] = resolve_id(plane, table, parts[i])
    out = {**change, "path": "/".join(parts)}
    body = change.get("body")
    if isinstance(body, dict):
        out["body"] = {key: _fields(plane, value) if isinstance(value, dict) else value for key, value in body.items()}
    return out


def _fields(plane, record: dict) -> dict:
    return {key: resolve_id(plane, BODY_TABLES[key], value) if key in BODY_TABLES and isinstance(value, str) else value
            for key, value in record.items()}


def resolve_id(plane, table: str, ref: str) -> str:
    """An id of ``table``, or the id of the one record named ``ref`` (a device's name for a port)."""
    records = plane.store.table(table)
    if ref in records:
        return ref
    found = [rid for rid, r in records.items() if r.get("name") == ref]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise ChangeFailed(f"{table[:-1].replace('_', ' ')} '{ref}' is ambiguous ({len(found)} have that name)")
    raise ChangeFailed(f"{table[:-1].replace('_', ' ')} '{ref}' is not defined")


__all__ = ["PointTask", "run_point", "build_plane", "resolve_id", "figures", "seeded_ids", "ChangeFailed"]
