"""``BatchedSimulation``: the same model as the per-packet SimPy reference, run in batches.

Time is cut into windows. In each window every source's send times are generated at once, then
each stage (policer, link, shaper) processes, in one compiled scan (``kernels``), every packet
that reaches it before the window's end, in time order; what it sends on is queued for the next
stage of each packet's flow. Stages are visited in topological order of the flows' paths, so when
a stage runs, every packet that reaches it before the window's end is already there (each stage
only delays packets). Packets that arrive later wait for the next window. State (tokens, queues,
fair-queueing tags) persists between windows, so the windows change nothing in the result.

Memory is bounded by flows, queues and one window's packets, never by the run's packets.
Paths that make the stages cyclic (flows crossing two routers in opposite orders) have no such
order: ``CyclicStages`` is raised and the caller uses the reference engine.
"""

from __future__ import annotations

import math
import time
from graphlib import CycleError, TopologicalSorter

import numpy as np

from ..model.dispositions import Disposition
from . import kernels
from .config import SimConfig
from .metrics import RunMetrics
from .result import build_result
from .stages import Layout, build_layout, guarantee_bucket
from .stepping import drive

PATTERN_CODES = {"cbr": 0, "poisson": 1, "onoff": 2}
WINDOW_PACKETS = 2_000_000   # packets generated per window (memory per window)
MIN_WINDOWS = 4              # progress steps at least
POISSON_BATCH = 4096         # as sources.poisson draws its gaps
RECEIVER = -1


class NotBatchable(ValueError):
    """The run needs the per-packet engine."""


class CyclicStages(NotBatchable):
    """The flows' paths order the stages in a cycle: no batched schedule exists."""


def _bucket(b) -> np.ndarray:
    return np.zeros(4) if b is None else np.array([b.rate, b.depth, b.depth, 0.0])


class _Policer:
    def __init__(self, spec, flows: int):
        self.bits, self.pkts = _bucket(spec.bits_bucket), _bucket(spec.packets_bucket)
        self.overhead = spec.overhead_bits
        self.conformed = np.zeros(flows, np.int64)
        self.dropped = np.zeros(flows, np.int64)

    def run(self, f, t, sent, horizon, frame_bits, lose):
        keep = np.empty(t.size, np.bool_)
        kernels.police(t, frame_bits[f] + self.overhead, self.bits, self.pkts, keep)
        self.conformed += np.bincount(f[keep], minlength=self.conformed.size)
        self.dropped += np.bincount(f[~keep], minlength=self.dropped.size)
        lose(f[~keep], t[~keep], Disposition.POLICED.value)
        return f[keep], t[keep], sent[keep]

    def stats(self, duration):
        return {"conformed": _per_flow(self.conformed), "dropped": _per_flow(self.dropped)}

    def busy(self) -> bool:
        return False  # decides at each arrival: nothing carries over between windows


class _Shaper:
    def __init__(self, spec, flows: int, min_frame_bits: float):
        self.bits, self.pkts = _bucket(spec.bits_bucket), _bucket(spec.packets_bucket)
        self.overhead = spec.overhead_bits
        self.limit_packets, self.limit_bits = float(spec.queue_packets), float(spec.queue_bits)
        cap = self.limit_packets if math.isfinite(self.limit_packets) else self.limit_bits // min_frame_bits + 1
        self.ring_r, self.ring_f = np.zeros(int(cap) + 1), np.zeros(int(cap) + 1)
        self.st, self.sti = np.zeros(2), np.zeros(3, np.int64)
        self.drop_oversized = spec.drop_oversized
        self.dropped = np.zeros(flows, np.int64)

    def run(self, f, t, sent, horizon, frame_bits, lose):
        keep, out_t = np.empty(t.size, np.bool_), np.empty(t.size)
        kernels.shape(t, frame_bits[f] + self.overhead, self.bits, self.pkts, self.ring_r, self.ring_f, self.st,
                      self.sti, self.limit_packets, self.limit_bits, self.drop_oversized, keep, out_t)
        self.dropped += np.bincount(f[~keep], minlength=self.dropped.size)
        lose(f[~keep], t[~keep], Disposition.QUEUE_OVERFLOW.value)
        return f[keep], out_t[keep], sent[keep]

    def busy(self) -> bool:
        return False  # release times are fixed on arrival: nothing carries over between windows

    def stats(self, duration):
        head, count = self.sti[0], self.sti[1]
        idx = (head + np.arange(count)) % self.ring_r.size
        return {"dropped": _per_flow(self.dropped), "max_queue": int(self.sti[2]),
                "queued": int((self.ring_r[idx] > duration).sum())}


