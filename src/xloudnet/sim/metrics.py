"""Metrics: what each flow offered, what arrived, what was lost and why, and how late.

Per flow: offered and delivered packets/bits (totals and per time bin), loss by reason (the
data-plane disposition of a denied flow, ``POLICED``, ``QUEUE_OVERFLOW``), one-way latency
(send → delivery) summarised as p50/p99/p99.9, mean, max and jitter (mean |difference| of
consecutive delays, RFC 5481 IPDV), DSCP values seen at the receiver. Overall: Jain's fairness.

Memory is bounded by flows and time bins, never by packets: counters are arrays, and latencies
go into a streaming sketch — a fixed log-spaced histogram (``BINS_PER_DECADE`` bins per decade
from 0.1 µs to 10⁴ s, so a quantile is within half a bin, ±0.6 %, of the exact one; clamped to
the exact minimum and maximum, so a constant latency reads exactly). Both engines feed the same
arrays through the same vectorised calls (``offered``, ``delivered``, ``lost``), in batches.
"""

from __future__ import annotations

import numpy as np

CDF_POINTS = 101          # latency quantiles 0 %, 1 %, ..., 100 % kept for plots
LOG10_MIN, LOG10_MAX = -7, 4
BINS_PER_DECADE = 200
SKETCH_BINS = (LOG10_MAX - LOG10_MIN) * BINS_PER_DECADE


