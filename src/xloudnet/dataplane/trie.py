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
an earlier one (the what-if "before" and "after" stay valid together).
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right

import numpy as np

BIAS = 16
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


def build(starts: list[int], values: list[int], strides: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """Compile a partition to ``(nodes, root)``; pointers in ``nodes`` are local (offset 0)."""
    blocks: list[np.ndarray] = []
    sizes = [0]
    vals = np.asarray(values, dtype=np.int64) + BIAS
    total = sum(strides)

    def block(lo: int, hi: int, base: int, level: int) -> int:
        if lo == hi:
            return int(vals[lo])
        stride = strides[level]
        child_bits = total - sum(strides[: level + 1])
        width_mask = (1 << child_bits) - 1
        n = 1 << stride
        marks = np.full(n, -1, dtype=np.int64)
        inner: dict[int, int] = {}
        for k in range(lo + 1, hi + 1):
            rel = starts[k] - base
            child = rel >> child_bits
            if rel & width_mask:
                inner[child] = k
                child += 1
            if child < n:
                marks[child] = k
        marks[0] = max(marks[0], lo)
        idx = np.maximum.accumulate(marks)
        entries = vals[idx].astype(np.int32)
        offset = sizes[0]
        sizes[0] += n
        blocks.append(entries)
        for child, last in inner.items():
            first = int(idx[child])
            entries[child] = block(first, last, base + (child << child_bits), level + 1)
        return -offset - 1

    root = block(0, len(starts) - 1, 0, 0)
    nodes = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int32)
    return nodes.astype(np.int32, copy=False), root


def relocate(nodes: np.ndarray, root: int, base: int) -> tuple[np.ndarray, int]:
    """Shift local pointers so the nodes can sit at ``base`` in an arena."""
    moved = np.where(nodes < 0, nodes - base, nodes).astype(np.int32)
    return moved, (root - base if root < 0 else root)


def lookup(nodes: np.ndarray, entry: np.ndarray, words: tuple, schedule) -> np.ndarray:
    """Values of keys (``words`` = (hi, lo) uint64 columns) in the tries rooted at ``entry``.

    Each level gathers only the packets still at a pointer (the batch shrinks as leaves are hit).
    """
    e = np.array(entry, dtype=np.int64)
    act = np.flatnonzero(e < 0)
    full = len(act) == len(e)
    for word, shift, bits in schedule:
        if not len(act):
            break
        key = words[word] if full else words[word][act]
        chunk = ((key >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).view(np.int64)
        nxt = nodes[chunk - (e if full else e[act]) - 1]
        if full:
            e = nxt.astype(np.int64)
        else:
            e[act] = nxt
        keep = nxt < 0
        act = act[keep]
        full = full and bool(keep.all())
    return e - BIAS


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

    def append_trie(self, nodes: np.ndarray, root: int) -> int:
        """Append locally addressed trie nodes, relocating them; return the root entry."""
        with self._lock:
            base = self._used
            moved, root = relocate(nodes, root, base)
            self._append_locked(moved)
            return root

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
    nodes, root = build(list(starts), list(values), strides)
    return arena.append_trie(nodes, root)
