"""Arrivals of one instant, in flow order: what a shared policer or shaper sees when packets of
several flows reach it at exactly the same time.

Which of two simultaneous packets a port's policer takes first decides which one finds the last
tokens, so the order must be part of the model, not of the engine: both engines take a stage's
arrivals of one instant in flow order (lowest flow index first; a flow's own packets in the order
they came). SimPy would otherwise process them in the order their events happened to be created,
which the batched engine cannot know.

``InstantBatch(env, accept)`` is called with each arriving packet; it holds the instant's
arrivals and hands them to ``accept`` after every other event of that instant (``LATE``
priority), sorted by flow.
"""

from __future__ import annotations

LATE = 2  # simpy's URGENT is 0 and NORMAL 1: a LATE event runs after every other event of its instant


def _flow(packet) -> int:
    return packet.flow


class InstantBatch:
    """Collects one instant's packets and passes them to ``accept`` in flow order."""

    __slots__ = ("env", "accept", "batch")

    def __init__(self, env, accept):
        self.env, self.accept = env, accept
        self.batch: list = []

    def __call__(self, packet) -> None:
        if not self.batch:
            event = self.env.event()
            # A triggered event scheduled by hand: simpy's succeed() only schedules at NORMAL.
            event._ok, event._value = True, None
            event.callbacks.append(self._flush)
            self.env.schedule(event, LATE)
        self.batch.append(packet)

    def _flush(self, _event) -> None:
        batch, self.batch = self.batch, []
        if len(batch) > 1:
            batch.sort(key=_flow)  # stable: a flow's own packets keep their order
        for packet in batch:
            self.accept(packet)


__all__ = ["InstantBatch", "LATE"]
