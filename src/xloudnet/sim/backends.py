"""Which agent's semantics a run follows: Open vSwitch, Linux bridge (tc) or OVN.

Neutron hands the same ``bandwidth_limit`` rule to different agents, and they do not build the
same thing. What each one does with a port's rule (see docs/simulation.md, "Backends"):

=========== ============================================ =============================================
backend     egress (from the VM)                         ingress (to the VM)
=========== ============================================ =============================================
ovs         policer on the port (ingress policing):      shaper: an HTB queue on the port, rate
            rate kbit = 1000 bit, burst kbit = 1024 bit  ``max_kbps``·1000, burst ·1000 bits, tail
                                                         drop at ``txqueuelen`` (1000 packets)
linuxbridge policer (tc police, the same command OVS     shaper: tc tbf, rate and burst in 1024-bit
            runs): rate ·1000, burst ·1024 bits          kbits, burst at least rate/HZ; queue bounded
                                                         by its latency: rate·latency + burst bytes;
                                                         a frame above the burst is always dropped
ovn         meter with a drop band: rate ·1000,          meter with a drop band (a policer too)
            burst ·1000 bits
=========== ============================================ =============================================

Every backend meters Ethernet frames: a 1500-byte IP packet counts 1514 bytes. Each limit applies
to the port's aggregate — every flow the port sends (egress) or receives (ingress) shares one
bucket and one queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .bucket import TokenBucket

ETHERNET_HEADER_BYTES = 14
KERNEL_HZ = 250          # the tbf burst floor rate/HZ (Neutron reads the host's HZ; 250 is common)
TBF_LATENCY_MS = 50.0    # Neutron's Linux-bridge agent's tbf latency
TXQUEUELEN = 1000        # a tap's default queue length (HTB's leaf queue)
DEFAULT_BURST_RATIO = 0.8  # burst 0 / unset → 80 % of the rate, as Neutron does


@dataclass(frozen=True)
class Backend:
    """How one agent turns a rule into buckets and queues (units in bits)."""

    name: str
    rate_bits_per_kbit: float          # the rate's kbit
    burst_bits_per_kbit: float         # the burst's kbit
    ingress: str                       # "htb" | "tbf" | "policer"
    ingress_rate_bits_per_kbit: float
    ingress_burst_bits_per_kbit: float

    def frame_bits(self, ip_bytes: int) -> int:
        """What the meter counts for one IP packet: the Ethernet frame."""
        return (int(ip_bytes) + ETHERNET_HEADER_BYTES) * 8

    def policer_bucket(self, max_kbps: float, max_burst_kbps: float | None) -> TokenBucket:
        burst = max_burst_kbps or DEFAULT_BURST_RATIO * max_kbps
        return TokenBucket(max_kbps * self.rate_bits_per_kbit, burst * self.burst_bits_per_kbit)

    def shaper_bucket(self, max_kbps: float, max_burst_kbps: float | None) -> TokenBucket:
        burst = max_burst_kbps or DEFAULT_BURST_RATIO * max_kbps
        if self.ingress == "tbf":
            burst = max(burst, max_kbps / KERNEL_HZ)  # Neutron's floor: rate / HZ
        return TokenBucket(max_kbps * self.ingress_rate_bits_per_kbit, burst * self.ingress_burst_bits_per_kbit)

    def shaper_limits(self, bucket: TokenBucket, queue_packets: int, latency_ms: float) -> tuple[float, float]:
        """(packets, bits) the shaper's queue holds: HTB counts packets (txqueuelen); tbf counts
        bytes, ``rate·latency + burst`` as tc computes its limit."""
        if self.ingress == "tbf":
            return math.inf, math.floor(bucket.rate * latency_ms / 1000.0 / 8 + bucket.depth / 8) * 8.0
        return float(queue_packets), math.inf

    @property
    def drops_oversized(self) -> bool:
        """tbf drops a frame bigger than its burst; HTB sends it anyway (the bucket is made one
        frame deep so that the queue drains)."""
        return self.ingress == "tbf"


BACKENDS = {
    "ovs": Backend("ovs", 1000.0, 1024.0, "htb", 1000.0, 1000.0),
    "linuxbridge": Backend("linuxbridge", 1000.0, 1024.0, "tbf", 1024.0, 1024.0),
    "ovn": Backend("ovn", 1000.0, 1000.0, "policer", 1000.0, 1000.0),
}
DEFAULT_BACKEND = "ovs"

__all__ = ["Backend", "BACKENDS", "DEFAULT_BACKEND", "ETHERNET_HEADER_BYTES", "TBF_LATENCY_MS", "TXQUEUELEN"]
