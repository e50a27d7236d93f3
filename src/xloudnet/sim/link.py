"""Link: a serialising server with a capacity, a propagation delay and bounded queues.

Each flow crossing a link gets its own FIFO of ``queue_packets`` packets (tail drop:
``QUEUE_OVERFLOW``). The server sends one packet at a time (``bits / capacity`` seconds), then the
packet reaches the next stage ``delay`` seconds later (a simpy timeout callback, no process).

Scheduling, when several flows are backlogged (HTB-like):

1. *guaranteed* — a flow with a ``minimum_bandwidth`` (``min_kbps``) owns a token bucket at that
   rate; while its head packet conforms, the flow is served first (round robin among such flows);
2. *excess* — otherwise capacity is shared by deficit round robin (equal bytes per round) among
   every backlogged flow, guaranteed or not.

So a flow offering at least its minimum gets at least its minimum (when the minimums fit in the
capacity). Packets a guaranteed flow sends in the excess round spend its guaranteed tokens too:
the minimum is a floor, not an addition to its fair share.
"""

from __future__ import annotations

from collections import deque

from ..model.dispositions import Disposition
from .bucket import TokenBucket
from .packet import Packet, forward

QUANTUM_BITS = 1500 * 8  # deficit round robin quantum: one full-size packet per round


class _Class:
    """One flow's queue on a link."""

    __slots__ = ("queue", "guarantee", "deficit", "sent_packets", "sent_bits", "dropped")

    def __init__(self, guarantee: TokenBucket | None):
        self.queue: deque = deque()
        self.guarantee = guarantee
        self.deficit = 0.0
        self.sent_packets = 0
        self.sent_bits = 0
        self.dropped = 0


class Link:
    """Stage: ``capacity_bps`` bits per second, ``delay_s`` propagation, per-flow queues."""

    def __init__(self, env, lose, name: str, capacity_bps: float, delay_s: float, queue_packets: int):
        self.env = env
        self.lose = lose
        self.name = name
        self.capacity = float(capacity_bps)
        self.delay = float(delay_s)
        self.queue_packets = queue_packets
        self.classes: dict[int, _Class] = {}
        self.active: deque = deque()  # backlogged flow ids, in round-robin order
        self.busy_time = 0.0
        self._wake = None
        env.process(self._serve())

    def attach(self, flow: int, min_bps: float | None = None) -> None:
        """Declare a flow crossing this link (with its ``minimum_bandwidth``, if any)."""
        guarantee = None
        if min_bps:
            # A bucket about 10 ms (and at least two packets) deep: the guarantee is a rate, not a burst.
            guarantee = TokenBucket(min_bps, max(min_bps * 0.01, 2 * QUANTUM_BITS))
        self.classes[flow] = _Class(guarantee)

    def __call__(self, packet: Packet) -> None:
        cls = self.classes[packet.flow]
        if len(cls.queue) >= self.queue_packets:
            cls.dropped += 1
            self.lose(packet, Disposition.QUEUE_OVERFLOW.value)
            return
        if not cls.queue:
            self.active.append(packet.flow)
        cls.queue.append(packet)
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _pick(self) -> _Class:
        """The class to serve next (see the module docstring), its head packet then sent."""
        now = self.env.now
        active, classes = self.active, self.classes
        if len(active) == 1:
            cls = classes[active[0]]
            if cls.guarantee is not None:
                self._charge(cls, now)
            return cls
        for _ in range(len(active)):  # 1. guaranteed flows whose bucket conforms
            fid = active[0]
            active.rotate(-1)
            cls = classes[fid]
            if cls.guarantee is not None and cls.guarantee.conforms(now, cls.queue[0].bits):
                self._charge(cls, now)
                return cls
        while True:  # 2. deficit round robin over everyone backlogged
            cls = classes[active[0]]
            if cls.deficit >= cls.queue[0].bits:
                cls.deficit -= cls.queue[0].bits
                if cls.guarantee is not None:
                    self._charge(cls, now)
                return cls
            cls.deficit += QUANTUM_BITS
            active.rotate(-1)

    @staticmethod
    def _charge(cls: _Class, now: float) -> None:
        """A packet sent in the excess round still spends guaranteed tokens (never below 0)."""
        g = cls.guarantee
        g.conforms(now, 0)  # refill to now
        g.tokens = max(0.0, g.tokens - cls.queue[0].bits)

    def _serve(self):
        env = self.env
        while True:
            if not self.active:
                self._wake = env.event()
                yield self._wake
            cls = self._pick()
            packet = cls.queue[0]
            duration = packet.bits / self.capacity
            yield env.timeout(duration)
            cls.queue.popleft()
            if not cls.queue:
                self.active.remove(packet.flow)
                cls.deficit = 0.0
            cls.sent_packets += 1
            cls.sent_bits += packet.bits
            self.busy_time += duration
            if self.delay > 0:
                env.timeout(self.delay, packet).callbacks.append(_arrive)
            else:
                forward(packet)

    def stats(self, duration: float) -> dict:
        sent = sum(c.sent_bits for c in self.classes.values())
        return {"capacity_kbps": self.capacity / 1000.0, "delay_ms": self.delay * 1000.0,
                "queue_packets": self.queue_packets, "flows": len(self.classes),
                "packets": sum(c.sent_packets for c in self.classes.values()),
                "dropped": sum(c.dropped for c in self.classes.values()),
                "utilisation": round(self.busy_time / duration, 6) if duration > 0 else 0.0,
                "delivered_kbps": sent / duration / 1000.0 if duration > 0 else 0.0}


def _arrive(event) -> None:
    forward(event.value)
