"""Link: a serialising server with a capacity, a propagation delay and bounded queues.

Each flow crossing a link gets its own FIFO of ``queue_packets`` packets (tail drop:
``QUEUE_OVERFLOW``). The server sends one packet at a time (``bits / capacity`` seconds), then the
packet reaches the next stage ``delay`` seconds later (a simpy timeout callback, no process).

Scheduling, when several flows are backlogged — max-min fair with floors: a port with a
``minimum_bandwidth`` gets max(minimum, its flows' fair shares) for its flows together, the
others share the rest max-min fairly:

1. *guaranteed* — a port's minimum (``min_kbps``) is one token bucket at that rate (about 10 ms
   deep) shared by every flow of that port crossing the link; while a flow's head packet
   conforms to its port's bucket, it is served first (smallest tag first);
2. *fair* — otherwise start-time fair queueing: every flow's head packet carries a start tag
   (a flow that becomes backlogged starts at the link's virtual time, max(V, its last finish));
   the smallest tag is served (ties: lowest flow index) and its next packet's tag is the
   previous tag plus the packet's bits. V is the tag last served in this pass.

Every packet a flow sends advances its tag and spends its port's guaranteed tokens (never below
0), whichever pass sent it: the minimum is a floor, not an addition to the fair share. So with
10 Mbit/s and two greedy flows, one guaranteed 7: the guaranteed pass gives it 7, the fair pass
always finds the other flow's tag smaller and gives it the remaining 3. Two flows of a port
guaranteed 7 against one other flow: 3.5 each (the port's 7) and 3; guaranteed 5: the fair
shares, 3.33 each.
"""

from __future__ import annotations

from collections import deque

from ..model.dispositions import Disposition
from .bucket import TokenBucket
from .packet import Packet, forward

GUARANTEE_PACKET_BITS = 1500 * 8  # a guarantee's bucket holds at least two such packets


class _Class:
    """One flow's queue on a link."""

    __slots__ = ("queue", "guarantee", "tag", "finish", "sent_packets", "sent_bits", "dropped")

    def __init__(self, guarantee: TokenBucket | None):
        self.queue: deque = deque()
        self.guarantee = guarantee
        self.tag = 0.0      # start tag of the head packet
        self.finish = 0.0   # finish tag of the last packet sent
        self.sent_packets = 0
        self.sent_bits = 0
        self.dropped = 0


class Link:
    """Stage: ``capacity_bps`` bits per second, ``delay_s`` propagation, per-flow queues."""

    def __init__(self, env, lose, name: str, capacity_bps: float, delay_s: float, queue_packets: int,
                 loss_ratio: float = 0.0, rng=None):
        self.env = env
        self.lose = lose
        self.name = name
        self.capacity = float(capacity_bps)
        self.delay = float(delay_s)
        self.queue_packets = queue_packets
        self.loss_ratio, self.rng = loss_ratio, rng
        self.classes: dict[int, _Class] = {}
        self.guarantees: dict = {}    # guarantee key (a port) → its bucket, shared by its flows
        self.active: list = []        # backlogged flow ids
        self.virtual = 0.0
        self.serving, self.busy_until = None, 0.0
        self.busy_time = 0.0
        self._wake = None
        env.process(self._serve())

    def attach(self, flow: int, guarantee: tuple[str, float] | None = None) -> None:
        """Declare a flow crossing this link, with the ``(key, min bit/s)`` of the port
        guarantee it draws on, if any (flows with one key share one bucket)."""
        bucket = None
        if guarantee:
            key, min_bps = guarantee
            bucket = self.guarantees.get(key)
            if bucket is None:
                # About 10 ms (and at least two packets) deep: the guarantee is a rate, not a burst.
                bucket = self.guarantees[key] = TokenBucket(min_bps, max(min_bps * 0.01, 2 * GUARANTEE_PACKET_BITS))
        self.classes[flow] = _Class(bucket)

    def __call__(self, packet: Packet) -> None:
        cls = self.classes[packet.flow]
        if self.loss_ratio and self.rng.random() < self.loss_ratio:
            cls.dropped += 1
            self.lose(packet, Disposition.LINK_LOSS.value)
            return
        # A packet whose transmission ends at this very instant has left, whichever of the two
        # events simpy happens to run first: ties are decided by time, not by event order.
        finishing = 1 if self.serving is cls and self.busy_until <= self.env.now else 0
        if len(cls.queue) - finishing >= self.queue_packets:
            cls.dropped += 1
            self.lose(packet, Disposition.QUEUE_OVERFLOW.value)
            return
        if len(cls.queue) == finishing:
            if not finishing:
                self.active.append(packet.flow)
            cls.tag = max(self.virtual, cls.finish)
        cls.queue.append(packet)
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _pick(self) -> _Class:
        """The class to serve next (see the module docstring); its head packet is then sent."""
        now = self.env.now
        classes = self.classes
        best, best_key = None, None
        for fid in self.active:  # 1. guaranteed flows whose bucket conforms, smallest tag first
            cls = classes[fid]
            if cls.guarantee is not None and cls.guarantee.conforms(now, cls.queue[0].bits):
                key = (cls.tag, fid)
                if best_key is None or key < best_key:
                    best, best_key = cls, key
        if best is None:  # 2. start-time fair queueing over everyone backlogged
            fid = min(self.active, key=lambda f: (classes[f].tag, f))
            best = classes[fid]
            self.virtual = max(self.virtual, best.tag)
        bits = best.queue[0].bits
        if best.guarantee is not None:
            best.guarantee.take(now, bits, floor=0.0)
        best.finish = best.tag + bits
        best.tag = best.finish
        return best

    def _serve(self):
        env = self.env
        while True:
            if not self.active:
                self._wake = env.event()
                yield self._wake
            cls = self._pick()
            packet = cls.queue[0]
            duration = packet.bits / self.capacity
            self.serving, self.busy_until = cls, env.now + duration
            yield env.timeout(duration)
            self.serving = None
            cls.queue.popleft()
            if not cls.queue:
                self.active.remove(packet.flow)
            cls.sent_packets += 1
            cls.sent_bits += packet.bits
            self.busy_time += duration
            if self.delay > 0:
                env.timeout(self.delay, packet).callbacks.append(_arrive)
            else:
                forward(packet)
            if self.active:
                yield env.timeout(0)  # decide after every arrival of this instant, as when idle

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
