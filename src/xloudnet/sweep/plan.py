"""Read a sweep file and expand it into points.

Every problem — YAML, schema, the base scenario's own problems, axes naming things the base does
not have — is reported at once as ``FILE:LINE: PATH: MESSAGE`` (the scenario loader's format).
A point is the base scenario with one value of every axis applied: scenario-level values
(rules, policies, offered load, flow count, links) are applied to the scenario model here;
``changes`` are API calls the worker makes after provisioning.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..scenarios.loader import Problem, ScenarioError, Source, load, read_source, schema_problems
from ..scenarios.references import LINK_NAME, Index, Unresolved
from ..scenarios.schema import Scenario
from .point import PointTask
from .schema import Axis, SweepFile


@dataclass
class Point:
    """One run of the sweep: what it is called, and everything a worker needs to run it."""

    index: int
    labels: dict[str, str]                    # axis label → the value as shown
    values: dict[str, Any]                    # axis label → the value (numbers stay numbers)
    scenario: Scenario
    changes: list[dict] = field(default_factory=list)  # [{"project": name | None, "changes": [...]}]
    simulation: dict = field(default_factory=dict)     # request keys beyond the scenario's: backend, engine


@dataclass
class Sweep:
    """A checked sweep file, its base scenario and its points."""

    file: str
    spec: SweepFile
    source: Source                            # the base scenario's (for its line numbers)
    base: Scenario
    points: list[Point]

    @property
    def name(self) -> str:
        return self.spec.name or Path(self.file).stem

    def tasks(self) -> list[PointTask]:
        """What each point's worker gets (small and picklable)."""
        matrix = self.spec.matrix.model_dump() if self.spec.matrix else None
        return [PointTask(p.index, p.scenario, self.source, p.changes, self.spec.run, matrix, p.simulation or None)
                for p in self.points]


def load_sweep(path: Path | str, text: str | None = None) -> Sweep:
    """Read, validate and expand one sweep file (``ScenarioError`` lists every problem)."""
    file = str(path)
    source = read_source(path, text)
    try:
        spec = SweepFile.model_validate(source.data)
    except ValidationError as exc:
        raise ScenarioError(schema_problems(source, exc)) from None
    base, base_source = _base(spec, source, Path(file))
    problems = _check_axes(spec, source, base)
    if problems:
        raise ScenarioError(problems)
    return Sweep(file, spec, base_source, base, expand(spec, base))


def _base(spec: SweepFile, source: Source, here: Path) -> tuple[Scenario, Source]:
    """The base scenario: a file relative to the sweep file, or inline (its lines are the sweep
    file's)."""
    if isinstance(spec.base, str):
        path = Path(spec.base)
        if not path.is_absolute():
            path = here.parent / path
        if not path.exists():
            raise ScenarioError([source.problem(("base",), f"scenario file {spec.base!r} not found "
                                                           f"(relative to {here.parent or '.'})")])
        return load(path)
    try:
        return load_inline(Source(source.file, source.data["base"]["scenario"]))
    except ScenarioError as exc:
        raise ScenarioError([Problem(p.file, p.line, f"base.scenario.{p.path}" if p.path else "base.scenario",
                                     p.message) for p in exc.problems]) from None


def load_inline(source: Source) -> tuple[Scenario, Source]:
    """A scenario written inside another file (``source.data``: its mapping, with lines)."""
    from ..scenarios.references import check_references

    try:
        scenario = Scenario.model_validate(source.data)
    except ValidationError as exc:
        raise ScenarioError(schema_problems(source, exc)) from None
    problems = check_references(scenario, source)
    if problems:
        raise ScenarioError(problems)
    return scenario, source


