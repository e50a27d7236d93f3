"""Shaper: token buckets in front of a bounded tail-drop FIFO (Neutron ingress QoS, to the VM).

One shaper stands for one port: every flow delivered to the port shares its FIFO and buckets.
Packets wait until the buckets hold their tokens, then leave in order. The FIFO is bounded in
packets (an HTB leaf: ``txqueuelen``) or in bytes (tc tbf: ``rate·latency + burst``); a packet
that does not fit is lost as ``QUEUE_OVERFLOW``. The buckets count Ethernet frames. A frame
bigger than the bucket is dropped when ``drop_oversized`` (tbf) — otherwise the bucket is made one
frame deep so that the FIFO always drains (HTB sends it).

Each accepted packet's release time is computed when it is accepted (the FIFO's order and the
buckets fix it), and one simpy timeout delivers it then. Packets arriving at the same instant join
the FIFO in flow order (``instant``).
"""

from __future__ import annotations

import math
from collections import deque

from ..model.dispositions import Disposition
from .instant import InstantBatch
from .packet import Packet, forward


class Shaper:
    """Stage: a bounded FIFO, then the buckets, then the next stage."""

    def __init__(self, env, lose, limit: float, bits_bucket=None, packets_bucket=None, *,
                 limit_bits: float = math.inf, overhead_bits: int = 0, drop_oversized: bool = False):
        self.env = env
        self.lose = lose
        self.limit = limit
        self.limit_bits = limit_bits
        self.bits_bucket = bits_bucket
        self.packets_bucket = packets_bucket
        self.overhead = overhead_bits
        self.drop_oversized = drop_oversized
        self.queue: deque = deque()        # (release time, frame bits) of the packets held
        self.backlog_bits = 0
        self.free_at = 0.0                 # when the last accepted packet leaves
        self.dropped: dict[int, int] = {}
        self.max_queue = 0
        self._arrivals = InstantBatch(env, self.accept)

    def _drain(self, now: float) -> None:
        queue = self.queue
        while queue and queue[0][0] <= now:
            self.backlog_bits -= queue.popleft()[1]

    def __call__(self, packet: Packet) -> None:
        self._arrivals(packet)

    def accept(self, packet: Packet) -> None:
        """Queue (or drop) one packet now (after the instant's earlier arrivals in flow order)."""
        now = self.env.now
        self._drain(now)
        frame = packet.bits + self.overhead
        bits = self.bits_bucket
        if bits is not None and frame > bits.depth:
            if self.drop_oversized:
                self._drop(packet)
                return
            bits.depth = float(frame)
        if len(self.queue) >= self.limit or self.backlog_bits + frame > self.limit_bits:
            self._drop(packet)
            return
        start = max(now, self.free_at)
        wait = 0.0
        if bits is not None:
            wait = bits.delay(start, frame)
        if self.packets_bucket is not None:
            wait = max(wait, self.packets_bucket.delay(start, 1))
        release = start + wait if wait > 0 else start
        if bits is not None:
            bits.take(release, frame)
        if self.packets_bucket is not None:
            self.packets_bucket.take(release, 1)
        self.free_at = release
        self.queue.append((release, frame))
        self.backlog_bits += frame
        self.max_queue = max(self.max_queue, len(self.queue))
        if release > now:
            self.env.timeout(release - now, packet).callbacks.append(_release)
        else:
            forward(packet)

    def queued(self) -> int:
        self._drain(self.env.now)
        return sum(1 for r, _ in self.queue if r > self.env.now) if self.queue else 0

    def _drop(self, packet: Packet) -> None:
        self.dropped[packet.flow] = self.dropped.get(packet.flow, 0) + 1
        self.lose(packet, Disposition.QUEUE_OVERFLOW.value)


def _release(event) -> None:
    forward(event.value)
