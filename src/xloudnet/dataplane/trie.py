"""Interval maps compiled to multibit tries, stored in shared append-only arenas.

Every lookup the data plane does — "which owner holds this address on this network", "which
route matches", "which service class is this (protocol, port)", "is this address a member of
that group" — is a map from a key space (IPv4 32 bits, IPv6 128 bits, the 25-bit service space)
to a small integer. Such a map is first built as a *partition*: sorted interval starts and one
value per interval. The partition is then compiled to a multibit trie (8 bits per level, 9 at
the root of the service space) whose nodes are int32:

- ``e >= 0``: a leaf, value ``e - BIAS`` (values may be small negatives);
- ``e < 0``: a pointer to a block of child entries at offset ``-e - 1``.

A lookup is a handful of gathers over the whole batch (no per-packet loop), and a trie for any
number of records is one flat array, so tries of many networks, routers and groups live side by
side in one arena and a batch can look up a different trie per packet (its root entry).

Arenas only ever grow at their high-water mark: a ``FlowTables`` keeps a view of the prefix
that was written when it was compiled, so a later compile that appends pieces never disturbs
an earlier one (the what-if "before" and "after" stay valid together). Tries are built bottom
up and a block identical to one already stored is shared rather than appended again (a block
never changes once written, so equal content is an equal subtrie); sparse maps such as a
group's members, one address per /24, mostly repeat a few leaf blocks.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right

import numpy as np

BIAS = 16
MEMO_LIMIT = 1 << 20  # distinct trie blocks remembered for sharing, per lineage
V4_LEVELS = ((1, 24, 8), (1, 16, 8), (1, 8, 8), (1, 0, 8))
V6_LEVELS = tuple((0, 56 - 8 * i, 8) for i in range(8)) + tuple((1, 56 - 8 * i, 8) for i in range(8))
SERVICE_LEVELS = ((1, 16, 9), (1, 8, 8), (1, 0, 8))


def levels_for(v6: bool):
    """The level schedule of an address trie of one family."""
    return V6_LEVELS if v6 else V4_LEVELS


def leaf(value: int) -> int:
    """The trie entry of a constant map (a trie with no nodes)."""
    return value + BIAS


# ------------------------------------------------------------------------------------------
# Partitions


def paint(ranges: list[tuple[int, int, int]], default: int, top: int) -> tuple[list[int], list[int]]:
    """Partition ``[0, top]`` by ranges ``(first, last, value)``; the first listed range wins.

    Returns ``(starts, values)`` with equal neighbours merged.
    """
    cuts = {0}
    for first, last, _ in ranges:
        cuts.add(first)
        if last < top:
            cuts.add(last + 1)
    starts = sorted(cuts)
    values = np.full(len(starts), default, dtype=np.int64)
    for first, last, value in reversed(ranges):
        values[bisect_left(starts, first):bisect_right(starts, last)] = value
    return merge(starts, values.tolist())


def merge(starts: list[int], values: list[int]) -> tuple[list[int], list[int]]:
    """Drop interval starts whose value equals the previous interval's."""
    out_s, out_v = [starts[0]], [values[0]]
    for s, v in zip(starts[1:], values[1:]):
        if v != out_v[-1]:
            out_s.append(s)
            out_v.append(v)
    return out_s, out_v


def elementary(ranges: list[tuple[int, int]], top: int) -> list[int]:
    """The starts of the elementary intervals cut by ``ranges`` over ``[0, top]``."""
    cuts = {0}
    for first, last in ranges:
        cuts.add(first)
        if last < top:
            cuts.add(last + 1)
    return sorted(cuts)


def value_at(starts: list[int], values: list[int], key: int) -> int:
    """The value of the interval holding ``key``."""
    return values[bisect_right(starts, key) - 1]


# ------------------------------------------------------------------------------------------
# Trie compilation


def build(starts: list[int], values: list[int], strides: tuple[int, ...], place) -> int:
    """Compile a partition bottom-up; ``place(entries)`` stores one block and returns its
    offset (so children are placed before their parent). Returns the root entry.

    A block's entries are runs of interval values: each interval start inside the block
    begins a run at the first child wholly inside it, and a child that an interval start
    cuts in two becomes a sub-block (built first)."""
    vals = [int(v) + BIAS for v in values]
    total = sum(strides)

    def block(lo: int, hi: int, base: int, level: int) -> int:
        if lo == hi:
            return vals[lo]
        child_bits = total - sum(strides[: level + 1])
        width_mask, n = (1 << child_bits) - 1, 1 << strides[level]
        cuts, runs, run_k = [0], [vals[lo]], [lo]
        inner: dict[int, int] = {}
        for k in range(lo + 1, hi + 1):
            rel = starts[k] - base
            child = rel >> child_bits
            if rel & width_mask:
                inner[child] = k
                child += 1
            if child >= n:
                continue
            if child == cuts[-1]:
                runs[-1], run_k[-1] = vals[k], k
            else:
                cuts.append(child)
                runs.append(vals[k])
                run_k.append(k)
        cuts.append(n)
        entries = np.empty(n, dtype=np.int32)
        for r, value in enumerate(runs):  # a block holds a few runs: slices beat np.repeat here
            entries[cuts[r]: cuts[r + 1]] = value
        for child, last in inner.items():
            first = run_k[bisect_right(cuts, child) - 1]
            entries[child] = block(first, last, base + (child << child_bits), level + 1)
        return -place(entries) - 1

    return block(0, len(starts) - 1, 0, 0)


