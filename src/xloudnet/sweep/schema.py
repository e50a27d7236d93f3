"""The sweep file format, as pydantic models (docs/sweeps.md describes it for users).

A sweep names a base scenario and axes; the Cartesian product of the axes' values is the list of
points, each one simulation (the scenario's ``traffic:``) or analysis run (its ``expect:``
intents, or a reachability matrix) of the base with that point's values applied.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Name = Annotated[str, Field(min_length=1, max_length=255)]
RULE_FIELDS = ("max_kbps", "max_burst_kbps", "min_kbps", "max_kpps", "max_burst_kpps", "min_kpps", "dscp_mark")
MAX_POINTS = 10_000  # a typo in an axis must not schedule a million runs


class Strict(BaseModel):
    """Unknown keys are errors (with their line), never silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class QosRuleAxis(Strict):
    """One field of a QoS rule (of every listed policy) takes each value in turn."""

    policy: Name | list[Name] = Field(description="the policy (or policies) whose rule changes")
    type: Literal["bandwidth_limit", "minimum_bandwidth", "dscp_marking", "packet_rate_limit",
                  "minimum_packet_rate"] = "bandwidth_limit"
    direction: Literal["ingress", "egress", "any"] | None = Field(
        None, description="which rule of that type, when the policy has one per direction")
    field: Literal[RULE_FIELDS] = "max_kbps"  # type: ignore[valid-type]
    values: list[Annotated[int, Field(ge=0)]] = Field(min_length=1)

    @property
    def policies(self) -> list[str]:
        return [self.policy] if isinstance(self.policy, str) else list(self.policy)


class PolicyAxis(Strict):
    """Ports / servers of the base get each QoS policy in turn (``null``: no policy)."""

    ports: list[Name] = Field(min_length=1, description="port or server names")
    values: list[Name | None] = Field(min_length=1)


class OfferedAxis(Strict):
    """The offered load (kbit/s) of every listed flow takes each value in turn."""

    flows: list[Name] | None = Field(None, description="traffic flow names (default: every flow)")
    rate_kbps: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)


class FlowsAxis(Strict):
    """The number of traffic flows: the first N flows of the base's ``traffic:``."""

    count: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)


class LinkAxis(Strict):
    """A simulator link setting (as in the scenario's ``links:``) takes each value in turn."""

    link: Name = Field(description="'uplink:ROUTER/out', 'port:NAME/tx', or a kind: port, router, router_uplink")
    field: Literal["capacity_kbps", "delay_ms", "queue_packets"] = "capacity_kbps"
    values: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)


class Change(Strict):
    """A Neutron API call as in ``xloudnet whatif``; names may stand for ids in the path and in
    ``*_id`` fields of the body."""

    method: Literal["POST", "PUT", "DELETE"]
    path: Annotated[str, Field(pattern=r"^/v2\.0/")]
    body: dict[str, Any] | None = None


class ChangeSet(Strict):
    label: Name
    project: Name | None = Field(None, description="the project the changes are made in, as its admin "
                                                   "(default: the base's default_project)")
    changes: list[Change] = []


class ChangesAxis(Strict):
    """Each value is a list of API changes applied, as admin, after provisioning the base."""

    values: list[ChangeSet] = Field(min_length=1)


BACKENDS = ("ovs", "linuxbridge", "ovn")


class BackendAxis(Strict):
    """Whose QoS semantics the simulation follows: Open vSwitch, Linux bridge (tc) or OVN."""

    values: list[Literal[BACKENDS]] = Field(min_length=1)  # type: ignore[valid-type]


AXIS_KINDS = ("qos_rule", "policy", "offered", "flows", "link", "changes", "backend")


class Axis(Strict):
    name: Name | None = Field(None, description="the axis's label in tables and plots (default: its kind)")
    qos_rule: QosRuleAxis | None = None
    policy: PolicyAxis | None = None
    offered: OfferedAxis | None = None
    flows: FlowsAxis | None = None
    link: LinkAxis | None = None
    changes: ChangesAxis | None = None
    backend: BackendAxis | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        given = [k for k in AXIS_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"an axis has exactly one of {', '.join(AXIS_KINDS)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in AXIS_KINDS if getattr(self, k) is not None)

    @property
    def spec(self):
        return getattr(self, self.kind)

    @property
    def label(self) -> str:
        return self.name or self.kind

    def values(self) -> list:
        """The axis's values (what each point gets)."""
        spec = self.spec
        if self.kind == "offered":
            return list(spec.rate_kbps)
        if self.kind == "flows":
            return list(spec.count)
        return list(spec.values)


class InlineBase(Strict):
    scenario: dict[str, Any] = Field(description="a whole scenario, written inline")


class MatrixRun(Strict):
    """``run: matrix``: count the reachable (source, destination) port pairs for one service."""

    protocol: str | int = "tcp"
    port: int | None = Field(None, ge=0, le=65535, description="destination port (tcp, udp, ...)")


class Plot(Strict):
    x: Name | None = Field(None, description="the axis on the x axis (default: offered load, else the first numeric axis)")
    series: list[Name] | None = Field(None, description="axes whose values make the series (default: the others)")


class SweepFile(Strict):
    """One sweep file."""

    name: Name | None = None
    description: str = ""
    base: Name | InlineBase = Field(description="a scenario file (relative to this file), or {scenario: {...}}")
    run: Literal["simulate", "intents", "matrix"] = Field(
        "simulate", description="simulate: the traffic; intents: traffic then every expect: intent; "
                                "matrix: reachable port pairs for `matrix:`")
    matrix: MatrixRun | None = None
    duration_s: float | None = Field(None, gt=0, le=600, description="overrides traffic.duration_s")
    seed: int | None = Field(None, ge=0, description="overrides traffic.seed")
    backend: Literal[BACKENDS] | None = Field(None, description="whose QoS semantics (default ovs)")  # type: ignore[valid-type]
    engine: Literal["auto", "batched", "reference"] | None = Field(
        None, description="the simulator's engine (default auto: batched unless the run needs the per-packet one)")
    axes: list[Axis] = Field(min_length=1)
    plot: Plot | None = None

    @model_validator(mode="after")
    def _fits(self):
        labels = [a.label for a in self.axes]
        if len(set(labels)) != len(labels):
            raise ValueError("two axes have the same name; give one a `name:`")
        points = 1
        for axis in self.axes:
            points *= len(axis.values())
        if points > MAX_POINTS:
            raise ValueError(f"the axes make {points:,} points; at most {MAX_POINTS:,}")
        if self.run == "matrix" and self.matrix is None:
            self.matrix = MatrixRun()
        return self


def json_schema() -> dict:
    schema = SweepFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", "xloudnet sweep")
    return schema


__all__ = ["SweepFile", "Axis", "QosRuleAxis", "PolicyAxis", "OfferedAxis", "FlowsAxis", "LinkAxis",
           "ChangesAxis", "ChangeSet", "BackendAxis", "BACKENDS", "Change", "InlineBase", "MatrixRun", "Plot", "AXIS_KINDS", "MAX_POINTS",
           "json_schema"]
