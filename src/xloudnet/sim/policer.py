"""Policer: token buckets that drop what does not conform (Neutron egress QoS, from the VM; OVN
polices both directions).

One policer stands for one port: every flow the port sends (or, for an OVN ingress meter,
receives) shares its buckets — tc, OVS and OVN all police the interface's aggregate. The buckets
count Ethernet frames (``overhead_bits`` on top of the IP packet's bits). Packets arriving at the
same instant are taken in flow order (``instant``).
"""

from __future__ import annotations

from ..model.dispositions import Disposition
from .instant import InstantBatch
from .packet import Packet, forward


class Policer:
    """Stage: forwards conforming packets and reports the rest to ``lose(packet, reason)``."""

    def __init__(self, env, lose, bits_bucket=None, packets_bucket=None, overhead_bits: int = 0):
        self.env = env
        self.lose = lose
        self.bits_bucket = bits_bucket
        self.packets_bucket = packets_bucket
        self.overhead = overhead_bits
        self.conformed: dict[int, int] = {}
        self.dropped: dict[int, int] = {}
        self._arrivals = InstantBatch(env, self.accept)

    def __call__(self, packet: Packet) -> None:
        self._arrivals(packet)

    def accept(self, packet: Packet) -> None:
        """Police one packet now (after the instant's earlier arrivals in flow order)."""
        now = self.env.now
        bits, pkts = self.bits_bucket, self.packets_bucket
        frame = packet.bits + self.overhead
        if (bits is None or bits.conforms(now, frame)) and (pkts is None or pkts.conforms(now, 1)):
            if bits is not None:
                bits.take(now, frame)
            if pkts is not None:
                pkts.take(now, 1)
            self.conformed[packet.flow] = self.conformed.get(packet.flow, 0) + 1
            forward(packet)
        else:
            self.dropped[packet.flow] = self.dropped.get(packet.flow, 0) + 1
            self.lose(packet, Disposition.POLICED.value)