def lookup(nodes: np.ndarray, entry: np.ndarray, words: tuple, schedule) -> np.ndarray:
    """Values of keys (``words`` = (hi, lo) uint64 columns) in the tries rooted at ``entry``.

    While every packet is still at a pointer a level is three whole-batch operations; once
    some reach leaves, only the packets still at a pointer are gathered. Keys of at most 32
    bits (IPv4, services) are narrowed to uint32 once, which halves the memory traffic.
    """
    e = np.array(entry, dtype=np.int32)
    if schedule is V4_LEVELS or schedule is SERVICE_LEVELS:
        words = (None, words[1].astype(np.uint32))
        one = np.uint32
    else:
        one = np.uint64
    inner = e < 0
    act = None if inner.all() else np.flatnonzero(inner)
    for word, shift, bits in schedule:
        if act is not None and not len(act):
            break
        key = words[word] if act is None else words[word][act]
        chunk = (key >> one(shift)) & one((1 << bits) - 1)
        chunk = chunk.view(np.int32 if one is np.uint32 else np.int64)
        if act is None:  # everyone still inside the trie: no subsetting
            e = np.take(nodes, chunk + ~e)
            inner = e < 0
            if not inner.all():
                act = np.flatnonzero(inner)
        else:
            nxt = np.take(nodes, chunk + ~e[act])
            e[act] = nxt
            act = act[nxt < 0]
    return np.subtract(e, BIAS, dtype=np.int64)


def lookup_addr(nodes, root4, root6, v6, hi, lo) -> np.ndarray:
    """Address lookup for a mixed-family batch: each packet in the trie of its family."""
    if not v6.any():  # the common all-IPv4 batch: no masking
        return lookup(nodes, root4, (hi, lo), V4_LEVELS)
    if v6.all():
        return lookup(nodes, root6, (hi, lo), V6_LEVELS)
    out = np.empty(len(v6), dtype=np.int64)
    four = ~v6
    if four.any():
        out[four] = lookup(nodes, root4[four], (hi[four], lo[four]), V4_LEVELS)
    if v6.any():
        out[v6] = lookup(nodes, root6[v6], (hi[v6], lo[v6]), V6_LEVELS)
    return out


# ------------------------------------------------------------------------------------------
# Arenas


class Arena:
    """An append-only numpy buffer shared by successive compiles (see the module docstring)."""

    def __init__(self, dtype, capacity: int = 1024, first=0):
        self._buf = np.zeros(max(capacity, 1), dtype=dtype)
        self._buf[0] = first
        self._used = 1  # entry 0 stays a harmless target for masked gathers
        self._lock = threading.Lock()
        self._memo: dict[int, int] = {}  # hash of a trie block's bytes → its offset

    def append(self, data: np.ndarray) -> int:
        """Copy ``data`` in at the high-water mark; return its offset."""
        with self._lock:
            return self._append_locked(data)

    def _append_locked(self, data: np.ndarray) -> int:
        need = self._used + len(data)
        if need > len(self._buf):
            grown = np.zeros(max(need, 2 * len(self._buf)), dtype=self._buf.dtype)
            grown[: self._used] = self._buf[: self._used]
            self._buf = grown
        offset = self._used
        self._buf[offset:need] = data
        self._used = need
        return offset

    def place_block(self, entries: np.ndarray) -> int:
        """Store one trie block, or find an identical one already stored (the caller holds
        the lock). Blocks are shared by content: a block's pointers are arena offsets of
        blocks that never change, so equal content means an equal subtrie. Sparse sets —
        a group's members, one address per /24 — repeat the same few leaf blocks endlessly."""
        data = entries.tobytes()
        key = hash(data)
        found = self._memo.get(key)
        if found is not None and self._buf[found: found + len(entries)].tobytes() == data:
            return found
        offset = self._append_locked(entries)
        if len(self._memo) < MEMO_LIMIT:
            self._memo.setdefault(key, offset)
        return offset

    def view(self) -> np.ndarray:
        """The written prefix (what the tables compiled now may refer to)."""
        return self._buf[: self._used]

    @property
    def used(self) -> int:
        return self._used


def place_trie(arena: Arena, starts, values, strides) -> int:
    """Build a partition's trie into ``arena``; return its root entry."""
    if len(starts) == 1:
        return leaf(int(values[0]))
    with arena._lock:  # blocks are placed one by one as the trie is built
        return build(list(starts), list(values), strides, arena.place_block)
