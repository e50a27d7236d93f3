"""Policer: token buckets that drop what does not conform (Neutron egress QoS, from the VM).

A packet conforms when every bucket holds its tokens (bits for a bandwidth bucket, one for a
packet-rate bucket); then each bucket is charged. A non-conforming packet charges nothing and is
lost as ``POLICED``. A packet bigger than a bandwidth bucket's depth never conforms, as in tc.
"""

from __future__ import annotations

from ..model.dispositions import Disposition
from .packet import Packet, forward


class Policer:
    """Stage that forwards conforming packets and reports the rest to ``lose(packet, reason)``."""

    def __init__(self, env, lose, bits_bucket=None, packets_bucket=None):
        self.env = env
        self.lose = lose
        self.bits_bucket = bits_bucket
        self.packets_bucket = packets_bucket
        self.conformed = 0
        self.dropped = 0

    def __call__(self, packet: Packet) -> None:
        now = self.env.now
        bits, pkts = self.bits_bucket, self.packets_bucket
        if (bits is None or bits.conforms(now, packet.bits)) and \
                (pkts is None or pkts.conforms(now, 1)):
            if bits is not None:
                bits.take(now, packet.bits)
            if pkts is not None:
                pkts.take(now, 1)
            self.conformed += 1
            forward(packet)
        else:
            self.dropped += 1
            self.lose(packet, Disposition.POLICED.value)