def _check_axes(spec: SweepFile, source: Source, base: Scenario) -> list[Problem]:
    """Axes and run settings that name what the base does not have."""
    index = Index(base)
    flows = [f.name for f in base.traffic.flows] if base.traffic else []
    problems = []

    def bad(loc: tuple, message: str) -> None:
        problems.append(source.problem(loc, message))

    if spec.run == "simulate" and not flows:
        bad(("run",), "run: simulate needs traffic flows in the base scenario")
    if spec.run == "intents" and not base.expect:
        bad(("run",), "run: intents needs expect: intents in the base scenario")
    for i, axis in enumerate(spec.axes):
        loc, a = ("axes", i, axis.kind), axis.spec
        if axis.kind == "qos_rule":
            for name in a.policies:
                policy = _resolve(index, "QoS policy", name, loc + ("policy",), bad)
                if policy is not None and _rule(base.qos_policies[policy[1]], a.type, a.direction) is None:
                    bad(loc + ("type",), f"QoS policy '{name}' has no {a.type} rule"
                                         + (f" for direction {a.direction}" if a.direction else ""))
        elif axis.kind == "policy":
            for name in a.ports:
                _resolve(index, "port", name, loc + ("ports",), bad)
            for k, value in enumerate(a.values):
                if value is not None:
                    _resolve(index, "QoS policy", value, loc + ("values", k), bad)
        elif axis.kind == "offered":
            if not flows:
                bad(loc, "the base scenario has no traffic flows")
            for k, name in enumerate(a.flows or []):
                if name not in flows:
                    bad(loc + ("flows", k), f"flow '{name}' is not in the base's traffic")
        elif axis.kind == "flows":
            for k, count in enumerate(a.count):
                if count > len(flows):
                    bad(loc + ("count", k), f"the base scenario has {len(flows)} traffic flow(s), not {count}")
        elif axis.kind == "changes":
            projects = {base.default_project, *(p.name for p in base.projects)}
            projects |= {item.project for section in ("networks", "ports", "servers", "security_groups", "routers",
                                                       "qos_policies", "subnets") for item in getattr(base, section)
                         if item.project}
            for k, change_set in enumerate(a.values):
                if change_set.project is not None and change_set.project not in projects:
                    bad(loc + ("values", k, "project"), f"project '{change_set.project}' is not in the base scenario")
        elif axis.kind == "link":
            match = LINK_NAME.match(a.link)
            if match is not None:
                kind = "port" if match["kind"] == "port" else "router"
                _resolve(index, kind, match["name"], loc + ("link",), bad)
    if spec.plot:
        labels = [a.label for a in spec.axes]
        for key, names in (("x", [spec.plot.x] if spec.plot.x else []), ("series", spec.plot.series or [])):
            for name in names:
                if name not in labels:
                    bad(("plot", key), f"'{name}' is not an axis (axes: {', '.join(labels)})")
    return problems


def _resolve(index: Index, kind: str, name: str, loc: tuple, bad) -> tuple[str, int] | None:
    try:
        return index.resolve(kind, name)
    except Unresolved as exc:
        bad(loc, str(exc) or f"{kind} '{name}' is not defined")
        return None


def _rule(policy, rule_type: str, direction: str | None):
    for rule in policy.rules:
        if rule.type == rule_type and (direction is None or rule.direction == direction):
            return rule
    return None


def expand(spec: SweepFile, base: Scenario) -> list[Point]:
    """The Cartesian product of the axes, first axis slowest, each applied to a copy of ``base``."""
    index = Index(base)
    points = []
    for number, combo in enumerate(itertools.product(*(range(len(a.values())) for a in spec.axes))):
        scenario = base.model_copy(deep=True)
        _overrides(spec, scenario)
        labels, values, changes = {}, {}, []
        simulation = {k: v for k, v in (("backend", spec.backend), ("engine", spec.engine)) if v is not None}
        for axis, k in zip(spec.axes, combo):
            value = axis.values()[k]
            labels[axis.label], values[axis.label] = shown(axis, value), _plain(axis, value)
            if axis.kind == "backend":
                simulation["backend"] = value
            changes += _apply(axis, value, scenario, index)
        points.append(Point(number, labels, values, scenario, changes, simulation))
    return points


def _overrides(spec: SweepFile, scenario: Scenario) -> None:
    if scenario.traffic is not None:
        if spec.duration_s is not None:
            scenario.traffic.duration_s = spec.duration_s
        if spec.seed is not None:
            scenario.traffic.seed = spec.seed


def shown(axis: Axis, value) -> str:
    """An axis value as tables, CSV and plots show it."""
    if axis.kind == "changes":
        return value.label
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plain(axis: Axis, value):
    return value.label if axis.kind == "changes" else value


def _apply(axis: Axis, value, scenario: Scenario, index: Index) -> list[dict]:
    """Put one axis value into ``scenario``; the API changes to make after provisioning."""
    a = axis.spec
    if axis.kind == "qos_rule":
        for name in a.policies:
            section, position = index.resolve("QoS policy", name)
            setattr(_rule(scenario.qos_policies[position], a.type, a.direction), a.field, value)
    elif axis.kind == "policy":
        for name in a.ports:
            section, position = index.resolve("port", name)
            getattr(scenario, section)[position].qos_policy = value
    elif axis.kind == "offered":
        for flow in scenario.traffic.flows:
            if a.flows is None or flow.name in a.flows:
                flow.rate_kbps = value
    elif axis.kind == "flows":
        scenario.traffic.flows = scenario.traffic.flows[:value]
    elif axis.kind == "link":
        from ..scenarios.schema import Link

        current = scenario.links.get(a.link) or Link()
        scenario.links = {**scenario.links, a.link: current.model_copy(
            update={a.field: int(value) if a.field == "queue_packets" else value})}
    elif axis.kind == "changes":
        if value.changes:
            return [{"project": value.project, "changes": [c.model_dump(exclude_none=True) for c in value.changes]}]
    return []


__all__ = ["Point", "Sweep", "load_sweep", "load_inline", "expand", "shown"]
