"""Compiled scans for the batched engine (numba): policer, shaper and link over a batch.

A token bucket, a FIFO and a fair-queueing link are sequential recurrences (each packet's fate
depends on the state the previous one left), and a capped token bucket is a max-plus recurrence
that cumulative sums cannot express exactly. So each stage is one compiled loop over a time-sorted
batch of packets, with its state in small arrays that persist between batches. Every floating
point operation is written in the order the per-packet reference (``bucket``, ``policer``,
``shaper``, ``link``) performs it, so the two engines produce the same floats.

Buckets are 4-float arrays ``[rate, depth, tokens, last]`` (``rate == 0``: no bucket).
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True, inline="always")
def _level(b, now):
    if now > b[3]:
        return min(b[1], b[2] + (now - b[3]) * b[0])
    return b[2]


@njit(cache=True, inline="always")
def _take(b, now, amount, floor):
    b[2] = max(floor, _level(b, now) - amount)
    b[3] = max(b[3], now)


@njit(cache=True, inline="always")
def _delay(b, now, amount):
    if amount > b[1]:
        return INF
    missing = amount - _level(b, now)
    return missing / b[0] if missing > 0 else 0.0


@njit(cache=True)
def police(t, frame, bits_b, pkts_b, keep):
    """Policer over arrivals ``t`` (frame bits ``frame``): ``keep[i]`` whether packet i conforms."""
    has_bits, has_pkts = bits_b[0] > 0, pkts_b[0] > 0
    for i in range(t.size):
        now = t[i]
        ok = True
        if has_bits and not (_level(bits_b, now) >= frame[i]):
            ok = False
        if ok and has_pkts and not (_level(pkts_b, now) >= 1.0):
            ok = False
        if ok:
            if has_bits:
                _take(bits_b, now, frame[i], -INF)
            if has_pkts:
                _take(pkts_b, now, 1.0, -INF)
        keep[i] = ok


@njit(cache=True)
def shape(t, frame, bits_b, pkts_b, ring_r, ring_f, st, sti, limit_packets, limit_bits, drop_oversized,
          keep, out_t):
    """Shaper (bounded FIFO before buckets) over arrivals ``t``. ``st = [free_at, backlog_bits]``,
    ``sti = [head, count, max_queue]``; ``out_t[i]`` the delivery time of an accepted packet."""
    has_bits, has_pkts = bits_b[0] > 0, pkts_b[0] > 0
    cap = ring_r.size
    for i in range(t.size):
        now = t[i]
        while sti[1] > 0 and ring_r[sti[0]] <= now:  # drain what left by now
            st[1] -= ring_f[sti[0]]
            sti[0] = (sti[0] + 1) % cap
            sti[1] -= 1
        f = frame[i]
        if has_bits and f > bits_b[1]:
            if drop_oversized:
                keep[i] = False
                continue
            bits_b[1] = f
        if sti[1] >= limit_packets or st[1] + f > limit_bits or sti[1] >= cap:
            keep[i] = False
            continue
        start = max(now, st[0])
        wait = 0.0
        if has_bits:
            wait = _delay(bits_b, start, f)
        if has_pkts:
            wait = max(wait, _delay(pkts_b, start, 1.0))
        release = start + wait if wait > 0 else start
        if has_bits:
            _take(bits_b, release, f, -INF)
        if has_pkts:
            _take(pkts_b, release, 1.0, -INF)
        st[0] = release
        tail = (sti[0] + sti[1]) % cap
        ring_r[tail] = release
        ring_f[tail] = f
        sti[1] += 1
        st[1] += f
        if sti[1] > sti[2]:
            sti[2] = sti[1]
        keep[i] = True
        out_t[i] = now + (release - now) if release > now else now


@njit(cache=True, inline="always")
def _less(ta, fa, tb, fb):
    return ta < tb or (ta == tb and fa < fb)


@njit(cache=True)
def _push(heap, hn, tag, flow, c, ver):
    """Min-heap of rows ``[tag, flow, class, version]`` ordered by (tag, flow)."""
    i = hn[0]
    hn[0] += 1
    while i > 0:
        p = (i - 1) // 2
        if _less(tag, flow, heap[p, 0], heap[p, 1]):
            heap[i, 0], heap[i, 1], heap[i, 2], heap[i, 3] = heap[p, 0], heap[p, 1], heap[p, 2], heap[p, 3]
            i = p
        else:
            break
    heap[i, 0], heap[i, 1], heap[i, 2], heap[i, 3] = tag, flow, c, ver


@njit(cache=True)
def _pop(heap, hn):
    n = hn[0] - 1
    hn[0] = n
    tag, flow, c, ver = heap[n, 0], heap[n, 1], heap[n, 2], heap[n, 3]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _less(heap[child + 1, 0], heap[child + 1, 1], heap[child, 0], heap[child, 1]):
            child += 1
        if _less(heap[child, 0], heap[child, 1], tag, flow):
            heap[i, 0], heap[i, 1], heap[i, 2], heap[i, 3] = heap[child, 0], heap[child, 1], heap[child, 2], heap[child, 3]
            i = child
        else:
            break
    if n > 0:
        heap[i, 0], heap[i, 1], heap[i, 2], heap[i, 3] = tag, flow, c, ver


@njit(cache=True)
def link(t, fl, sent, horizon, cls_of_flow, cls_flow, cls_bits, capacity, delay, qcap,
         ring, head, qlen, tag, finish, version, guar, gof, g_list, heap, hn, st, sti, cls_sent,
         out_f, out_t, out_s, dropped):
    """A link over arrivals (``t``, ``fl``, ``sent``) before ``horizon``: per-flow FIFOs of
    ``qcap`` packets, minimum-bandwidth floors then start-time fair queueing (``link.Link``).

    ``st = [V, busy_until, busy_time]``, ``sti = [serving class or -1]``; ``guar[gof[c]]`` is
    the port guarantee bucket class c draws on (``gof[c] < 0``: none; classes of one port share
    a row); ``heap`` holds the backlogged classes (stale rows are
    skipped by version). Returns the number of packets sent (``out_*``), each emitted when its
    transmission starts, timed at its arrival at the next stage. One loop, no helper taking the
    state arrays: numba reference-counts every array handed to a call."""
    n_out = 0
    i = 0
    n = t.size
    ncls = qlen.size
    while True:
        if hn[0] > heap.shape[0] - ncls - 2:  # stale rows fill the heap: rebuild it
            hn[0] = 0
            for k in range(ncls):
                if qlen[k] > 0 and k != sti[0]:
                    _push(heap, hn, tag[k], cls_flow[k], k, version[k])
        c = sti[0]
        if c >= 0 and (i >= n or t[i] > st[1]):
            if st[1] >= horizon:
                break
            now = st[1]  # the transmission ends: the packet leaves its queue
            head[c] = (head[c] + 1) % ring.shape[1]
            qlen[c] -= 1
            cls_sent[c] += 1
            st[2] += cls_bits[c] / capacity
            sti[0] = -1
            if qlen[c] > 0:
                version[c] += 1
                _push(heap, hn, tag[c], cls_flow[c], c, version[c])
        else:
            if c < 0:
                if i >= n:
                    break
                limit = t[i]  # idle: every arrival at this instant, then a decision
            else:
                limit = st[1]  # busy: the arrivals until the transmission ends
            now = t[i]
            while i < n and t[i] <= limit:
                k = cls_of_flow[fl[i]]
                # a packet whose transmission ends at this very instant has left (link.Link)
                finishing = 1 if k == sti[0] and st[1] <= t[i] else 0
                if qlen[k] - finishing >= qcap:
                    dropped[i] = True
                else:
                    if qlen[k] == finishing:
                        tag[k] = max(st[0], finish[k])
                        version[k] += 1
                        _push(heap, hn, tag[k], cls_flow[k], k, version[k])
                    ring[k, (head[k] + qlen[k]) % ring.shape[1]] = sent[i]
                    qlen[k] += 1
                i += 1
            if c >= 0:
                continue
        # pick the next class at ``now`` and start sending its head packet
        best = -1
        for j in range(g_list.size):  # 1. guaranteed classes whose bucket conforms, smallest tag first
            g = g_list[j]
            if qlen[g] > 0:
                b = guar[gof[g]]
                if _level(b, now) >= cls_bits[g]:
                    if best < 0 or _less(tag[g], cls_flow[g], tag[best], cls_flow[best]):
                        best = g
        if best < 0:  # 2. start-time fair queueing
            while hn[0] > 0:
                k = int(heap[0, 2])
                ok = heap[0, 3] == version[k] and qlen[k] > 0
                _pop(heap, hn)
                if ok:
                    best = k
                    break
            if best < 0:
                continue
            st[0] = max(st[0], tag[best])
        else:
            version[best] += 1  # its heap row is stale: re-pushed when its transmission ends
        bits = cls_bits[best]
        if gof[best] >= 0:
            _take(guar[gof[best]], now, bits, 0.0)
        finish[best] = tag[best] + bits
        tag[best] = finish[best]
        end = now + bits / capacity
        st[1] = end
        sti[0] = best
        out_f[n_out] = cls_flow[best]
        out_t[n_out] = end + delay if delay > 0 else end
        out_s[n_out] = ring[best, head[best]]
        n_out += 1
    return n_out


@njit(cache=True)
def emit_times(pattern, st, gaps, gi, interval, on_s, off_s, stop, horizon, out):
    """A source's send times before ``horizon`` (and ``stop``), continuing from ``st = [now,
    burst_end, in_burst]``; the same additions as ``sources`` (cbr 0, poisson 1, onoff 2).
    Poisson gaps come from ``gaps[gi[0]:]``; returns early when they run out (the caller draws
    more) or when ``out`` is full."""
    n = 0
    now = st[0]
    while n < out.size:
        if pattern == 0:
            if not now < stop or now >= horizon:
                break
            out[n] = now
            n += 1
            now = now + interval
        elif pattern == 1:
            if now >= stop or now >= horizon or gi[0] >= gaps.size:
                break
            out[n] = now
            n += 1
            now = now + gaps[gi[0]]
            gi[0] += 1
        else:
            if st[2] == 0:
                if not now < stop or now >= horizon:
                    break
                st[1] = min(now + on_s, stop)
                st[2] = 1
            if now < st[1]:
                if now >= horizon:
                    break
                out[n] = now
                n += 1
                now = now + interval
            else:
                st[2] = 0
                if off_s > 0 and now < stop:
                    now = now + off_s
    st[0] = now
    return n
