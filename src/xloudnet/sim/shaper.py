"""Shaper: token buckets in front of a bounded tail-drop FIFO (Neutron ingress QoS, to the VM).

Packets wait in the queue until the buckets hold their tokens, then leave in order; a packet
arriving at a full queue is lost as ``QUEUE_OVERFLOW``. One simpy process serves the queue and
sleeps exactly until the head packet conforms (no ticking). The bandwidth bucket is at least one
packet deep (tc tbf requires burst ≥ MTU), so a shaper always drains.
"""

from __future__ import annotations

from collections import deque

from ..model.dispositions import Disposition
from .packet import Packet, forward


class Shaper:
    """Stage: ``limit`` packets of queue, then the buckets, then the next stage."""

    def __init__(self, env, lose, limit: int, bits_bucket=None, packets_bucket=None):
        self.env = env
        self.lose = lose
        self.limit = limit
        self.bits_bucket = bits_bucket
        self.packets_bucket = packets_bucket
        self.queue: deque = deque()
        self.dropped = 0
        self.max_queue = 0
        self._wake = None
        env.process(self._serve())

    def __call__(self, packet: Packet) -> None:
        if len(self.queue) >= self.limit:
            self.dropped += 1
            self.lose(packet, Disposition.QUEUE_OVERFLOW.value)
            return
        self.queue.append(packet)
        self.max_queue = max(self.max_queue, len(self.queue))
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _wait(self, packet: Packet) -> float:
        now = self.env.now
        wait = 0.0
        if self.bits_bucket is not None:
            if packet.bits > self.bits_bucket.depth:  # never conforms otherwise: one packet deep
                self.bits_bucket.depth = float(packet.bits)
            wait = self.bits_bucket.delay(now, packet.bits)
        if self.packets_bucket is not None:
            wait = max(wait, self.packets_bucket.delay(now, 1))
        return wait

    def _serve(self):
        env = self.env
        while True:
            if not self.queue:
                self._wake = env.event()
                yield self._wake
            packet = self.queue[0]
            wait = self._wait(packet)
            while wait > 0:  # float rounding can leave a hair of tokens missing: re-check
                yield env.timeout(wait)
                wait = self._wait(packet)
                if wait < 1e-12:
                    break
            self.queue.popleft()
            if self.bits_bucket is not None:
                self.bits_bucket.take(env.now, packet.bits)
            if self.packets_bucket is not None:
                self.packets_bucket.take(env.now, 1)
            forward(packet)
