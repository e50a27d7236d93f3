"""``run_file``: load, provision into a fresh embedded plane, simulate the traffic, check the intents."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .analysis_adapter import Analyser, QueryError
from .endpoints import Endpoints
from .intents import ERROR, FAIL, XPASS, Checker, Result
from .loader import ScenarioError, Source, load
from .provision import Provisioned, embedded_plane, provision
from .references import LINK_NAME
from .schema import Scenario

Progress = Callable[[str, float], None]
COUNTED = ("networks", "subnets", "ports", "routers", "floatingips", "security_groups", "security_group_rules",
           "qos_policies", "address_groups")


@dataclass
class ScenarioRun:
    """Everything one file's run found."""

    file: str
    name: str
    results: list[Result] = field(default_factory=list)
    simulation: dict | None = None
    timings: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)  # id → readable name (traces)

    @property
    def failed(self) -> bool:
        return any(r.status in (FAIL, ERROR) for r in self.results)

    def as_dict(self) -> dict:
        intents = []
        for result in self.results:
            item = result.as_dict()
            if result.counterexample and result.counterexample.get("answer"):
                item["counterexample"] = {**result.counterexample, "names": self._names(result.counterexample["answer"])}
            intents.append(item)
        return {"file": self.file, "name": self.name, "passed": not self.failed, "intents": intents,
                "simulation": self.simulation, "timings_s": self.timings, "resources": self.counts}

    def _names(self, answer: dict) -> dict:
        """The readable name of every id the trace shows (nodes and rules)."""
        hops = list(answer.get("hops", [])) + list((answer.get("return") or {}).get("hops", []))
        ids = {str(h.get("node", "")).partition(":")[2] for h in hops} | {h.get("rule_id") for h in hops}
        return {i: self.labels[i] for i in ids if i in self.labels}


def build(path: Path | str, text: str | None = None) -> tuple[Scenario, Source, Provisioned]:
    """Load and provision one file into a fresh embedded plane (``ScenarioError`` if it is bad)."""
    scenario, source = load(path, text)
    plane, ids = embedded_plane()
    return scenario, source, provision(scenario, source, plane, ids=ids)


