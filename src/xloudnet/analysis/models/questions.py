"""The questions: what each analysis call takes (the HTTP request bodies, the Python arguments)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from .common import MAX_CHANGES, MAX_ENDPOINTS, MAX_NAME, Endpoint, Ethertype, FlowFields, IcmpValue, Id, \
    IPAddress, Port, Protocol, Question

Seconds = Annotated[float, Field(gt=0, le=600, allow_inf_nan=False, strict=True)]


class ReachQuestion(FlowFields):
    """One flow: can ``source`` reach ``destination``, and why (not)? Without a protocol (or
    without the destination port of a port protocol) the answer adds the exact allowed set."""

    source: Endpoint
    destination: Endpoint


class MatrixQuestion(FlowFields):
    """Every (source, destination) pair for one service; ends default to every endpoint port the
    caller may see. The protocol (and the destination port of a port protocol) are required."""

    sources: Annotated[list[Endpoint], Field(max_length=MAX_ENDPOINTS)] | None = None
    destinations: Annotated[list[Endpoint], Field(max_length=MAX_ENDPOINTS)] | None = None


class Change(Question):
    """One networking API call, its path relative to the networking endpoint
    (``/v2.0/security-group-rules/ID``), applied to a fork exactly as the live API would."""

    method: Literal["POST", "PUT", "DELETE"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    body: dict[str, Any] | None = None


class WhatIfQuestion(MatrixQuestion):
    """Apply ``changes`` to a fork and report the flows whose verdict flipped (live state untouched)."""

    changes: Annotated[list[Change], Field(min_length=1, max_length=MAX_CHANGES)]


class SGTestQuestion(Question):
    """One flow against one port's security groups; ``remote_ip_address`` is the far end (the
    source for ingress, the destination for egress)."""

    port_id: Id
    direction: Literal["ingress", "egress"]
    protocol: Protocol | None = None
    destination_port: Port | None = None
    icmp_type: IcmpValue | None = None
    icmp_code: IcmpValue | None = None
    ethertype: Ethertype | None = None
    remote_ip_address: IPAddress


class LintQuestion(Question):
    """Rule hygiene of one project's groups (``project_id``: admin only; default the caller's)."""

    project_id: Id | None = None


class Burst(Question):
    on_ms: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False, strict=True)] = 100.0
    off_ms: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False, strict=True)] = 100.0


class SimulatedFlow(Question):
    """One traffic flow of a simulation: where (as in a reachability question) and how much."""

    source: Endpoint
    destination: Endpoint
    protocol: Protocol
    destination_port: Port | None = None
    rate_kbps: Annotated[float, Field(gt=0, le=100_000_000, allow_inf_nan=False, strict=True)]
    packet_size: Annotated[int, Field(ge=64, le=9216, strict=True)] = 1500
    pattern: Literal["cbr", "poisson", "onoff", "tcp"] = "cbr"
    burst: Burst | None = None
    dscp: Annotated[int, Field(ge=0, le=63, strict=True)] = 0
    start_s: Annotated[float, Field(ge=0, le=600, allow_inf_nan=False, strict=True)] = 0.0
    name: Annotated[str, StringConstraints(max_length=MAX_NAME)] | None = None


class LinkSettings(Question):
    capacity_kbps: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False, strict=True)] | None = None
    delay_ms: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False, strict=True)] | None = None
    queue_packets: Annotated[int, Field(ge=1, le=100_000, strict=True)] | None = None
    loss_ratio: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)] | None = None
    latency_ms: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False, strict=True)] | None = None  # shaper


LinkKey = Annotated[str, StringConstraints(min_length=1, max_length=160)]


class SimulationRequest(Question):
    """A QoS packet simulation: flows, duration, seed, result bins and link settings (by kind
    — ``port``, ``router``, ``router_uplink``, ``shaper`` — or by link id)."""

    flows: Annotated[list[SimulatedFlow], Field(min_length=1, max_length=1000)]
    duration_s: Seconds
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)] = 0
    bins: Annotated[int, Field(ge=1, le=1000, strict=True)] = 50
    links: Annotated[dict[LinkKey, LinkSettings], Field(max_length=256)] | None = None
    backend: Literal["ovs", "linuxbridge", "ovn"] | None = None  # whose QoS semantics (docs/simulation.md)
    engine: Literal["auto", "batched", "reference"] | None = None
    # Given, the job is a QoS what-if: the same traffic before and after these changes.
    changes: Annotated[list[Change], Field(min_length=1, max_length=MAX_CHANGES)] | None = None

    def query(self) -> dict:
        """The simulation engine's request (the changes are applied before, by the caller)."""
        body = super().query()
        body.pop("changes", None)
        return body


class QosWhatIfQuestion(SimulationRequest):
    """A QoS what-if: apply ``changes`` (Neutron API calls, e.g. raise a bandwidth limit, move
    ports to another policy) to a fork as the caller would, then run the same simulation on the
    state before and the state after; the live plane is untouched."""

    changes: Annotated[list[Change], Field(min_length=1, max_length=MAX_CHANGES)]


__all__ = ["ReachQuestion", "MatrixQuestion", "Change", "WhatIfQuestion", "SGTestQuestion", "LintQuestion",
           "Burst", "SimulatedFlow", "LinkSettings", "SimulationRequest", "QosWhatIfQuestion"]
