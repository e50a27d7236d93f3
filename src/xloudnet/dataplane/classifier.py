"""One merged, flat classifier per (group set, direction), for ports that see many packets.

``groups.decide`` walks a port's groups one at a time, and each group's remote-group rules
need a member-trie lookup per reference. For a port that receives a large batch this module
merges all the rules of the port's groups (port group order, then rule id order) into one
table: the service space and the remote address space are each cut at every rule boundary
(prefix bounds *and* the member addresses of every referenced group, so membership is a
property of the address class), and ``T[service class, address class]`` holds the first
matching merged rule. Identical rows and columns of ``T`` are merged, so the tables stay
small. A packet's decision is then a fixed number of gathers: a full-depth *flat* trie per
dimension (every level present, no branching per packet) and one cell.

Classifiers are built on demand and cached on the lineage's ``Arenas``, keyed by the identity
of the pieces they were built from (each group-direction's cell base and each referenced
group's member roots, which are unique offsets in the append-only arenas), so a recompile that
leaves those pieces alone reuses them and one that replaces a piece simply misses the cache.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import trie

SERVICE_TOP = (1 << 25) - 1
TOPS = {False: (1 << 32) - 1, True: (1 << 128) - 1}
SVC_STRIDES = (9, 8, 8)
ADDR_STRIDES = {False: (8, 8, 8, 8), True: (8,) * 16}
MAX_CELLS = 1 << 23  # a larger product of classes falls back to the per-group path
CACHE_ENTRIES, CACHE_BYTES = 256, 256 << 20
CHUNK = 1 << 16  # packets per slice when deciding a big batch


# ------------------------------------------------------------------------------------------
# Flat tries: every level present, so a lookup is a fixed chain of gathers


def flat_trie(starts: list[int], values: list[int], strides: tuple[int, ...]) -> np.ndarray:
    """A partition as a full-depth trie (int32): the root block sits at offset 0, inner
    entries are block offsets and last-level entries are values. Blocks are shared by content."""
    big = sum(strides) > 62
    keys = np.array(starts, dtype=object if big else np.int64)
    vals = np.asarray(values, dtype=np.int64)
    total = sum(strides)
    out: list[np.ndarray] = [np.zeros(1 << strides[0], dtype=np.int32)]  # root placeholder
    used = [1 << strides[0]]
    memo: dict = {}

    def place(content: np.ndarray) -> int:
        key = (len(content), content.tobytes())
        if key not in memo:
            memo[key] = used[0]
            out.append(content)
            used[0] += len(content)
        return memo[key]

    def const(level: int, value: int) -> int:
        size = 1 << strides[level]
        inner = value if level == len(strides) - 1 else const(level + 1, value)
        return place(np.full(size, inner, dtype=np.int32))

    def block(base: int, level: int) -> np.ndarray:
        size, low = 1 << strides[level], total - sum(strides[: level + 1])
        span = np.arange(size, dtype=object if big else np.int64)
        first = base + (span << low)
        at_first = np.searchsorted(keys, first, "right") - 1
        if level == len(strides) - 1:
            return vals[at_first].astype(np.int32)
        at_last = np.searchsorted(keys, first + ((1 << low) - 1), "right") - 1
        content = np.empty(size, dtype=np.int32)
        same = at_first == at_last
        if same.any():  # whole children inside one interval: the shared constant chains
            values, which = np.unique(vals[at_first[same].astype(np.int64)], return_inverse=True)
            content[same] = np.array([const(level + 1, int(v)) for v in values], dtype=np.int32)[which]
        for c in np.flatnonzero(~same):
            content[c] = place(block(int(first[c]), level + 1))
        return content

    out[0][:] = block(0, 0)
    return np.concatenate(out)


def flat_schedule(strides: tuple[int, ...], words: int = 1) -> tuple:
    """``(word, shift, mask)`` per level for keys held in ``words`` 64-bit columns."""
    out, left = [], sum(strides)
    for stride in strides:
        left -= stride
        word = 0 if words == 1 else int(left < 64)
        out.append((word, left % 64 if words == 2 else left, (1 << stride) - 1))
    return tuple(out)


def flat_lookup(nodes: np.ndarray, words: tuple, schedule: tuple) -> np.ndarray:
    """Values of keys in a flat trie: one gather per level, no per-packet branching.

    32-bit keys (``uint32`` columns) stay in 32-bit arithmetic, which halves memory traffic."""
    narrow = words[0].dtype == np.uint32
    e = None
    for word, shift, mask in schedule:
        key = words[word]
        if narrow:
            chunk = ((key >> np.uint32(shift)) & np.uint32(mask)).view(np.int32)
        else:
            chunk = ((key >> np.uint64(shift)) & np.uint64(mask)).view(np.int64)
        e = np.take(nodes, chunk if e is None else e + chunk)
    return e


SVC_SCHEDULE = flat_schedule(SVC_STRIDES)
ADDR_SCHEDULE = {False: flat_schedule(ADDR_STRIDES[False]), True: flat_schedule(ADDR_STRIDES[True], 2)}


# ------------------------------------------------------------------------------------------
# Merged classifiers


@dataclass
class Merged:
    """A group set's merged classifier for one direction (see the module docstring)."""

    svc: np.ndarray  # flat trie: service key → row class
    addr: tuple  # per family, flat trie: remote address → column class
    cells: tuple  # per family: rows × columns → merged rule index, -1 for none
    width: tuple  # columns per family
    gd: np.ndarray  # merged rule index → group-direction row (index -1 → -1)
    rule: np.ndarray  # merged rule index → rule index within its GroupDir (index -1 → -1)

    @property
    def nbytes(self) -> int:
        arrays = (self.svc, *self.addr, *self.cells, self.gd, self.rule)
        return sum(a.nbytes for a in arrays)

    def decide(self, v6, svc, hi, lo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(allowed, group-direction row, rule index)`` per packet, as ``groups.port_verdict``.

        Worked through in slices of ``CHUNK`` packets so the temporaries stay in the CPU cache."""
        n = len(svc)
        allowed = np.empty(n, dtype=bool)
        gd, rule = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        for at in range(0, n, CHUNK):
            part = slice(at, at + CHUNK)
            k = self.classify(v6[part], svc[part], hi[part], lo[part])
            allowed[part] = k >= 0
            gd[part], rule[part] = np.take(self.gd, k), np.take(self.rule, k)
        return allowed, gd, rule

    def classify(self, v6: np.ndarray, svc: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """The first matching merged rule per packet (-1: none)."""
        row = flat_lookup(self.svc, (svc.astype(np.uint32),), SVC_SCHEDULE)
        if not v6.any():
            return self._cells(False, row, (lo.astype(np.uint32),))
        out = np.empty(len(v6), dtype=np.int32)
        for fam in (False, True):
            sel = v6 if fam else ~v6
            if sel.any():
                words = (hi[sel], lo[sel]) if fam else (lo[sel].astype(np.uint32),)
                out[sel] = self._cells(fam, row[sel], words)
        return out

    def _cells(self, fam: bool, row: np.ndarray, words: tuple) -> np.ndarray:
        col = flat_lookup(self.addr[fam], words, ADDR_SCHEDULE[fam])
        return np.take(self.cells[fam], row * self.width[fam] + col)


def build(gdirs: list, members: dict) -> Merged | None:
    """Merge ``gdirs`` — ``(gd row, GroupDir or None)`` in port group order — into one
    classifier; ``members``: group id → member ranges per family. ``None`` when too large."""
    rules = [(gd, idx, spec) for gd, gdir in gdirs if gdir is not None
             for idx, spec in enumerate(gdir.specs) if spec[1] and spec[2] is not None]
    svc_starts = trie.elementary([span for *_, spec in rules for span in spec[1]], SERVICE_TOP)
    classes, member_masks = {}, {}
    for fam in (False, True):
        mine = [spec for *_, spec in rules if spec[0] == fam]
        refs = sorted({spec[3] for spec in mine if spec[3]})
        spans = [spec[2] for spec in mine] + [r for g in refs for r in members.get(g, ((), ()))[fam]]
        classes[fam] = trie.elementary(spans, TOPS[fam])
        if len(svc_starts) * len(classes[fam]) > MAX_CELLS:
            return None
        member_masks[fam] = {g: _member_mask(members.get(g, ((), ()))[fam], classes[fam], fam) for g in refs}
    tables = {fam: np.full((len(svc_starts), len(classes[fam])), -1, dtype=np.int32) for fam in (False, True)}
    for k in range(len(rules) - 1, -1, -1):  # backwards: the first matching rule is painted last
        v6, services, area, remote = rules[k][2]
        a0, a1 = _span(classes[v6], *area)
        cols = slice(a0, a1)
        if remote:
            cols = np.zeros(len(classes[v6]), dtype=bool)
            cols[a0:a1] = member_masks[v6][remote][a0:a1]
        for lo, hi in services:
            s0, s1 = _span(svc_starts, lo, hi)
            tables[v6][s0:s1, cols] = k
    return _compress(svc_starts, classes, tables, rules)


def _member_mask(ranges, starts: list[int], fam: bool) -> np.ndarray:
    """Which address classes lie inside a group's member ranges (classes never straddle)."""
    mstarts, mvalues = trie.paint([(a, b, 1) for a, b in ranges], 0, TOPS[fam])
    return np.array([mvalues[bisect_right(mstarts, s) - 1] for s in starts], dtype=bool)


def _span(starts: list[int], lo: int, hi: int) -> tuple[int, int]:
    return bisect_right(starts, lo) - 1, bisect_right(starts, hi)


def _compress(svc_starts, classes, tables, rules) -> Merged:
    """Merge identical rows (service classes) and columns (address classes) of the tables."""
    both = np.concatenate([tables[False], tables[True]], axis=1)
    rows, row_of = _unique_rows(both)
    svc = flat_trie(*trie.merge(svc_starts, row_of.ravel().tolist()), SVC_STRIDES)
    addr, cells, width = [], [], []
    at = 0
    for fam in (False, True):
        part = rows[:, at: at + len(classes[fam])]
        at += len(classes[fam])
        cols, col_of = _unique_rows(part.T)
        cols = cols.T
        addr.append(flat_trie(*trie.merge(classes[fam], col_of.ravel().tolist()), ADDR_STRIDES[fam]))
        cells.append(np.ascontiguousarray(cols, dtype=np.int32).ravel())
        width.append(cols.shape[1])
    gd = np.array([r[0] for r in rules] + [-1], dtype=np.int64)  # last: k = -1 (no rule)
    rule = np.array([r[1] for r in rules] + [-1], dtype=np.int64)
    return Merged(svc, tuple(addr), tuple(cells), tuple(width), gd, rule)


def _unique_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct rows, row → distinct index)``. Rows are grouped by a random linear hash
    (``np.unique(axis=0)`` sorts rows as opaque records, which is far slower), then checked."""
    weights = np.random.default_rng(len(m)).integers(1, 1 << 62, size=(m.shape[1], 2), dtype=np.int64)
    with np.errstate(over="ignore"):
        hashed = m.astype(np.int64) @ weights  # wraps around: fine for a hash
    _keys, first, inverse = np.unique(hashed[:, 0] ^ (hashed[:, 1] << 1), return_index=True,
                                      return_inverse=True)
    distinct = m[first]
    if not np.array_equal(distinct[inverse], m):  # a hash collision: fall back to the exact way
        distinct, inverse = np.unique(m, axis=0, return_inverse=True)
    return distinct, inverse.ravel()


# ------------------------------------------------------------------------------------------
# The cache


class Cache:
    """Merged classifiers of one lineage, least recently used dropped first."""

    def __init__(self, entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES):
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._limits = (entries, max_bytes)
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, item: Merged | bool) -> None:
        """Store a classifier, or ``False`` for a group set too large to merge."""
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._bytes += item.nbytes if item else 0
            while len(self._items) > self._limits[0] or self._bytes > self._limits[1]:
                _key, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes if old else 0


def merged_for(tb, port: int, direction: int) -> Merged | None:
    """The (cached) merged classifier of a port's groups in one direction, or ``None``."""
    ids = tb.ids("grp")
    groups = [int(g) for g in tb.port.groups[port] if g >= 0]
    gdirs = [(2 * g + direction, tb.gdirs.get((ids[g], direction))) for g in groups]
    refs = sorted({spec[3] for _gd, gdir in gdirs if gdir is not None for spec in gdir.specs if spec[3]})
    ref_slots = [tb.slots["grp"].get(r) for r in refs]
    key = (direction, tuple(int(tb.gd.u[gd]) for gd, _ in gdirs),
           tuple((int(tb.grp.mem4[s]), int(tb.grp.mem6[s])) if s >= 0 else (0, 0) for s in ref_slots))
    cache = tb.arenas.merged
    found = cache.get(key)
    if found is None:
        found = build(gdirs, {r: tb.members.get(r, ((), ())) for r in refs}) or False
        cache.put(key, found)
    return found or None
