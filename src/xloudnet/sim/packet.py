"""A simulated packet and how it moves along its path.

A packet carries its own path: a list of stages (callables taking the packet), and the index of
the stage it is at. ``forward(packet)`` hands it to the next stage. Every stage ends by either
calling ``forward`` (at once, or later from a simpy callback) or by reporting the packet lost.
"""

from __future__ import annotations


class Packet:
    """One packet of one flow: size in bits, DSCP, the time it was sent."""

    __slots__ = ("flow", "bits", "dscp", "sent", "path", "hop", "seq")

    def __init__(self, flow: int, bits: int, dscp: int, sent: float, path: list, seq: int = 0):
        self.flow = flow
        self.bits = bits
        self.dscp = dscp
        self.sent = sent
        self.path = path
        self.hop = -1
        self.seq = seq  # TCP-like flows: the segment's number


def forward(packet: Packet) -> None:
    """Give the packet to the next stage of its path."""
    packet.hop += 1
    packet.path[packet.hop](packet)
