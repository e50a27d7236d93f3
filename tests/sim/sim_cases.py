"""Small helpers: the base topology with QoS policies, and a request runner."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from topologies import base

from xloudnet.analysis.capacity import run_capacity
from xloudnet.dataplane import compile_tables


def tables_with_qos(ports: dict | None = None, networks: dict | None = None, policies: dict | None = None,
                    edit=None):
    """``base()`` with ``ports``/``networks`` (id → policy id) and ``policies`` (id → rules)."""
    t = base()
    if edit:
        edit(t)
    for pid, policy in (ports or {}).items():
        t.ports[pid]["qos_policy_id"] = policy
    for nid, policy in (networks or {}).items():
        t.networks[nid]["qos_policy_id"] = policy
    records = {pid: {"id": pid, "rules": rules, "shared": False, "is_default": False}
               for pid, rules in (policies or {}).items()}
    return compile_tables(replace(t.snapshot(), qos_policies=MappingProxyType(records)))


def flow(src, dst, rate_kbps, protocol="tcp", port=80, **extra) -> dict:
    def end(v):
        return v if isinstance(v, dict) else {"port_id": v}
    return {"source": end(src), "destination": end(dst), "protocol": protocol,
            "destination_port": port, "rate_kbps": rate_kbps, **extra}


def run(tables, flows: list, duration_s: float, **extra) -> dict:
    return run_capacity(tables, {"flows": flows, "duration_s": duration_s, **extra})
