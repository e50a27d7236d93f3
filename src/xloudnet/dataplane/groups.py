"""Security groups: each (group, direction) compiled once into a classifier, evaluated in batches.

A rule is an allow on three dimensions:

- the *service* key (``model.services``) ``v6 << 24 | protocol << 16 | value`` where value is
  the destination port (tcp, udp, sctp, dccp, udplite), ``type << 8 | code`` (ICMP, ICMPv6) or 0.
  A rule is one or a few ranges of that 25-bit space: protocol "any" of an ethertype is one
  range, a port range is one range, an ICMP type with any code is 256 codes in a row;
- the remote address: a ``remote_ip_prefix`` range (or everything), matched through the
  group's own address partition; or
- a ``remote_group_id``: a *conjunctive* reference — the group's table says which service
  classes the reference admits, and membership of the remote address in the referenced group
  is looked up at evaluation time in that group's member trie. Members are never copied into
  the referencing group, so a port joining or leaving G rebuilds G's member trie only.

Per (group, direction) the compiled ``GroupDir`` holds a service trie, an address trie per
family, the table ``T[service class, address class]`` → first matching rule (rules ordered by
id), and ``U[service class, 1 + reference]`` → first matching remote-group rule, whose column 0
is the first over all references (packets that no reference could decide skip the membership
lookups). All pieces sit in shared arenas, so one batch evaluates packets against different
groups at once. A port with many packets in a batch is decided by its group set's merged
classifier instead (``classifier.py``); both paths pick the same rule.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from ..model import services
from ..model.protocols import ICMP_PROTOCOLS, PORT_PROTOCOLS, protocol_number
from . import classifier, trie
from .addresses import parse_range

SERVICE_TOP = (1 << 25) - 1
TOPS = {False: (1 << 32) - 1, True: (1 << 128) - 1}
EGRESS, INGRESS = 0, 1
HOT = 4096  # packets of one port in a batch from which its merged classifier pays for itself
DIRECTIONS = {"egress": EGRESS, "ingress": INGRESS}


def rule_v6(rule: dict) -> bool:
    """The rule's family (ethertype defaults to IPv4)."""
    return (rule.get("ethertype") or "IPv4") == "IPv6"


def service_ranges(rule: dict) -> list[tuple[int, int]]:
    """The rule's ranges in the 25-bit service space (empty when it can match nothing)."""
    v6 = rule_v6(rule)
    try:
        proto = protocol_number(rule.get("protocol"), 6 if v6 else 4)
    except ValueError:
        return []
    if proto is None:
        return [services.family_span(v6)]
    base = services.pack(int(v6), proto)
    lo, hi = rule.get("port_range_min"), rule.get("port_range_max")
    if proto in PORT_PROTOCOLS:
        if lo is None and hi is None:
            return [services.protocol_span(v6, proto)]
        lo, hi = (0 if lo is None else int(lo)), (0xFFFF if hi is None else int(hi))
        return [(base | lo, base | hi)] if 0 <= lo <= hi <= 0xFFFF else []
    if proto in ICMP_PROTOCOLS:
        return _icmp_ranges(base, lo, hi)
    return [services.protocol_span(v6, proto)]


def _icmp_ranges(base: int, kind, code) -> list[tuple[int, int]]:
    """ICMP type = port_range_min, code = port_range_max; ``None`` is "any", 0 a real code."""
    if kind is None and code is None:
        return [(base, base | services.VALUE_MASK)]
    if kind is None:
        return [(base | services.icmp_value(t, int(code)),) * 2 for t in range(256)] if 0 <= int(code) <= 255 else []
    if not 0 <= int(kind) <= 255:
        return []
    if code is None:
        return [(base | services.icmp_value(int(kind), 0), base | services.icmp_value(int(kind), 0xFF))]
    return [(base | services.icmp_value(int(kind), int(code)),) * 2] if 0 <= int(code) <= 255 else []


def remote_range(rule: dict) -> tuple[int, int] | None:
    """The remote prefix as a range of the rule's family; ``None`` when it cannot match."""
    v6 = rule_v6(rule)
    prefix = rule.get("remote_ip_prefix")
    if prefix is None:
        return 0, TOPS[v6]
    try:
        fam6, first, last = parse_range(prefix)
    except ValueError:
        return None
    return (first, last) if fam6 == v6 else None


