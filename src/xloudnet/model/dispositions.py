"""The fixed vocabulary of verdicts and trace steps (see docs/semantics.md, "Traces").

``StrEnum`` members are their strings: answers serialise to the same JSON as plain literals,
and ``Disposition.ACCEPTED == "ACCEPTED"`` holds for callers that compare with text.
"""

from __future__ import annotations

from enum import StrEnum


class Disposition(StrEnum):
    """What finally happened to a packet."""

    ACCEPTED = "ACCEPTED"
    EXITS_NETWORK = "EXITS_NETWORK"
    DENIED_EGRESS = "DENIED_EGRESS"
    DENIED_INGRESS = "DENIED_INGRESS"
    SPOOFED = "SPOOFED"
    NO_ROUTE = "NO_ROUTE"
    NEIGHBOR_UNREACHABLE = "NEIGHBOR_UNREACHABLE"
    LOOP = "LOOP"
    ADMIN_DOWN = "ADMIN_DOWN"
    # Only the packet simulator produces these two.
    POLICED = "POLICED"
    QUEUE_OVERFLOW = "QUEUE_OVERFLOW"


# The one definition of "reachable": delivered, or left the cloud through the upstream.
REACHABLE: frozenset[Disposition] = frozenset({Disposition.ACCEPTED, Disposition.EXITS_NETWORK})


class Stage(StrEnum):
    """Where on the path a hop was recorded, in path order."""

    ENTER = "enter"
    ADMIN_STATE = "admin-state"
    ANTI_SPOOFING = "anti-spoofing"
    EGRESS_SECURITY_GROUP = "egress-security-group"
    QOS_EGRESS = "qos-egress"
    FORWARD = "forward"
    ROUTE = "route"
    DNAT = "dnat"
    SNAT = "snat"
    ROUTER_LOCAL = "router-local"
    INGRESS_SECURITY_GROUP = "ingress-security-group"
    QOS_INGRESS = "qos-ingress"
    DELIVER = "deliver"
    EXIT = "exit"


class Action(StrEnum):
    """What the hop did to the packet."""

    PERMIT = "PERMIT"
    DENY = "DENY"
    FORWARD = "FORWARD"
    TRANSLATE = "TRANSLATE"
    DELIVER = "DELIVER"
    DROP = "DROP"


class Translation(StrEnum):
    """The ``type`` of a hop's ``translation``."""

    DNAT = "DNAT"
    SNAT = "SNAT"


# The node a hop happened at is ``"<kind>:<id>"`` or ``EXTERNAL``.
EXTERNAL = "external"