def run_file(path: Path | str, progress: Progress | None = None, traffic: bool = True) -> ScenarioRun:
    """Run one scenario file. Raises ``ScenarioError`` for a bad scenario (nothing is kept)."""
    note = progress or (lambda stage, fraction: None)
    timings = {}
    start = time.perf_counter()
    note("loading", 0.0)
    scenario, source = load(path)
    timings["load"] = time.perf_counter() - start
    note("provisioning", 0.0)
    t = time.perf_counter()
    plane, ids = embedded_plane()
    provisioned = provision(scenario, source, plane, ids=ids, progress=lambda f: note("provisioning", f))
    timings["provision"] = time.perf_counter() - t
    t = time.perf_counter()
    analyser = Analyser(plane)
    timings["compile"] = time.perf_counter() - t
    endpoints = Endpoints(provisioned)
    run = ScenarioRun(str(path), scenario.name or Path(path).stem, timings=timings,
                      counts={t: len(plane.store.table(t)) for t in COUNTED},
                      labels=_labels(provisioned))
    if traffic and scenario.traffic and scenario.traffic.flows:
        t = time.perf_counter()
        note("simulating", 0.0)
        run.simulation = simulate(scenario, source, analyser, endpoints, provisioned,
                                  lambda f: note("simulating", f))
        timings["simulate"] = time.perf_counter() - t
    t = time.perf_counter()
    total = max(1, len(scenario.expect))
    position = [0]
    checker = Checker(analyser, endpoints, run.simulation,
                      lambda fraction: note("checking intents", (position[0] + fraction) / total))
    for i, intent in enumerate(scenario.expect):
        position[0] = i
        note("checking intents", i / total)
        run.results.append(checker.check(intent))
    note("checking intents", 1.0)
    timings["intents"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    return run


def simulate(scenario: Scenario, source: Source, analyser: Analyser, endpoints: Endpoints,
             provisioned: Provisioned, progress: Callable[[float], None]) -> dict:
    """Run the ``traffic:`` flows; each flow's ends must select exactly one endpoint."""
    traffic = scenario.traffic
    flows, problems, named = [], [], {}
    for i, flow in enumerate(traffic.flows):
        ends = []
        for key, selector in (("from", flow.from_), ("to", flow.to)):
            found = endpoints.select(selector)
            if len(found) != 1:
                problems.append(source.problem(("traffic", "flows", i, key),
                                               f"a traffic flow's end must select one endpoint, not {len(found)}"))
            ends.append(found[0] if found else None)
        if None in ends:
            continue
        query = {"source": endpoints.entering(*ends), "destination": endpoints.toward(*ends)}
        request = {"name": flow.name, **query, "protocol": flow.protocol, "rate_kbps": flow.rate_kbps,
                   "packet_size": flow.packet_size, "pattern": flow.pattern, "dscp": flow.dscp, "start_s": flow.start_s}
        if flow.destination_port is not None:
            request["destination_port"] = flow.destination_port
        if flow.pattern == "onoff":
            request["burst"] = {k: v for k, v in (("on_ms", flow.on_ms), ("off_ms", flow.off_ms)) if v is not None}
        flows.append(request)
        named[flow.name] = (query | {"protocol": flow.protocol}
                            | ({"destination_port": flow.destination_port} if flow.destination_port else {}),
                            ends[0].label, ends[1].label)
    if problems:
        raise ScenarioError(problems)
    request = {"flows": flows, "duration_s": traffic.duration_s, "seed": traffic.seed,
               "links": {_link_key(k, provisioned): v.model_dump(exclude_none=True) for k, v in scenario.links.items()}}
    try:
        result = analyser.simulate(request, progress)
    except QueryError as exc:
        raise ScenarioError([source.problem(("traffic",), f"the simulator refused it: {exc.message}")]) from None
    for flow in result["flows"]:
        if flow["name"] in named:
            flow["query"], flow["from_label"], flow["to_label"] = named[flow["name"]]
    return result


def _link_key(key: str, provisioned: Provisioned) -> str:
    """``uplink:edge/out`` → ``uplink:<router id>/out`` (kinds pass through)."""
    match = LINK_NAME.match(key)
    if match is None:
        return key
    kind = "port" if match["kind"] == "port" else "router"
    return f"{match['kind']}:{provisioned.id_of(kind, match['name'])}{match['suffix'] or ''}"


def _labels(provisioned: Provisioned) -> dict:
    """Readable names of every id a trace may show (rules described by what they allow)."""
    labels = dict(provisioned.names)
    store = provisioned.plane.store
    groups = store.table("security_groups")
    for rid, rule in store.table("security_group_rules").items():
        group = groups.get(rule["security_group_id"], {})
        remote = rule.get("remote_ip_prefix") or (
            f"group {groups.get(rule['remote_group_id'], {}).get('name', '?')}" if rule.get("remote_group_id") else "any")
        if rule.get("remote_address_group_id"):
            named = store.get("address_groups", rule["remote_address_group_id"]) or {}
            remote = f"address group {named.get('name') or '?'}"
        ports = ""
        if rule.get("port_range_min") is not None:
            lo, hi = rule["port_range_min"], rule["port_range_max"]
            ports = f"/{lo}" + (f"-{hi}" if hi not in (None, lo) else "")
        labels[rid] = (f"{group.get('name', '?')}: {rule['direction']} {rule['ethertype']} "
                       f"{rule.get('protocol') or 'any'}{ports} {'from' if rule['direction'] == 'ingress' else 'to'} {remote}")
    for kind, table in (("router", "routers"), ("network", "networks"), ("port", "ports")):
        for rid, record in store.table(table).items():
            labels.setdefault(rid, f"{kind} {record.get('name') or record.get('device_owner') or rid[:8]}")
    return labels


__all__ = ["run_file", "build", "simulate", "ScenarioRun", "XPASS"]