@dataclass
class GroupDir:
    """One (group, direction) classifier, placed in the arenas (see the module docstring)."""

    rule_ids: list[str]
    svc_starts: list[int]
    svc_root: int
    addr_roots: tuple[int, int]
    sizes: tuple[int, int]  # address classes per family (v4, v6)
    t_bases: tuple[int, int]
    u_base: int
    refs: list[str]
    ref_limits: dict = field(default_factory=dict)  # rule index → remote range (prefix + group)
    specs: list = field(default_factory=list)  # per rule: (v6, service ranges, remote range, group)


def compile_groupdir(rules: list[dict], nodes: trie.Arena, cells: trie.Arena) -> GroupDir:
    """Compile one direction of one group's rules (already sorted by id)."""
    svc = [service_ranges(r) for r in rules]
    svc_starts = trie.elementary([rg for ranges in svc for rg in ranges], SERVICE_TOP)
    n_svc = len(svc_starts)
    refs = sorted({r["remote_group_id"] for r in rules if r.get("remote_group_id")})
    addr = [remote_range(r) for r in rules]
    tables, roots, addr_starts = [], [], []
    for v6 in (False, True):
        spans = [a for r, a in zip(rules, addr) if a and rule_v6(r) == v6 and not r.get("remote_group_id")]
        starts = trie.elementary(spans, TOPS[v6])
        roots.append(trie.place_trie(nodes, starts, list(range(len(starts))), (8,) * (16 if v6 else 4)))
        addr_starts.append(starts)
        tables.append(np.full((n_svc, len(starts)), -1, dtype=np.int32))
    u = np.full((n_svc, len(refs) + 1), -1, dtype=np.int32)  # column 0: the best of the others
    limits = {}
    for idx in range(len(rules) - 1, -1, -1):
        rule, area = rules[idx], addr[idx]
        if area is None:
            continue
        classes = [_span(svc_starts, lo, hi) for lo, hi in svc[idx]]
        remote = rule.get("remote_group_id")
        if remote:
            col = 1 + refs.index(remote)
            for s0, s1 in classes:
                u[s0:s1, col] = idx
            if rule.get("remote_ip_prefix") is not None:
                limits[idx] = (rule_v6(rule),) + area
            continue
        v6 = rule_v6(rule)
        a0, a1 = _span(addr_starts[v6], *area)
        for s0, s1 in classes:
            tables[v6][s0:s1, a0:a1] = idx
    svc_root = trie.place_trie(nodes, svc_starts, list(range(n_svc)), (9, 8, 8))
    t_bases = tuple(cells.append(t.ravel()) for t in tables)
    if refs:  # the first remote-group rule of each service class, whatever its group
        body = np.where(u[:, 1:] >= 0, u[:, 1:], np.iinfo(np.int32).max).min(axis=1)
        u[:, 0] = np.where(body == np.iinfo(np.int32).max, -1, body)
    u_base = cells.append(u.ravel())
    sizes = (len(addr_starts[0]), len(addr_starts[1]))
    specs = [(rule_v6(r), ranges, area, r.get("remote_group_id") or None)
             for r, ranges, area in zip(rules, svc, addr)]
    return GroupDir([r["id"] for r in rules], svc_starts, svc_root, tuple(roots), sizes,
                    t_bases, u_base, refs, limits, specs)


def _span(starts: list[int], lo: int, hi: int) -> tuple[int, int]:
    """Class slice ``[first, last + 1)`` of the elementary intervals covering ``[lo, hi]``."""
    return bisect_right(starts, lo) - 1, bisect_right(starts, hi)


def limits_block(gdir: GroupDir) -> np.ndarray | None:
    """Rows ``[limited, first_hi, first_lo, last_hi, last_lo]`` per rule (rules that name both a
    remote group and a prefix — which the API refuses, but a snapshot may carry)."""
    if not gdir.ref_limits:
        return None
    block = np.zeros((len(gdir.rule_ids), 5), dtype=np.uint64)
    for idx, (_v6, first, last) in gdir.ref_limits.items():
        block[idx] = (1, first >> 64, first & trie_mask(), last >> 64, last & trie_mask())
    return block.ravel()


