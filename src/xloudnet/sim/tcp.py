"""A closed-loop TCP-like source (``pattern: tcp``): what a bulk transfer gets, not what it offers.

Reno-style congestion control counted in packets (each ``packet_size`` bytes — the segment the
goodput counts):

- **slow start** from ``INITIAL_WINDOW`` packets: +1 packet per ACK until ``ssthresh``;
- **congestion avoidance**: +1/cwnd per ACK (one packet per round trip);
- **fast retransmit**: a packet dropped anywhere (policer, queue, lossy link) is noticed when the
  ACKs of ``DUPTHRESH`` later packets have come back (the duplicate ACKs); the window is halved
  (``ssthresh = max(cwnd/2, 2)``, ``cwnd = ssthresh``) at most once per window of data
  (NewReno's recovery point) and the segment is sent again as a new packet;
- **retransmission timeout** (RFC 6298): SRTT / RTTVAR from every ACK (each packet is sent once,
  so every sample is unambiguous — Karn's rule holds by construction), RTO = SRTT + 4·RTTVAR,
  at least ``MIN_RTO_S`` (Linux's 200 ms), at most ``MAX_RTO_S``, ``INITIAL_RTO_S`` before the
  first sample. The timer runs while packets are outstanding and restarts on every ACK. When it
  expires with losses not yet noticed — a whole window lost, nothing left to send duplicate
  ACKs — they are all declared lost, ``ssthresh = max(flight/2, 2)``, ``cwnd = 1`` (slow start
  again) and the RTO doubles (backoff) until an ACK brings a fresh sample. A timeout with nothing
  lost (only a long queue) is recognised as spurious, as F-RTO (RFC 5682) does: the window is
  kept and only the timer backs off;
- ACKs come back over the path's propagation delays (``reverse_s``: the sum of the path's link
  delays — ACKs are small and are not queued), so the RTT is the forward path's delays and queues
  plus the return propagation;
- sending is window-limited and paced at ``rate_kbps`` at most (the application's or NIC's cap);
  no delayed ACKs.

The source lives in the per-packet engine only: its sending depends on every ACK.
"""

from __future__ import annotations

import math

INITIAL_WINDOW = 10.0
DUPTHRESH = 3          # later packets ACKed before a hole counts as a loss (RFC 5681)
INITIAL_RTO_S = 1.0    # RFC 6298 (2.1)
MIN_RTO_S = 0.2        # Linux's TCP_RTO_MIN (RFC 6298 asks 1 s; every stack uses less)
MAX_RTO_S = 60.0       # RFC 6298 (2.5)


class TcpSource:
    """One TCP-like flow: call ``delivered(sent, seq)`` at the receiver, ``lost(sent, seq)`` on a drop."""

    def __init__(self, env, emit, interval: float, start: float, stop: float, reverse_s: float):
        self.env, self.emit = env, emit
        self.interval, self.start, self.stop = interval, start, stop
        self.reverse = reverse_s
        self.cwnd, self.ssthresh = INITIAL_WINDOW, math.inf
        self.inflight = 0
        self.seq = 0
        self.recover = -1
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = INITIAL_RTO_S
        self.holes: dict[int, int] = {}   # lost seq → later packets ACKed since (the sender does not know yet)
        self.deadline: float | None = None  # when the retransmission timer expires (None: not running)
        self._timer = False                 # a timer event is pending in the environment
        self.reductions = 0
        self.timeouts = 0
        self._wake = None
        env.process(self._run())

    def _run(self):
        env = self.env
        if self.start > env.now:
            yield env.timeout(self.start - env.now)
        while env.now < self.stop:
            if self.inflight < int(self.cwnd):
                self.inflight += 1
                if self.deadline is None:
                    self._arm()
                self.emit(self.seq)
                self.seq += 1
                yield env.timeout(self.interval)
            else:
                self._wake = env.event()
                yield self._wake

    def _poke(self) -> None:
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    # --- ACKs and fast retransmit ---------------------------------------------------------------
    def delivered(self, sent: float, seq: int = -1) -> None:
        """The receiver got packet ``seq`` sent at ``sent``: its ACK reaches the sender ``reverse_s`` later."""
        self.env.timeout(self.reverse, (sent, seq)).callbacks.append(self._ack)

    def _ack(self, event) -> None:
        sent, seq = event.value
        self._sample(self.env.now - sent)
        self.inflight -= 1
        self.cwnd += 1.0 if self.cwnd < self.ssthresh else 1.0 / self.cwnd
        if self.holes:
            noticed = []
            for hole in self.holes:
                if hole < seq:
                    self.holes[hole] += 1
                    if self.holes[hole] >= DUPTHRESH:
                        noticed.append(hole)
            for hole in noticed:
                del self.holes[hole]
                self._loss(hole)
        self._arm()  # RFC 6298 (5.3): restart on an ACK of new data; (5.2): stop when nothing is out
        self._poke()

    def _sample(self, rtt: float) -> None:
        """RFC 6298 (2.2, 2.3): SRTT and RTTVAR from one RTT measurement, RTO from them (which also
        ends any backoff)."""
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2.0
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.rto = min(MAX_RTO_S, max(MIN_RTO_S, self.srtt + 4.0 * self.rttvar))

    def lost(self, sent: float, seq: int) -> None:
        """Packet ``seq`` was dropped: the sender learns it from later packets' ACKs, or the timer."""
        self.holes[seq] = 0

    def _loss(self, seq: int) -> None:
        self.inflight -= 1  # sent again, as a new packet, when the window allows
        if seq > self.recover:
            self.ssthresh = max(self.cwnd / 2.0, 2.0)
            self.cwnd = self.ssthresh
            self.recover = self.seq - 1
            self.reductions += 1

    # --- retransmission timer -------------------------------------------------------------------
    def _arm(self) -> None:
        """(Re)start the timer for ``rto`` from now while packets are outstanding; one pending
        event at a time (a restart only moves the deadline; the event re-checks it)."""
        if self.inflight <= 0:
            self.deadline = None
            return
        self.deadline = self.env.now + self.rto
        if not self._timer:
            self._timer = True
            self.env.timeout(self.rto).callbacks.append(self._expire)

    def _expire(self, _event) -> None:
        self._timer = False
        if self.deadline is None:
            return
        now = self.env.now
        if now < self.deadline:  # restarted since: wait for the new deadline
            self._timer = True
            self.env.timeout(self.deadline - now).callbacks.append(self._expire)
            return
        self.rto = min(MAX_RTO_S, 2.0 * self.rto)  # (5.5) back off
        if self.holes:  # (5.4-5.6) the window is gone: everything unnoticed is lost, slow start
            self.timeouts += 1
            self.ssthresh = max(self.inflight / 2.0, 2.0)
            self.inflight -= len(self.holes)
            self.holes.clear()
            self.cwnd = 1.0
            self.recover = self.seq - 1
            self.reductions += 1
        self.deadline = None
        self._arm()
        self._poke()


__all__ = ["TcpSource", "INITIAL_WINDOW", "DUPTHRESH", "INITIAL_RTO_S", "MIN_RTO_S", "MAX_RTO_S"]
