"""Metrics: what each flow offered, what arrived, what was lost and why, and how late.

Per flow: offered and delivered packets/bits (totals and per time bin), loss by reason (the
data-plane disposition of a denied flow, ``POLICED``, ``QUEUE_OVERFLOW``), one-way latency samples
(send → delivery) summarised as p50/p99/p99.9, mean, max and jitter (mean |difference| of
consecutive delays, RFC 5481 IPDV), DSCP values seen at the receiver. Overall: per-rule hit
counters and Jain's fairness index.
"""

from __future__ import annotations

import numpy as np

from .packet import Packet

CDF_POINTS = 101  # latency quantiles 0 %, 1 %, ..., 100 % kept for plots


class FlowMetrics:
    """Counters of one flow, time-binned over ``[0, duration)`` in ``bins`` bins."""

    def __init__(self, duration: float, bins: int):
        self.bin_s = duration / bins
        self.bins = bins
        self.offered_packets = 0
        self.offered_bits = 0
        self.delivered_packets = 0
        self.delivered_bits = 0
        self.lost: dict[str, int] = {}
        self.latencies: list[float] = []
        self.dscp: dict[int, int] = {}
        self.offered_series = [0] * bins
        self.delivered_series = [0] * bins
        self.lost_series = [0] * bins

    def _bin(self, t: float) -> int:
        return min(int(t / self.bin_s), self.bins - 1)

    def offered(self, t: float, bits: int) -> None:
        self.offered_packets += 1
        self.offered_bits += bits
        self.offered_series[self._bin(t)] += bits

    def delivered(self, t: float, packet: Packet) -> None:
        self.delivered_packets += 1
        self.delivered_bits += packet.bits
        self.delivered_series[self._bin(t)] += packet.bits
        self.latencies.append(t - packet.sent)
        self.dscp[packet.dscp] = self.dscp.get(packet.dscp, 0) + 1

    def lose(self, t: float, reason: str, count: int = 1) -> None:
        self.lost[reason] = self.lost.get(reason, 0) + count
        self.lost_series[self._bin(t)] += count

    def summary(self, active_s: float) -> dict:
        """The JSON figures (throughputs in kbit/s over the flow's active time)."""
        lost = sum(self.lost.values())
        per_s = 1.0 / active_s if active_s > 0 else 0.0
        kbps = 1000.0 * self.bin_s
        return {
            "offered": {"packets": self.offered_packets, "bits": self.offered_bits,
                        "kbps": self.offered_bits * per_s / 1000.0},
            "delivered": {"packets": self.delivered_packets, "bits": self.delivered_bits,
                          "kbps": self.delivered_bits * per_s / 1000.0},
            "loss": {"packets": lost,
                     "ratio": lost / self.offered_packets if self.offered_packets else 0.0,
                     "by_reason": dict(sorted(self.lost.items()))},
            "in_flight": self.offered_packets - self.delivered_packets - lost,
            "latency_ms": latency_summary(self.latencies),
            "dscp_seen": {str(k): v for k, v in sorted(self.dscp.items())},
            "series": {"offered_kbps": [b / kbps for b in self.offered_series],
                       "delivered_kbps": [b / kbps for b in self.delivered_series],
                       "lost_packets": list(self.lost_series)},
        }


def latency_summary(samples: list[float]) -> dict | None:
    """p50/p99/p99.9, mean, max, jitter (ms) and a 101-point CDF; ``None`` without samples."""
    if not samples:
        return None
    ms = np.asarray(samples) * 1000.0
    p50, p99, p999 = np.percentile(ms, [50, 99, 99.9])
    jitter = float(np.mean(np.abs(np.diff(ms)))) if ms.size > 1 else 0.0
    return {"p50": float(p50), "p99": float(p99), "p99_9": float(p999), "mean": float(ms.mean()),
            "max": float(ms.max()), "jitter": jitter,
            "cdf": np.percentile(ms, np.linspace(0, 100, CDF_POINTS)).tolist()}


def jain(values) -> float | None:
    """Jain's fairness index (Σx)² / (n·Σx²): 1 when equal, 1/n when one takes all."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return None
    square = float((x * x).sum())
    return float(x.sum() ** 2 / (x.size * square)) if square > 0 else 1.0