def trie_mask() -> int:
    return (1 << 64) - 1


# ------------------------------------------------------------------------------------------
# Evaluation (vectorised over packets; ``tb`` is a FlowTables)


def decide(tb, gd: np.ndarray, v6: np.ndarray, svc: np.ndarray, hi: np.ndarray,
           lo: np.ndarray, fixed: "FixedService | None" = None) -> np.ndarray:
    """First matching rule (index within its GroupDir) per (packet, group-direction), else -1.

    ``svc`` is the service key, ``hi``/``lo`` the remote address as this port sees it;
    ``fixed`` the per-group-direction rows when the whole batch has one service.
    """
    if fixed is None:
        s = trie.lookup(tb.nodes, tb.gd.svc[gd], (svc, svc), trie.SERVICE_LEVELS)
        stride = tb.gd.nref[gd] + 1
        cell4, row = tb.gd.t4[gd] + s * tb.gd.n4[gd], tb.gd.u[gd] + s * stride
        cell6 = (tb.gd.t6[gd] + s * tb.gd.n6[gd]) if v6.any() else None
        best = np.take(tb.cells, row)
    else:
        cell4, row, best = fixed.cell4[gd], fixed.row[gd], fixed.best[gd]
        cell6 = fixed.cell6[gd] if v6.any() else None
    if cell6 is None:  # the usual all-IPv4 batch
        rule = np.take(tb.cells, cell4 + trie.lookup(tb.nodes, tb.gd.a4[gd], (hi, lo), trie.V4_LEVELS))
    else:
        a = trie.lookup_addr(tb.nodes, tb.gd.a4[gd], tb.gd.a6[gd], v6, hi, lo)
        rule = np.take(tb.cells, np.where(v6, cell6, cell4) + a)
    # ``best``: the first remote-group rule of the class, whichever group it names
    cand = np.flatnonzero((best >= 0) & ((rule < 0) | (best < rule)))
    if len(cand):
        _references(tb, gd[cand], row[cand], v6[cand], hi[cand], lo[cand], rule, cand)
    return rule


class FixedService:
    """Per group-direction rows of one service (see ``decide``), computed once per batch."""

    def __init__(self, tb, key, direction: int):
        rows = np.arange(direction, len(tb.gd.svc), 2)
        keys = np.full(len(rows), key, dtype=np.uint64)
        s = np.zeros(len(tb.gd.svc), dtype=np.int64)
        s[rows] = trie.lookup(tb.nodes, tb.gd.svc[rows], (keys, keys), trie.SERVICE_LEVELS)
        self.cell4 = tb.gd.t4 + s * tb.gd.n4
        self.cell6 = tb.gd.t6 + s * tb.gd.n6
        self.row = tb.gd.u + s * (tb.gd.nref + 1)
        self.best = np.take(tb.cells, self.row)


def _references(tb, gd, row, v6, hi, lo, rule, at) -> None:
    """Remote-group rules that could beat ``rule[at]``: membership of the remote address in
    each referenced group in turn (a group-direction references a few)."""
    nref = tb.gd.nref[gd]
    live = np.arange(len(gd))
    limited = len(tb.limits) > 1  # some rule names both a remote group and a prefix
    for r in range(int(nref.max())):
        live = live[nref[live] > r]
        ur = np.take(tb.cells, row[live] + (1 + r))
        current = rule[at[live]]
        ok = (ur >= 0) & ((current < 0) | (ur < current))
        cand, ur = live[ok], ur[ok]
        if not len(cand):
            continue
        group = tb.refs[tb.gd.refs[gd[cand]] + r]
        if v6[cand].any():
            member = trie.lookup_addr(tb.nodes, tb.grp.mem4[group], tb.grp.mem6[group],
                                      v6[cand], hi[cand], lo[cand]) > 0
        else:
            member = trie.lookup(tb.nodes, tb.grp.mem4[group], (None, lo[cand]), trie.V4_LEVELS) > 0
        if limited:
            member &= _within_limits(tb, gd[cand], ur, hi[cand], lo[cand])
        rule[at[cand[member]]] = ur[member]