class RunMetrics:
    """Counters of ``flows`` flows (each sending packets of ``bits[i]`` bits), time-binned over
    ``[0, duration)`` in ``bins`` bins. Bits are packets × the flow's size: only packets are
    counted."""

    def __init__(self, flows: int, duration: float, bins: int, bits):
        self.n, self.bins, self.bin_s = flows, bins, duration / bins
        self.bits = np.asarray(bits, np.int64)
        self.offered_packets = np.zeros(flows, np.int64)
        self.delivered_packets = np.zeros(flows, np.int64)
        self.lost: dict[str, np.ndarray] = {}
        self.offered_series = np.zeros((flows, bins), np.int64)
        self.delivered_series = np.zeros((flows, bins), np.int64)
        self.lost_series = np.zeros((flows, bins), np.int64)
        self.sketch = np.zeros((flows, SKETCH_BINS), np.int64)
        self.delay_sum = np.zeros(flows)
        self.delay_min = np.full(flows, np.inf)
        self.delay_max = np.full(flows, -np.inf)
        self.jitter_sum = np.zeros(flows)
        self.last_delay = np.full(flows, np.nan)

    def _bin(self, t: np.ndarray) -> np.ndarray:
        return np.minimum((t / self.bin_s).astype(np.int64), self.bins - 1)

    @property
    def offered_bits(self) -> np.ndarray:
        return self.offered_packets * self.bits

    @property
    def delivered_bits(self) -> np.ndarray:
        return self.delivered_packets * self.bits

    def _count(self, series: np.ndarray, flows: np.ndarray, t: np.ndarray) -> None:
        idx = flows.astype(np.int64) * self.bins + self._bin(t)
        series += np.bincount(idx, minlength=self.n * self.bins).reshape(self.n, self.bins)

    def offered(self, flows: np.ndarray, t: np.ndarray) -> None:
        self.offered_packets += np.bincount(flows, minlength=self.n)
        self._count(self.offered_series, flows, t)

    def lose(self, flows: np.ndarray, t: np.ndarray, reason: str) -> None:
        if flows.size == 0:
            return
        if reason not in self.lost:
            self.lost[reason] = np.zeros(self.n, np.int64)
        self.lost[reason] += np.bincount(flows, minlength=self.n)
        self._count(self.lost_series, flows, t)

    def delivered(self, flows: np.ndarray, t: np.ndarray, sent: np.ndarray) -> None:
        """Packets received at ``t`` (in arrival order) that were sent at ``sent``."""
        if flows.size == 0:
            return
        self.delivered_packets += np.bincount(flows, minlength=self.n)
        self._count(self.delivered_series, flows, t)
        delay = t - sent
        with np.errstate(divide="ignore"):
            b = np.floor((np.log10(delay) - LOG10_MIN) * BINS_PER_DECADE)
        b = np.clip(np.nan_to_num(b, neginf=0), 0, SKETCH_BINS - 1).astype(np.int64)
        self.sketch += np.bincount(flows.astype(np.int64) * SKETCH_BINS + b,
                                   minlength=self.n * SKETCH_BINS).reshape(self.n, SKETCH_BINS)
        self.delay_sum += np.bincount(flows, delay, minlength=self.n)
        np.minimum.at(self.delay_min, flows, delay)
        np.maximum.at(self.delay_max, flows, delay)
        order = np.argsort(flows, kind="stable")  # each flow's delays in arrival order
        f, d = flows[order], delay[order]
        first = np.ones(f.size, bool)
        first[1:] = f[1:] != f[:-1]
        prev = np.empty_like(d)
        prev[1:] = d[:-1]
        prev[first] = self.last_delay[f[first]]
        step = np.abs(d - prev)
        ok = ~np.isnan(step)
        self.jitter_sum += np.bincount(f[ok], step[ok], minlength=self.n)
        last = np.ones(f.size, bool)
        last[:-1] = f[1:] != f[:-1]
        self.last_delay[f[last]] = d[last]

    def latency(self, flow: int) -> dict | None:
        """p50/p99/p99.9, mean, max, jitter (ms) and a 101-point CDF; ``None`` without samples."""
        n = int(self.delivered_packets[flow])
        if n == 0:
            return None
        cum = np.cumsum(self.sketch[flow])
        q = np.linspace(0, 1, CDF_POINTS)
        low, high = self.delay_min[flow], self.delay_max[flow]

        def quantile(p):
            p = np.atleast_1d(np.asarray(p, float))
            rank = np.clip(np.ceil(p * n), 1, n)
            b = np.searchsorted(cum, rank)
            value = 10.0 ** (LOG10_MIN + (b + 0.5) / BINS_PER_DECADE)
            value = np.clip(value, low, high)
            value[p <= 0] = low
            value[p >= 1] = high
            return value * 1000.0
        p50, p99, p999 = quantile([0.5, 0.99, 0.999]).tolist()
        return {"p50": p50, "p99": p99, "p99_9": p999, "mean": float(self.delay_sum[flow] / n * 1000.0),
                "max": float(high * 1000.0),
                "jitter": float(self.jitter_sum[flow] / (n - 1) * 1000.0) if n > 1 else 0.0,
                "cdf": quantile(q).tolist()}

    def summary(self, flow: int, active_s: float, dscp: int) -> dict:
        """The JSON figures of one flow (throughputs in kbit/s over its active time)."""
        by_reason = {k: int(v[flow]) for k, v in sorted(self.lost.items()) if v[flow]}
        lost = sum(by_reason.values())
        offered = int(self.offered_packets[flow])
        delivered = int(self.delivered_packets[flow])
        per_s = 1.0 / active_s if active_s > 0 else 0.0
        kbps = 1000.0 * self.bin_s
        return {
            "offered": {"packets": offered, "bits": int(self.offered_bits[flow]),
                        "kbps": int(self.offered_bits[flow]) * per_s / 1000.0},
            "delivered": {"packets": delivered, "bits": int(self.delivered_bits[flow]),
                          "kbps": int(self.delivered_bits[flow]) * per_s / 1000.0},
            "loss": {"packets": lost, "ratio": lost / offered if offered else 0.0, "by_reason": by_reason},
            "in_flight": offered - delivered - lost,
            "latency_ms": self.latency(flow),
            "dscp_seen": {str(dscp): delivered} if delivered else {},
            "series": {"offered_kbps": (self.offered_series[flow] * self.bits[flow] / kbps).tolist(),
                       "delivered_kbps": (self.delivered_series[flow] * self.bits[flow] / kbps).tolist(),
                       "lost_packets": self.lost_series[flow].tolist()},
        }


def jain(values) -> float | None:
    """Jain's fairness index (Σx)² / (n·Σx²): 1 when equal, 1/n when one takes all."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return None
    square = float((x * x).sum())
    return float(x.sum() ** 2 / (x.size * square)) if square > 0 else 1.0
