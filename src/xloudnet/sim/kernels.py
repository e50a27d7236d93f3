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
def _push(h_tag, h_flow, h_cls, h_ver, hn, tag, flow, c, ver):
    i = hn[0]
    hn[0] += 1
    while i > 0:
        p = (i - 1) // 2
        if _less(tag, flow, h_tag[p], h_flow[p]):
            h_tag[i], h_flow[i], h_cls[i], h_ver[i] = h_tag[p], h_flow[p], h_cls[p], h_ver[p]
            i = p
        else:
            break
    h_tag[i], h_flow[i], h_cls[i], h_ver[i] = tag, flow, c, ver


@njit(cache=True)
def _pop(h_tag, h_flow, h_cls, h_ver, hn):
    n = hn[0] - 1
    hn[0] = n
    tag, flow, c, ver = h_tag[n], h_flow[n], h_cls[n], h_ver[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _less(h_tag[child + 1], h_flow[child + 1], h_tag[child], h_flow[child]):
            child += 1
        if _less(h_tag[child], h_flow[child], tag, flow):
            h_tag[i], h_flow[i], h_cls[i], h_ver[i] = h_tag[child], h_flow[child], h_cls[child], h_ver[child]
            i = child
        else:
            break
    if n > 0:
        h_tag[i], h_flow[i], h_cls[i], h_ver[i] = tag, flow, c, ver


@njit(cache=True)
def _activate(c, cls_flow, tag, finish, version, st, h_tag, h_flow, h_cls, h_ver, hn, qlen):
    version[c] += 1
    if hn[0] >= h_tag.size:  # stale entries filled the heap: rebuild it from the backlogged classes
        hn[0] = 0
        for k in range(qlen.size):
            if qlen[k] > 0 and k != c:
                _push(h_tag, h_flow, h_cls, h_ver, hn, tag[k], cls_flow[k], k, version[k])
    _push(h_tag, h_flow, h_cls, h_ver, hn, tag[c], cls_flow[c], c, version[c])


@njit(cache=True)
def link(t, fl, sent, horizon, cls_of_flow, cls_flow, cls_bits, capacity, delay, qcap,
         ring, head, qlen, tag, finish, version, guar, g_list,
         h_tag, h_flow, h_cls, h_ver, hn, st, sti, cls_sent, out_f, out_t, out_s, dropped):
    """A link over arrivals (``t``, ``fl``, ``sent``) before ``horizon``: per-flow FIFOs of
    ``qcap`` packets, minimum-bandwidth floors then start-time fair queueing (``link.Link``).

    ``st = [V, busy_until, busy_time]``, ``sti = [serving class or -1]``; ``guar[c]`` is class
    c's guarantee bucket (rate 0: none). Returns the number of packets sent (``out_*``), each
    emitted when its transmission starts, timed at its arrival at the next stage."""
    n_out = 0
    i = 0
    n = t.size
    while True:
        c = sti[0]
        if c >= 0:
            if i < n and t[i] <= st[1]:
                pass  # an arrival during the transmission (or as it ends): admit it below
            elif st[1] >= horizon:
                break
            else:  # the transmission ends: the packet leaves its queue
                now = st[1]
                head[c] = (head[c] + 1) % qcap
                qlen[c] -= 1
                cls_sent[c] += 1
                st[2] += cls_bits[c] / capacity
                sti[0] = -1
                if qlen[c] > 0:
                    _activate(c, cls_flow, tag, finish, version, st, h_tag, h_flow, h_cls, h_ver, hn, qlen)
                n_out = _start(now, cls_flow, cls_bits, capacity, delay, ring, head, qlen, tag, finish, version,
                               guar, g_list, h_tag, h_flow, h_cls, h_ver, hn, st, sti, out_f, out_t, out_s, n_out)
                continue
        if i >= n:
            break
        now = t[i]
        while True:  # admit arrival i — and, when the link is idle, every arrival at the same time
            k = cls_of_flow[fl[i]]
            if qlen[k] >= qcap:
                dropped[i] = True
            else:
                if qlen[k] == 0:
                    tag[k] = max(st[0], finish[k])
                    _activate(k, cls_flow, tag, finish, version, st, h_tag, h_flow, h_cls, h_ver, hn, qlen)
                ring[k, (head[k] + qlen[k]) % qcap] = sent[i]
                qlen[k] += 1
            i += 1
            if sti[0] >= 0 or i >= n or t[i] != now:
                break
        if sti[0] < 0:
            n_out = _start(now, cls_flow, cls_bits, capacity, delay, ring, head, qlen, tag, finish, version,
                           guar, g_list, h_tag, h_flow, h_cls, h_ver, hn, st, sti, out_f, out_t, out_s, n_out)
    return n_out


@njit(cache=True)
def _start(now, cls_flow, cls_bits, capacity, delay, ring, head, qlen, tag, finish, version, guar, g_list,
           h_tag, h_flow, h_cls, h_ver, hn, st, sti, out_f, out_t, out_s, n_out):
    """Pick the next class at ``now`` and start sending its head packet (nothing backlogged: idle)."""
    best = -1
    for j in range(g_list.size):  # 1. guaranteed classes whose bucket conforms, smallest tag first
        g = g_list[j]
        if qlen[g] > 0 and _level(guar[g], now) >= cls_bits[g]:
            if best < 0 or _less(tag[g], cls_flow[g], tag[best], cls_flow[best]):
                best = g
    if best < 0:  # 2. start-time fair queueing
        while hn[0] > 0:
            c = h_cls[0]
            ok = h_ver[0] == version[c] and qlen[c] > 0
            _pop(h_tag, h_flow, h_cls, h_ver, hn)
            if ok:
                best = c
                break
        if best < 0:
            return n_out
        st[0] = max(st[0], tag[best])
    else:
        version[best] += 1  # its heap entry is stale: re-pushed when its transmission ends
    bits = cls_bits[best]
    if guar[best, 0] > 0:
        _take(guar[best], now, bits, 0.0)
    finish[best] = tag[best] + bits
    tag[best] = finish[best]
    end = now + bits / capacity
    st[1] = end
    sti[0] = best
    out_f[n_out] = cls_flow[best]
    out_t[n_out] = end + delay if delay > 0 else end
    out_s[n_out] = ring[best, head[best]]
    return n_out + 1


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
