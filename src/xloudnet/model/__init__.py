"""Shared vocabulary: protocol numbers, address helpers, dispositions. Standard library only."""

from .protocols import PROTOCOL_NUMBERS, PORT_PROTOCOLS, ICMP_PROTOCOLS, protocol_number
from .dispositions import Disposition, Stage, Action, REACHABLE

__all__ = [
    "PROTOCOL_NUMBERS",
    "PORT_PROTOCOLS",
    "ICMP_PROTOCOLS",
    "protocol_number",
    "Disposition",
    "Stage",
    "Action",
    "REACHABLE",
]
