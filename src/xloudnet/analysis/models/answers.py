"""The answers: what each analysis call returns (the HTTP response bodies), with ``.table()``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from rich.table import Table

from .common import Answer, describe

HIDDEN_NOTE = "ids of what the caller may not see read 'hidden'"


class Packet(Answer):
    """A concrete packet: addresses, protocol number, ports / ICMP type and code (null: none)."""

    ethertype: Literal["IPv4", "IPv6"]
    source_ip: str
    destination_ip: str
    protocol: int | None = None
    source_port: int | None = None
    destination_port: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None


class Route(Answer):
    destination: str
    nexthop: str | None = None


class Translation(Answer):
    type: str
    from_: str = Field(alias="from")
    to: str
    from_port: int | None = None  # port forwarding: the destination port before and after
    to_port: int | None = None

    def describe(self) -> str:
        ports = f" (port {self.from_port} → {self.to_port})" if self.from_port is not None else ""
        return f"{self.type} {self.from_} → {self.to}{ports}"


class QosRuleApplied(Answer):
    rule_id: str | None = None


class QosApplied(Answer):
    """The QoS policy acting on a port in one direction (``hidden`` ids and DSCP mark when the
    caller may not see the policy)."""

    policy_id: str
    dscp_mark: int | Literal["hidden"] | None = None
    bandwidth_limit: QosRuleApplied | None = None
    packet_rate_limit: QosRuleApplied | None = None
    minimum_bandwidth: QosRuleApplied | None = None


class Hop(Answer):
    """One step of a trace: where (``port:ID``, ``router:ID``, ``network:ID``, ``external``),
    which stage, what happened, and what decided it."""

    node: str
    stage: str
    action: str
    rule_id: str | None = None
    route: Route | None = None
    translation: Translation | None = None
    conntrack: str | None = None
    reason: str | None = None
    qos: QosApplied | None = None
    # "address scopes differ": the scope the packet came in by and the one it would leave into
    address_scopes: dict[str, str | None] | None = None


class ReturnPath(Answer):
    disposition: str
    hops: list[Hop]
    flow: Packet | None = None


class AllowedService(Answer):
    """One protocol of an allowed set: port ranges, ICMP types (every code) and codes per type."""

    protocol: str
    port_ranges: list[list[int]] | None = None
    icmp_types: list[list[int]] | None = None
    icmp_codes: dict[str, list[list[int]]] | None = None


def _hops_table(title: str, hops: list[Hop]) -> Table:
    table = Table(title=title)
    for column in ("#", "node", "stage", "action", "detail"):
        table.add_column(column)
    for i, hop in enumerate(hops, 1):
        detail = [f"rule {hop.rule_id}" if hop.rule_id else "",
                  f"route {hop.route.destination} via {hop.route.nexthop or 'connected'}" if hop.route else "",
                  hop.translation.describe() if hop.translation else "",
                  hop.conntrack or "", hop.reason or "",
                  f"qos {hop.qos.policy_id}" if hop.qos else ""]
        table.add_row(str(i), hop.node, hop.stage, hop.action, " ".join(d for d in detail if d))
    return table


class ReachAnswer(Answer):
    """One flow's verdict, its explained trace, the reply's path, and (when the question left the
    service open) the exact allowed set."""

    disposition: str
    reachable: bool
    flow: Packet
    hops: list[Hop]
    return_: ReturnPath | None = Field(default=None, alias="return")
    delivered_to: str | None = None
    delivered_flow: Packet | None = None
    allowed: list[AllowedService] | None = None

    def table(self) -> Table:
        verdict = "reachable" if self.reachable else "not reachable"
        return _hops_table(f"{self.disposition} ({verdict}): {self.flow.source_ip} → {self.flow.destination_ip}",
                           self.hops)


class MatrixAnswer(Answer):
    """Verdicts of every pair, rows by source; ids are port ids or the addresses named."""

    sources: list[str]
    destinations: list[str]
    reachable: list[list[bool]]
    dispositions: list[list[str]]

    def json_body(self) -> dict:
        # Already plain JSON data (lists of str / bool): no second pass over a million cells.
        return {**self.__dict__, **(self.__pydantic_extra__ or {})}

    def table(self) -> Table:
        table = Table(title="reachability matrix (rows: sources)")
        table.add_column("source")
        for dst in self.destinations:
            table.add_column(dst[:8])
        for src, row in zip(self.sources, self.dispositions):
            table.add_row(src[:8], *row)
        return table


class FlowChange(Answer):
    """A flow whose verdict flipped: its ends, family, protocol with ranges, before and after."""

    source: dict[str, Any]
    destination: dict[str, Any]
    ethertype: Literal["IPv4", "IPv6"]
    protocol: str
    port_ranges: list[list[int]] | None = None
    icmp_types: list[list[int]] | None = None
    icmp_codes: dict[str, list[list[int]]] | None = None
    before: str
    after: str


class Evaluated(Answer):
    boxes: int
    pairs: int
    services: int
    flows: int


class WhatIfAnswer(Answer):
    newly_allowed: list[FlowChange]
    newly_blocked: list[FlowChange]
    changes_applied: int
    evaluated: Evaluated | None = None

    def table(self) -> Table:
        table = Table(title=f"what-if: {self.changes_applied} change(s) applied")
        for column in ("change", "source", "destination", "service", "before", "after"):
            table.add_column(column)
        for label, items in (("newly allowed", self.newly_allowed), ("newly blocked", self.newly_blocked)):
            for item in items:
                service = item.protocol + (f" {item.port_ranges}" if item.port_ranges else "")
                table.add_row(label, describe(item.source), describe(item.destination), service, item.before,
                              item.after)
        return table


class MatchingRule(Answer):
    rule_id: str
    security_group_id: str
    security_group_name: str | None = None
    direction: str | None = None
    ethertype: str | None = None
    protocol: str | int | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    remote_address_group_id: str | None = None


class SGTestAnswer(Answer):
    verdict: Literal["PERMIT", "DENY"]
    port_id: str
    direction: Literal["ingress", "egress"]
    matching_rules: list[MatchingRule]
    port_security_enabled: bool
    reason: str

    def table(self) -> Table:
        table = Table(title=f"{self.verdict}: {self.direction} at port {self.port_id} ({self.reason})")
        for column in ("rule", "group", "protocol", "ports", "remote"):
            table.add_column(column)
        for rule in self.matching_rules:
            ports = "-" if rule.port_range_min is None else f"{rule.port_range_min}-{rule.port_range_max}"
            table.add_row(rule.rule_id, rule.security_group_name or rule.security_group_id,
                          str(rule.protocol or "any"), ports, rule.remote_ip_prefix or rule.remote_group_id
                          or (f"address group {rule.remote_address_group_id}" if rule.remote_address_group_id else "any"))
        return table


class Finding(Answer):
    kind: Literal["shadowed", "redundant", "over_broad", "empty_remote_group", "empty_address_group", "unused_group"]
    severity: str
    security_group_id: str
    rule_id: str | None = None
    message: str
    related: list[str] = []


class LintAnswer(Answer):
    findings: list[Finding]
    summary: dict[str, int]

    def table(self) -> Table:
        table = Table(title="security-group lint")
        for column in ("kind", "severity", "group", "rule", "message"):
            table.add_column(column)
        for f in self.findings:
            table.add_row(f.kind, f.severity, f.security_group_id, f.rule_id or "-", f.message)
        return table


class SimulatedFlowResult(Answer):
    """One flow of a simulation: what was asked, its path and QoS, and what happened."""

    index: int
    name: str
    disposition: str
    path: list[str]
    qos: dict[str, QosApplied | None]
    offered: dict[str, float]
    delivered: dict[str, float]
    loss: dict[str, Any]
    latency_ms: dict[str, Any] | None = None
    dscp_seen: dict[str, int]


class SimulationResult(Answer):
    duration_s: float
    flows: list[SimulatedFlowResult]
    packets: dict[str, int]
    loss_by_reason: dict[str, int]
    rule_hits: dict[str, int]
    links: dict[str, dict[str, Any]]
    fairness: dict[str, float | None]
    series: dict[str, Any]
    wall_s: float
    seed: int

    def table(self) -> Table:
        table = Table(title=f"simulation: {self.duration_s} s, seed {self.seed}")
        for column in ("flow", "disposition", "offered kbps", "delivered kbps", "loss", "p99 ms"):
            table.add_column(column)
        for f in self.flows:
            table.add_row(f.name, f.disposition, f"{f.offered.get('kbps', 0):.0f}",
                          f"{f.delivered.get('kbps', 0):.0f}", f"{f.loss.get('ratio', 0):.2%}",
                          describe((f.latency_ms or {}).get("p99")))
        return table


class QosWhatIfSide(Answer):
    """One flow in one state of a QoS what-if."""

    disposition: str
    delivered_kbps: float
    loss_ratio: float
    p99_ms: float | None = None


class QosWhatIfRow(Answer):
    """One flow before and after the changes."""

    index: int
    name: str
    before: QosWhatIfSide
    after: QosWhatIfSide
    delivered_kbps_change: float


class QosWhatIfAnswer(Answer):
    """The same simulation before and after a set of changes: one row per flow, and both full
    results (series, links, rule hits) for plots and detail."""

    flows: list[QosWhatIfRow]
    changes_applied: int
    before: SimulationResult
    after: SimulationResult

    def table(self) -> Table:
        table = Table(title=f"QoS what-if ({self.changes_applied} change(s)): before → after, "
                            f"{self.before.duration_s:g} s, seed {self.before.seed}")
        for column in ("flow", "delivered kbps", "change kbps", "loss %", "p99 ms", "disposition"):
            table.add_column(column, justify="left" if column in ("flow", "disposition") else "right")

        def pair(row: QosWhatIfRow, key: str, fmt) -> str:
            a, b = getattr(row.before, key), getattr(row.after, key)
            return f"{'-' if a is None else fmt(a)} → {'-' if b is None else fmt(b)}"
        for row in self.flows:
            table.add_row(row.name, pair(row, "delivered_kbps", lambda v: f"{v:.1f}"),
                          f"{row.delivered_kbps_change:+.1f}", pair(row, "loss_ratio", lambda v: f"{100 * v:.2f}"),
                          pair(row, "p99_ms", lambda v: f"{v:.3f}"), pair(row, "disposition", str))
        return table


class SimulationJob(Answer):
    """A simulation job: ``BUILD`` queued, ``RUNNING``, ``ACTIVE`` done (with ``result``), ``ERROR``,
    ``CANCELLED`` (stopped by a server shutdown)."""

    id: str
    status: Literal["BUILD", "RUNNING", "ACTIVE", "ERROR", "CANCELLED"]
    progress: float
    project_id: str | None = None
    flows: int
    duration_s: float
    created_at: str
    updated_at: str
    error: str | None = None
    changes: int | None = None  # a QoS what-if job: how many changes it applies
    result: SimulationResult | QosWhatIfAnswer | None = None

    def table(self) -> Table:
        table = Table(title=f"simulation {self.id}")
        table.add_column("status")
        table.add_column("progress")
        table.add_row(self.status, f"{self.progress:.0%}")
        return table


class SimulationJobBody(Answer):
    simulation: SimulationJob


class SimulationJobList(Answer):
    simulations: list[SimulationJob]


class Version(Answer):
    id: str
    status: str
    links: list[dict[str, str]]


class Versions(Answer):
    versions: list[Version]


class QuestionEntry(Answer):
    name: str
    method: str
    href: str
    description: str


class QuestionIndex(Answer):
    questions: list[QuestionEntry]


__all__ = ["Packet", "Route", "Translation", "QosApplied", "QosRuleApplied", "Hop", "ReturnPath", "AllowedService",
           "ReachAnswer", "MatrixAnswer", "FlowChange", "Evaluated", "WhatIfAnswer", "MatchingRule", "SGTestAnswer",
           "Finding", "LintAnswer", "SimulatedFlowResult", "SimulationResult", "QosWhatIfSide", "QosWhatIfRow",
           "QosWhatIfAnswer", "SimulationJob", "SimulationJobBody",
           "SimulationJobList", "Version", "Versions", "QuestionEntry", "QuestionIndex"]
