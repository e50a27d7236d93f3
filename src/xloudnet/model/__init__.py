"""Shared vocabulary: protocol numbers, service keys, dispositions, trace stages. Standard
library only."""

from . import services
from .dispositions import EXTERNAL, REACHABLE, Action, Disposition, Stage, Translation
from .protocols import (
    CANONICAL_NAMES,
    ICMP_PROTOCOLS,
    IPV6_ONLY_PROTOCOLS,
    PORT_PROTOCOLS,
    PROTOCOL_NUMBERS,
    Protocol,
    protocol_name,
    protocol_number,
)

__all__ = [
    "PROTOCOL_NUMBERS",
    "CANONICAL_NAMES",
    "PORT_PROTOCOLS",
    "ICMP_PROTOCOLS",
    "IPV6_ONLY_PROTOCOLS",
    "Protocol",
    "protocol_number",
    "protocol_name",
    "services",
    "Disposition",
    "Stage",
    "Action",
    "Translation",
    "EXTERNAL",
    "REACHABLE",
]
