"""Token bucket (RFC 2697 single rate, two colours), computed lazily.

No process ticks the bucket: on each test the tokens earned since the last test are added
(``rate × elapsed``, capped at ``depth``). The bucket starts full. Units are whatever the caller
counts — bits for ``bandwidth_limit``, packets for ``packet_rate_limit``.
"""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second, at most ``depth`` tokens."""

    __slots__ = ("rate", "depth", "tokens", "last")

    def __init__(self, rate: float, depth: float):
        if rate <= 0 or depth <= 0:
            raise ValueError("a token bucket needs a positive rate and depth")
        self.rate = float(rate)
        self.depth = float(depth)
        self.tokens = float(depth)
        self.last = 0.0

    def level(self, now: float) -> float:
        """Tokens at ``now``. Reading changes nothing: the same sequence of ``take`` calls gives
        the same floats whatever was read in between (the batched engine relies on it)."""
        if now > self.last:
            return min(self.depth, self.tokens + (now - self.last) * self.rate)
        return self.tokens

    def conforms(self, now: float, amount: float) -> bool:
        """Whether ``amount`` tokens are available at ``now`` (nothing is taken)."""
        return self.level(now) >= amount

    def take(self, now: float, amount: float, floor: float = -float("inf")) -> None:
        """Remove ``amount`` tokens (never below ``floor``)."""
        self.tokens = max(floor, self.level(now) - amount)
        self.last = max(self.last, now)

    def delay(self, now: float, amount: float) -> float:
        """Seconds from ``now`` until ``amount`` tokens are available (0 if they are now).
        ``amount`` above ``depth`` is never available: ``inf``."""
        if amount > self.depth:
            return float("inf")
        missing = amount - self.level(now)
        return missing / self.rate if missing > 0 else 0.0


def bandwidth_bucket(max_kbps: float, max_burst_kbps: float | None) -> TokenBucket:
    """A Neutron ``bandwidth_limit`` rule as a bucket counted in bits: rate ``max_kbps``, depth
    ``max_burst_kbps`` kilobits (0 or unset → 80 % of ``max_kbps``)."""
    burst = max_burst_kbps or 0.8 * max_kbps
    return TokenBucket(max_kbps * 1000.0, burst * 1000.0)


def packet_rate_bucket(max_kpps: float, max_burst_kpps: float | None) -> TokenBucket:
    """A Neutron ``packet_rate_limit`` rule as a bucket counted in packets: rate ``max_kpps``
    thousand packets/s, depth ``max_burst_kpps`` thousand packets (0 or unset → 80 %)."""
    burst = max_burst_kpps or 0.8 * max_kpps
    return TokenBucket(max_kpps * 1000.0, max(burst * 1000.0, 1.0))
