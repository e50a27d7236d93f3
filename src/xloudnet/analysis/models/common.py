"""Shared field types and base classes of the analysis questions and answers.

Questions are strict: unknown keys are refused, numbers are numbers (``"22"`` is not a port,
``true`` is not a count, ``Infinity`` is not a rate), strings and lists have upper bounds, ids
and addresses are checked before anything is looked up — so a hostile body is a 400 before it
reaches the engine and never becomes a cache key. Answers are open (``extra="allow"``): the
fields documented here are typed, and a field the engine adds later passes through.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_ID = 64            # Neutron ids are 36-character UUIDs; room for test and scenario ids
MAX_NAME = 255         # Neutron's name length
MAX_ENDPOINTS = 5000   # per list of sources / destinations
MAX_CHANGES = 1000     # what-if changes per question (control.changes applies the same bound)

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9_.:\-]+$")]
"""A resource id: 1-64 characters of letters, digits and ``_ . : -``."""


def _ip(text: str) -> str:
    ipaddress.ip_address(text)  # ValueError → a validation error naming the field
    return text


IPAddress = Annotated[str, StringConstraints(min_length=2, max_length=45), AfterValidator(_ip)]
"""An IPv4 or IPv6 address as text (45 characters is the longest IPv6 form)."""

Port = Annotated[int, Field(ge=0, le=65535, strict=True)]
IcmpValue = Annotated[int, Field(ge=0, le=255, strict=True)]
ProtocolNumber = Annotated[int, Field(ge=0, le=255, strict=True)]
ProtocolName = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]
Protocol = ProtocolName | ProtocolNumber
"""``tcp``, ``udp``, ``icmp``, ``ipv6-icmp``, another IANA name, or a number 0-255."""
Ethertype = Literal["IPv4", "IPv6"]


class Question(BaseModel):
    """Base of every question: strict types, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def query(self) -> dict:
        """The engine's JSON shape: the fields given, nothing else."""
        return self.model_dump(exclude_none=True)


class Answer(BaseModel):
    """Base of every answer: typed fields, extra engine fields kept; ``.table()`` for terminals."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    def model_dump(self, **options) -> dict:
        """As pydantic's, but by default only the fields the answer carries (a hop without a
        rule has no ``rule_id`` key, as over HTTP)."""
        options.setdefault("exclude_unset", True)
        return super().model_dump(**options)

    def json_body(self) -> dict:
        """The answer as JSON-ready data, exactly the fields the engine produced."""
        return self.model_dump(mode="json", by_alias=True)

    def table(self):  # pragma: no cover - every concrete answer overrides it
        raise NotImplementedError


class Endpoint(Question):
    """One end of a flow: a port (``port_id``, optionally sending from one of its
    ``ip_address``es), or an address (``ip_address``: a fixed, floating or outside address;
    ``network_id``: the external network an outside host enters on)."""

    port_id: Id | None = None
    ip_address: IPAddress | None = None
    network_id: Id | None = None

    @model_validator(mode="after")
    def _names_something(self):
        if self.port_id is None and self.ip_address is None:
            raise ValueError("an endpoint needs a port_id or an ip_address")
        return self


class FlowFields(Question):
    """The service part of a question; left out, the answer covers every service."""

    protocol: Protocol | None = None
    destination_port: Port | None = None
    source_port: Port | None = None
    icmp_type: IcmpValue | None = None
    icmp_code: IcmpValue | None = None
    ethertype: Ethertype | None = None


def describe(value: Any) -> str:
    """A short text for a table cell."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        if "port_id" in value or "ip_address" in value:
            return str(value.get("port_id") or value.get("ip_address"))
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


__all__ = ["Id", "IPAddress", "Port", "IcmpValue", "Protocol", "Ethertype", "Question", "Answer", "Endpoint",
           "FlowFields", "MAX_ID", "MAX_NAME", "MAX_ENDPOINTS", "MAX_CHANGES", "describe"]
