"""``FlowTables``: a Snapshot compiled to numpy struct-of-arrays (the compiler is ``compiler.py``).

Layout (all columns are indexed by stable *slots*, see ``rows.py``):

- ``port_*``: network, admin state, filtered (port security on and not ``network:*``), router
  and gateway flags, group slots (2-D, -1 padded), fixed IPs (2-D: family, hi/lo, subnet) and
  allowed address pairs (2-D: family, first/last as hi/lo), fallback source subnet per family;
- ``net_*``: admin state, external, owner-map roots per family (``topology.network_roots``);
- ``sub_*``: route-table roots and entry base (host routes, then the gateway);
- ``rt_*``: admin state, route-table roots and entry base, DNAT and source-FIP roots, gateway
  port, gateway IPv4 address, ``enable_snat``;
- ``fip_*``: floating and fixed IPv4 address, router;
- ``grp_*``: stateful, membership roots; ``gd_*`` (row ``2 * group + direction``): the
  ``GroupDir`` classifier of ``groups.py``.

Addresses are two uint64 columns (``hi``, ``lo``; IPv4 in ``lo``) with a separate family flag.
Tries, decision cells, references and route entries live in append-only arenas shared along a
lineage of compiles. ``compiler.compile_tables(snapshot, previous)`` diffs the snapshot against
``previous.snapshot`` by record identity (records are immutable), rebuilds only the pieces that
depend on changed records (one group-direction for a rule change, one router for a route
change), and patches the rows of changed records.
"""

from __future__ import annotations

from itertools import compress
from operator import is_not

import numpy as np

from ..control.snapshot import Snapshot
from . import classifier
from . import groups as sg
from . import topology as topo
from . import trie
from .rows import Rows, Slots

I32, I64, U64, B = np.int32, np.int64, np.uint64, np.bool_
NONE_ROOT = trie.leaf(-1)
ZERO_ROOT = trie.leaf(0)

SPECS = {
    "port": {"net": (I32, -1, False), "admin": (B, False, False), "filtered": (B, False, False),
             "router": (I32, -1, False), "gw": (B, False, False), "rport": (B, False, False),
             "fallback4": (I32, -1, False), "fallback6": (I32, -1, False),
             "groups": (I32, -1, True), "fx_valid": (B, False, True), "fx_v6": (B, False, True),
             "fx_hi": (U64, 0, True), "fx_lo": (U64, 0, True), "fx_sub": (I32, -1, True),
             "pr_valid": (B, False, True), "pr_v6": (B, False, True),
             "pr_fhi": (U64, 0, True), "pr_flo": (U64, 0, True),
             "pr_lhi": (U64, 0, True), "pr_llo": (U64, 0, True)},
    "net": {"admin": (B, False, False), "external": (B, False, False),
            "own4": (I64, NONE_ROOT, False), "own6": (I64, NONE_ROOT, False)},
    "sub": {"rt4": (I64, NONE_ROOT, False), "rt6": (I64, NONE_ROOT, False), "base": (I64, 0, False)},
    "rt": {"admin": (B, False, False), "main4": (I64, NONE_ROOT, False),
           "main6": (I64, NONE_ROOT, False), "base": (I64, 0, False),
           "dnat": (I64, NONE_ROOT, False), "srcfip": (I64, NONE_ROOT, False),
           "gw_port": (I32, -1, False), "gw4_has": (B, False, False), "gw4": (U64, 0, False),
           "snat": (B, True, False)},
    "fip": {"addr": (U64, 0, False), "fixed": (U64, 0, False), "router": (I32, -1, False)},
    "grp": {"stateful": (B, True, False), "mem4": (I64, ZERO_ROOT, False),
            "mem6": (I64, ZERO_ROOT, False)},
    "gd": {"svc": (I64, ZERO_ROOT, False), "a4": (I64, ZERO_ROOT, False),
           "a6": (I64, ZERO_ROOT, False), "n4": (I64, 1, False), "n6": (I64, 1, False),
           "t4": (I64, 0, False), "t6": (I64, 0, False), "u": (I64, 0, False),
           "nref": (I64, 0, False), "refs": (I64, 0, False), "lim": (I64, -1, False)},
}