class _Link:
    def __init__(self, spec, flows: int, bits: np.ndarray):
        self.spec = spec
        n = len(spec.flows)
        self.cls_flow = np.asarray(spec.flows, np.int64)
        self.cls_of_flow = np.full(flows, -1, np.int64)
        self.cls_of_flow[self.cls_flow] = np.arange(n)
        self.cls_bits = bits[self.cls_flow].astype(np.int64)
        self.qcap = int(spec.queue_packets)
        self.ring = np.zeros((n, self.qcap + 1))  # + the packet finishing as one arrives
        self.head, self.qlen = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.tag, self.finish, self.version = np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
        # One bucket per port guarantee (row), shared by that port's classes (``gof``: class → row).
        keys: dict = {}
        self.gof = np.full(n, -1, np.int64)
        for flow, (key, min_bps) in spec.guarantees.items():
            self.gof[self.cls_of_flow[flow]] = keys.setdefault(key, (len(keys), min_bps))[0]
        self.guar = np.zeros((max(1, len(keys)), 4))
        for row, min_bps in keys.values():
            self.guar[row] = _bucket(guarantee_bucket(min_bps))
        self.g_list = np.flatnonzero(self.gof >= 0).astype(np.int64)
        self.heap, self.hn = np.zeros((3 * n + 16, 4)), np.zeros(1, np.int64)
        self.st, self.sti = np.zeros(3), np.full(1, -1, np.int64)
        self.cls_sent = np.zeros(n, np.int64)
        self.dropped = 0

    def busy(self) -> bool:
        """A transmission in progress or packets queued: the next window must run the link even
        if nothing new arrives (else they would never finish, nor count)."""
        return bool(self.sti[0] >= 0 or self.qlen.any())

    def run(self, f, t, sent, horizon, frame_bits, lose):
        room = t.size + int(self.qlen.sum()) + 1
        out_f, out_t, out_s = np.empty(room, np.int64), np.empty(room), np.empty(room)
        dropped = np.zeros(t.size, np.bool_)
        n = kernels.link(t, f, sent, horizon, self.cls_of_flow, self.cls_flow, self.cls_bits,
                         float(self.spec.capacity_bps), float(self.spec.delay_s), self.qcap, self.ring, self.head,
                         self.qlen, self.tag, self.finish, self.version, self.guar, self.gof, self.g_list, self.heap,
                         self.hn, self.st, self.sti, self.cls_sent,
                         out_f, out_t, out_s, dropped)
        self.dropped += int(dropped.sum())
        lose(f[dropped], t[dropped], Disposition.QUEUE_OVERFLOW.value)
        return out_f[:n], out_t[:n], out_s[:n]

    def stats(self, duration):
        spec = self.spec
        sent = int((self.cls_sent * self.cls_bits).sum())
        return {"capacity_kbps": spec.capacity_bps / 1000.0, "delay_ms": spec.delay_s * 1000.0,
                "queue_packets": spec.queue_packets, "flows": len(spec.flows), "packets": int(self.cls_sent.sum()),
                "dropped": self.dropped,
                "utilisation": round(float(self.st[2]) / duration, 6) if duration > 0 else 0.0,
                "delivered_kbps": sent / duration / 1000.0 if duration > 0 else 0.0}


_NOTHING = (np.empty(0, np.int64), np.empty(0), np.empty(0))


def _in_time_then_flow_order(t: np.ndarray, f: np.ndarray) -> bool:
    """Whether (t, f) is sorted: by time, and by flow among equal times."""
    if t.size < 2:
        return True
    dt = t[1:] - t[:-1]
    return bool((dt >= 0).all() and (f[1:][dt == 0] >= f[:-1][dt == 0]).all())


def _per_flow(counts: np.ndarray) -> dict:
    return {int(i): int(counts[i]) for i in np.flatnonzero(counts)}


def stage_order(layout: Layout) -> list[int]:
    """The stages in an order every flow's path respects (``CyclicStages`` if none exists)."""
    graph = {s: set() for s in range(len(layout.stages))}
    for path in layout.paths:
        for a, b in zip(path or (), (path or ())[1:]):
            graph[b].add(a)
        if path and len(set(path)) != len(path):
            raise CyclicStages("a flow crosses the same stage twice")
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise CyclicStages("the flows' paths cross stages in opposite orders") from exc


