"""A closed-loop TCP-like source (``pattern: tcp``): what a bulk transfer gets, not what it offers.

Reno-style congestion control counted in packets (each ``packet_size`` bytes — the segment the
goodput counts):

- **slow start** from ``INITIAL_WINDOW`` packets: +1 packet per ACK until ``ssthresh``;
- **congestion avoidance**: +1/cwnd per ACK (one packet per round trip);
- **on loss** (a packet dropped anywhere — policer, queue, lossy link): the sender learns of it
  when the duplicate ACKs would arrive, one smoothed RTT after the packet was sent; it halves the
  window (``ssthresh = max(cwnd/2, 2)``, ``cwnd = ssthresh``) at most once per window of data
  (NewReno's recovery point) and sends the segment again as a new packet;
- ACKs come back over the path's propagation delays (``reverse_s``: the sum of the path's link
  delays — ACKs are small and are not queued), so the RTT is the forward path's delays and queues
  plus the return propagation;
- sending is window-limited and paced at ``rate_kbps`` at most (the application's or NIC's cap);
  no retransmission timeouts (every loss is reported), no delayed ACKs.

The source lives in the per-packet engine only: its sending depends on every ACK.
"""

from __future__ import annotations

import math

INITIAL_WINDOW = 10.0


class TcpSource:
    """One TCP-like flow: call ``acked(sent)`` at the receiver, ``lost(sent, seq)`` on a drop."""

    def __init__(self, env, emit, interval: float, start: float, stop: float, reverse_s: float):
        self.env, self.emit = env, emit
        self.interval, self.start, self.stop = interval, start, stop
        self.reverse = reverse_s
        self.cwnd, self.ssthresh = INITIAL_WINDOW, math.inf
        self.inflight = 0
        self.seq = 0
        self.recover = -1
        self.srtt = None
        self.reductions = 0
        self._wake = None
        env.process(self._run())

    def _run(self):
        env = self.env
        if self.start > env.now:
            yield env.timeout(self.start - env.now)
        while env.now < self.stop:
            if self.inflight < int(self.cwnd):
                self.inflight += 1
                self.emit(self.seq)
                self.seq += 1
                yield env.timeout(self.interval)
            else:
                self._wake = env.event()
                yield self._wake

    def _poke(self) -> None:
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def delivered(self, sent: float) -> None:
        """The receiver got a packet sent at ``sent``: its ACK reaches the sender ``reverse_s`` later."""
        self.env.timeout(self.reverse, sent).callbacks.append(self._ack)

    def _ack(self, event) -> None:
        rtt = self.env.now - event.value
        self.srtt = rtt if self.srtt is None else 0.875 * self.srtt + 0.125 * rtt
        self.inflight -= 1
        self.cwnd += 1.0 if self.cwnd < self.ssthresh else 1.0 / self.cwnd
        self._poke()

    def lost(self, sent: float, seq: int) -> None:
        """A packet sent at ``sent`` was dropped: the duplicate ACKs tell the sender an RTT later."""
        rtt = self.srtt if self.srtt is not None else 2 * self.reverse
        when = max(0.0, sent + rtt - self.env.now)
        self.env.timeout(when, seq).callbacks.append(self._loss)

    def _loss(self, event) -> None:
        self.inflight -= 1
        if event.value > self.recover:
            self.ssthresh = max(self.cwnd / 2.0, 2.0)
            self.cwnd = self.ssthresh
            self.recover = self.seq - 1
            self.reductions += 1
        self._poke()


__all__ = ["TcpSource", "INITIAL_WINDOW"]