class Arenas:
    """The shared append-only buffers of one lineage of tables."""

    def __init__(self):
        self.nodes = trie.Arena(np.int32, 1 << 16)
        self.cells = trie.Arena(np.int32, 1 << 14, first=-1)  # cell 0: "no rule" for groups without rules
        self.refs = trie.Arena(np.int32, 1 << 10)
        self.limits = trie.Arena(np.uint64, 16)
        self.entries = trie.Arena(topo.ENTRY_DTYPE, 1 << 10)
        self.merged = classifier.Cache()  # merged group-set classifiers, built on demand


class FlowTables:
    """Compiled tables (see the module docstring). Treat as read-only."""

    def __init__(self, snapshot: Snapshot, arenas: Arenas):
        self.snapshot = snapshot
        self.revision = snapshot.revision
        self.arenas = arenas
        self.slots: dict[str, Slots] = {k: Slots() for k in ("port", "net", "sub", "rt", "fip", "grp")}
        self.rows: dict[str, Rows] = {k: Rows(spec) for k, spec in SPECS.items()}
        self.gdirs: dict = {}  # (group id, direction) → GroupDir
        self.members: dict = {}  # group id → member address ranges (v4, v6)
        self.router_tables: dict = {}  # router id → RouterTable
        self.subnet_tables: dict = {}  # subnet id → RouteTable
        self.index: dict[str, dict] = {k: {} for k in INDEXES}
        self.stats = {"rebuilt": {}}

    def freeze(self) -> "FlowTables":
        """Expose columns as attributes (``port_net``, ``gd_svc``, ...) and arena views."""
        for family, rows in self.rows.items():
            for name, column in rows.columns.items():
                setattr(self, f"{family}_{name}", column)
        self.nodes = self.arenas.nodes.view()
        self.cells = self.arenas.cells.view()
        self.refs = self.arenas.refs.view()
        self.limits = self.arenas.limits.view()
        self.entries = self.arenas.entries.view()
        for name in topo.ENTRY_DTYPE.names:  # per-field views: gathers of one field are cheaper
            setattr(self, f"entry_{name}", self.entries[name])
        # The first fixed IP as one IPv4 column (a value no IPv4 address has when it is not
        # IPv4): most packets are sent from it, and one compare checks that (``engine``).
        first = self.port_fx_valid[:, 0] & ~self.port_fx_v6[:, 0]
        self.port_first4 = np.where(first, self.port_fx_lo[:, 0], np.uint64(1 << 63))
        self.member4, self.member6 = self.grp_mem4, self.grp_mem6
        return self

    # Helpers for callers (query resolution, traces).
    def port_slot(self, port_id: str) -> int:
        return self.slots["port"].get(port_id)

    def ids(self, family: str) -> tuple:
        return self.slots[family].ids

    def qos_policy(self, port_id: str) -> str | None:
        """The QoS policy bound to a port: its own, else its network's (for the simulator)."""
        port = self.snapshot.ports.get(port_id) or {}
        if port.get("qos_policy_id"):
            return port["qos_policy_id"]
        return (self.snapshot.networks.get(port.get("network_id")) or {}).get("qos_policy_id")


INDEXES = ("net_ports", "grp_members", "rt_ports", "grp_rules", "net_subnets", "rt_fips", "net_fips")


def diff(old, new, candidates=None) -> set:
    """Ids whose record was added, removed or replaced (records compare by identity).
    ``candidates``: the only ids that may have changed (see ``compile_tables``), if known."""
    if old is new:
        return set()
    if candidates is not None:
        found = {k for k in candidates if old.get(k) is not new.get(k)}
        added = sum(1 for k in found if k not in old)
        removed = sum(1 for k in found if k not in new)
        if len(old) + added - removed == len(new):
            return found
    if len(old) == len(new):
        keys = list(new)
        if keys == list(old):
            return set(compress(keys, map(is_not, old.values(), new.values())))
    get = new.get  # two passes, no key-set union: three times faster on a 10k-record map
    changed = {k for k, v in old.items() if get(k) is not v}  # removed or replaced
    changed.update(k for k in new if k not in old)  # added
    return changed


__all__ = ["FlowTables", "diff", "Arenas", "SPECS", "sg", "topo"]