def _within_limits(tb, gd, idx, hi, lo) -> np.ndarray:
    """Rules with a remote group *and* a prefix also need the prefix to hold."""
    base = tb.gd.lim[gd]
    ok = np.ones(len(gd), dtype=bool)
    limited = np.flatnonzero(base >= 0)
    if len(limited):
        at = base[limited] + idx[limited] * 5
        lim = tb.limits
        flagged = lim[at] == 1
        inside = ((hi[limited] > lim[at + 1]) | ((hi[limited] == lim[at + 1]) & (lo[limited] >= lim[at + 2]))) & (
            (hi[limited] < lim[at + 3]) | ((hi[limited] == lim[at + 3]) & (lo[limited] <= lim[at + 4])))
        ok[limited] = ~flagged | inside
    return ok


def port_verdict(tb, port: np.ndarray, direction: int, v6, svc, hi, lo, hot: int | None = None):
    """A port's groups for a batch: ``(allowed, group-direction, rule index)`` per packet.

    The deciding rule is the first matching one in the port's group order, then rule id order.
    Ports with at least ``hot`` packets in the batch (default ``HOT``) use their group set's
    merged classifier (``classifier.py``); the others try their groups column by column (a
    port has a few), each only for the packets that no earlier group admitted.
    """
    n, hot = len(port), HOT if hot is None else hot
    if n >= hot and n and port[0] == port[-1] and (port == port[0]).all():
        merged = classifier.merged_for(tb, int(port[0]), direction)
        if merged is not None:  # the whole batch at one port: no scatter needed
            return merged.decide(v6, svc, hi, lo)
    chosen_gd = np.full(n, -1, dtype=np.int64)
    chosen_rule = np.full(n, -1, dtype=np.int64)
    cold = _hot_ports(tb, port, direction, v6, svc, hi, lo, hot, chosen_gd, chosen_rule)
    _by_group(tb, port, direction, (v6, svc, hi, lo), cold, chosen_gd, chosen_rule)
    return chosen_rule >= 0, chosen_gd, chosen_rule


def _hot_ports(tb, port, direction, v6, svc, hi, lo, hot, chosen_gd, chosen_rule):
    """Decide the packets of ports with ``hot`` packets or more; return the indexes of the
    others (``None``: all of them)."""
    if len(port) < hot:
        return None
    busy = np.flatnonzero(np.bincount(port) >= hot)
    if not len(busy):
        return None
    cold = np.ones(len(port), dtype=bool)
    for p in busy.tolist():
        merged = classifier.merged_for(tb, p, direction)
        if merged is None:
            continue
        sel = np.flatnonzero(port == p)
        _allowed, chosen_gd[sel], chosen_rule[sel] = merged.decide(v6[sel], svc[sel], hi[sel], lo[sel])
        cold[sel] = False
    return np.flatnonzero(cold)


def _by_group(tb, port, direction, headers, at, chosen_gd, chosen_rule) -> None:
    """The per-group path: each group column in turn, for the packets still undecided
    (``at``: their indexes, ``None`` while that is every packet — no gathers needed)."""
    fixed = _fixed_service(tb, headers[1], direction)
    for col in range(tb.port.groups.shape[1]):
        column = tb.port.groups[:, col]
        g = column[port] if at is None else column[port[at]]
        live = g >= 0
        if at is not None or not live.all():
            at = np.flatnonzero(live) if at is None else at[live]
            g = g[live]
        if not len(g):
            break
        gd = g.astype(np.int64) * 2 + direction
        v6, svc, hi, lo = (h if at is None else h[at] for h in headers)
        rule = decide(tb, gd, v6, svc, hi, lo, fixed)
        hit = rule >= 0
        if at is None:
            chosen_gd[hit], chosen_rule[hit] = gd[hit], rule[hit]
            at = np.flatnonzero(~hit)
        else:
            chosen_gd[at[hit]], chosen_rule[at[hit]] = gd[hit], rule[hit]
            at = at[~hit]


def _fixed_service(tb, svc: np.ndarray, direction: int) -> FixedService | None:
    """When the whole batch asks about one service (a matrix), the per-group-direction rows
    of that service, looked up once instead of once per packet."""
    if len(svc) < 4 * len(tb.gd.svc) or svc[0] != svc[-1] or not (svc == svc[0]).all():
        return None
    return FixedService(tb, svc[0], direction)