class BatchedSimulation:
    """``BatchedSimulation(tables, config, rng, plans).run(progress=None) -> dict``: the reference's
    result, computed in batches."""

    def __init__(self, tables, config: SimConfig, rng: np.random.Generator, plans: list):
        self.config, self.plans = config, plans
        self.layout = build_layout(config, plans)
        if any(f.pattern not in PATTERN_CODES for f in config.flows):
            raise NotBatchable("closed-loop (tcp) flows react to every packet")
        if any(s.loss_ratio for s in self.layout.stages):
            raise NotBatchable("random link loss is drawn per packet by the reference engine")
        self.order = stage_order(self.layout)
        n = len(config.flows)
        self.bits = np.array([int(f.packet_size) * 8 for f in config.flows], np.int64)
        self.metrics = RunMetrics(n, config.duration_s, config.bins, self.bits)
        self.rngs = [np.random.default_rng(rng.integers(2**63)) for _ in config.flows]  # as the reference seeds
        min_frame = float(self.bits.min() + 112)
        self.stages = []
        for spec in self.layout.stages:
            if spec.kind == "policer":
                self.stages.append(_Policer(spec, n))
            elif spec.kind == "shaper":
                self.stages.append(_Shaper(spec, n, min_frame))
            else:
                self.stages.append(_Link(spec, n, self.bits))
        self.next_of = np.full((len(self.stages), n), RECEIVER, np.int64)  # stage after s for flow f
        self.first = np.full(n, RECEIVER, np.int64)
        self.arrive_stage = np.full(n, -2, np.int64)  # where a flow's packets reach its destination port
        for i, path in enumerate(self.layout.paths):
            if path is None:
                continue
            self.first[i] = path[0] if path else RECEIVER
            for a, b in zip(path, path[1:]):
                self.next_of[a, i] = b
            at = self.layout.arrive_at[i]
            self.arrive_stage[i] = path[at] if at < len(path) else RECEIVER
        self.arrived = np.zeros(n, np.int64)
        self.arrive_stages = set(self.arrive_stage.tolist())
        # a stage all of whose flows go on to the same next stage (a policer to its port's link)
        nexts: dict[int, set] = {}
        for path in self.layout.paths:
            for a, b in zip(path or (), list(path or ())[1:] + [RECEIVER]):
                nexts.setdefault(a, set()).add(b)
        self.only_next = {s: n.pop() for s, n in nexts.items() if len(n) == 1}
        self.losses: dict = {}
        # stages whose decisions depend on the order of simultaneous arrivals (sim.instant)
        self.by_flow_at_ties = {s for s, spec in enumerate(self.layout.stages) if spec.kind != "link"}
        self.pending = {s: [] for s in range(len(self.stages))}
        self.pending[RECEIVER] = []
        self._sources()

    # --- sources --------------------------------------------------------------------------------
    def _sources(self) -> None:
        cfg = self.config
        self.src_state = np.zeros((len(cfg.flows), 3))
        self.src_state[:, 0] = [f.start_s for f in cfg.flows]  # 0.0 + (start - 0.0) == start
        self.gaps = [np.empty(0) for _ in cfg.flows]
        self.gap_i = [np.zeros(1, np.int64) for _ in cfg.flows]
        self.interval = [int(f.packet_size) * 8 / (f.rate_kbps * 1000.0) for f in cfg.flows]

    def _emit(self, i: int, horizon: float) -> np.ndarray:
        flow, cfg = self.config.flows[i], self.config
        code = PATTERN_CODES[flow.pattern]
        rate = 1.0 / self.interval[i]
        chunks = []
        while True:
            if code == 1 and self.gap_i[i][0] >= self.gaps[i].size:
                self.gaps[i] = self.rngs[i].exponential(self.interval[i], POISSON_BATCH)
                self.gap_i[i][0] = 0
            room = int(max(horizon - self.src_state[i, 0], 0.0) * rate) + 16
            out = np.empty(room)
            n = kernels.emit_times(code, self.src_state[i], self.gaps[i], self.gap_i[i], self.interval[i],
                                   flow.on_ms / 1000.0, flow.off_ms / 1000.0, cfg.duration_s, horizon, out)
            chunks.append(out[:n])
            full = n == out.size
            starved = code == 1 and self.gap_i[i][0] >= self.gaps[i].size
            if not (full or starved):
                break
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    # --- running --------------------------------------------------------------------------------
    def _lose(self, f, t, reason):
        if f.size:  # buffered: one metrics call per reason per window
            self.losses.setdefault(reason, []).append((f, t))

    def _flush_losses(self) -> None:
        for reason, chunks in self.losses.items():
            self.metrics.lose(np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]), reason)
        self.losses = {}

    def _take(self, s: int, horizon: float):
        chunks = self.pending[s]
        if not chunks:
            return None
        f = np.concatenate([c[0] for c in chunks])
        t = np.concatenate([c[1] for c in chunks])
        sent = np.concatenate([c[2] for c in chunks])
        now = t < horizon
        later = ~now
        self.pending[s] = [(f[later], t[later], sent[later])] if later.any() else []
        if not now.any():
            return None
        if not now.all():
            f, t, sent = f[now], t[now], sent[now]
        # merge what came from several stages (the receiver needs only each flow's order, which
        # every chunk keeps: the sketch and counters do not depend on the order)
        if s in self.by_flow_at_ties:  # a policer or shaper: one instant's arrivals in flow order
            if not _in_time_then_flow_order(t, f):
                order = np.lexsort((f, t))  # stable: a flow's own packets keep their order
                f, t, sent = f[order], t[order], sent[order]
        elif s != RECEIVER and len(chunks) > 1 and not (t[1:] >= t[:-1]).all():
            order = np.argsort(t, kind="stable")
            f, t, sent = f[order], t[order], sent[order]
        if s in self.arrive_stages:
            mine = self.arrive_stage[f] == s
            self.arrived += np.bincount(f[mine], minlength=self.arrived.size)
        return f, t, sent

    def _route(self, s: int, f, t, sent) -> None:
        if f.size == 0:
            return
        if s in self.only_next:
            self.pending[self.only_next[s]].append((f, t, sent))
            return
        nxt = self.next_of[s][f]
        order = np.argsort(nxt, kind="stable")
        nxt, f, t, sent = nxt[order], f[order], t[order], sent[order]
        cuts = (np.flatnonzero(nxt[1:] != nxt[:-1]) + 1).tolist()
        for a, b in zip([0] + cuts, cuts + [nxt.size]):
            self.pending[int(nxt[a])].append((f[a:b], t[a:b], sent[a:b]))

    def _window(self, horizon: float) -> None:
        metrics = self.metrics
        fs, ts = [], []
        for i, path in enumerate(self.layout.paths):
            t = self._emit(i, horizon)
            if t.size:
                f = np.full(t.size, i, np.int64)
                fs.append(f)
                ts.append(t)
                if path is None:
                    self._lose(f, t, self.plans[i].disposition)
                else:  # each flow's times are in order; stages merge what several flows send them
                    self.pending[int(self.first[i])].append((f, t, t))
        if fs:
            f, t = np.concatenate(fs), np.concatenate(ts)
            metrics.offered(f, t)
        for s in self.order:
            batch = self._take(s, horizon)
            if batch is None and self.stages[s].busy():
                batch = _NOTHING  # no arrivals, but a transmission ends or a queue drains in this window
            if batch is not None:
                self._route(s, *self.stages[s].run(*batch, horizon, self.bits, self._lose))
        batch = self._take(RECEIVER, horizon)
        if batch is not None:
            f, t, sent = batch
            metrics.delivered(f, t, sent)
        self._flush_losses()

    def run(self, progress=None) -> dict:
        return drive(self.steps(), progress)

    def steps(self):
        """``run`` as a generator: yields the fraction done after each window of packets and
        returns the result (servers run jobs in slices and may stop between windows)."""
        cfg = self.config
        started = time.perf_counter()
        offered = sum(f.rate_kbps * 1000.0 / (f.packet_size * 8) * (cfg.duration_s - f.start_s) for f in cfg.flows)
        windows = max(MIN_WINDOWS, math.ceil(offered / WINDOW_PACKETS))
        for k in range(1, windows + 1):
            self._window(cfg.duration_s * k / windows if k < windows else cfg.duration_s)
            yield k / windows
        wall = time.perf_counter() - started
        rule_hits = {}
        for i, plan in enumerate(self.plans):
            for rule in plan.send_rules:
                rule_hits[rule] = rule_hits.get(rule, 0) + int(self.metrics.offered_packets[i])
            for rule in plan.arrive_rules:
                rule_hits[rule] = rule_hits.get(rule, 0) + int(self.arrived[i])
        stats = [stage.stats(cfg.duration_s) for stage in self.stages]
        return build_result(cfg, self.plans, self.layout, self.metrics, rule_hits, stats, wall)


__all__ = ["BatchedSimulation", "NotBatchable", "CyclicStages", "stage_order"]
