"""The fixed vocabulary of verdicts and trace steps (DESIGN.md, "Traces")."""

from __future__ import annotations

from enum import Enum


class Disposition(str, Enum):
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


REACHABLE = frozenset({Disposition.ACCEPTED, Disposition.EXITS_NETWORK})


class Stage(str, Enum):
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


class Action(str, Enum):
    PERMIT = "PERMIT"
    DENY = "DENY"
    FORWARD = "FORWARD"
    TRANSLATE = "TRANSLATE"
    DELIVER = "DELIVER"
    DROP = "DROP"
