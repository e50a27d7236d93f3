"""``FlowTables``: a Snapshot compiled to numpy struct-of-arrays (the compiler is ``compiler.py``).

Layout (all columns are indexed by stable *slots*, see ``rows.py``):

- ``port_*``: network, admin state, filtered (port security on and not ``network:*``), router
  and gateway flags, group slots (2-D, -1 padded), fixed IPs (2-D: family, hi/lo, subnet) and
  allowed address pairs (2-D: family, first/last as hi/lo), fallback source subnet per family;
- ``net_*``: admin state, external, owner-map roots per family (``topology.network_roots``),
  address scope per family and, on external networks, the announced scoped routes (``scopes``);
- ``sub_*``: route-table roots and entry base (host routes, then the gateway);
- ``rt_*``: admin state, route-table roots and entry base, DNAT and source-FIP roots, gateway
  port, gateway IPv4 address, ``enable_snat``;
- ``fip_*``: floating and fixed IPv4 address, router; port forwardings are one sorted table,
  ``forwards`` (``forwarding.py``);
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

from dataclasses import dataclass, field, fields
from itertools import compress
from operator import is_not

import numpy as np

from ..control.snapshot import Snapshot
from . import classifier
from . import groups as sg
from . import topology as topo
from . import trie
from .forwarding import ForwardTable
from .rows import Rows, Slots

I32, I64, U64, B = np.int32, np.int64, np.uint64, np.bool_
NONE_ROOT = trie.leaf(-1)
ZERO_ROOT = trie.leaf(0)

def column(dtype, fill, two_dimensional: bool = False):
    """A column of a group: its dtype, the value of rows no record fills, and whether it is 2-D
    (one row per slot, as wide as the widest record needs, padded with the fill)."""
    return field(metadata={"spec": (dtype, fill, two_dimensional)})


# The typed column groups (``tables.port.net``, ``tables.gd.svc``, ...). Each is a frozen view of
# one family's ``Rows`` taken when a compile finishes; its fields declare the columns' specs.
@dataclass(frozen=True, slots=True)
class PortColumns:
    net: np.ndarray = column(I32, -1)  # network slot
    admin: np.ndarray = column(B, False)
    filtered: np.ndarray = column(B, False)  # port security on and not ``network:*``
    router: np.ndarray = column(I32, -1)  # router slot of a router port
    gw: np.ndarray = column(B, False)  # a router's gateway port
    rport: np.ndarray = column(B, False)  # a router port (interface or gateway)
    fallback4: np.ndarray = column(I32, -1)  # subnet a non-fixed source routes by, per family
    fallback6: np.ndarray = column(I32, -1)
    groups: np.ndarray = column(I32, -1, True)  # group slots
    fx_valid: np.ndarray = column(B, False, True)  # fixed IPs: family, address, subnet slot
    fx_v6: np.ndarray = column(B, False, True)
    fx_hi: np.ndarray = column(U64, 0, True)
    fx_lo: np.ndarray = column(U64, 0, True)
    fx_sub: np.ndarray = column(I32, -1, True)
    pr_valid: np.ndarray = column(B, False, True)  # allowed address pairs: family, first, last
    pr_v6: np.ndarray = column(B, False, True)
    pr_fhi: np.ndarray = column(U64, 0, True)
    pr_flo: np.ndarray = column(U64, 0, True)
    pr_lhi: np.ndarray = column(U64, 0, True)
    pr_llo: np.ndarray = column(U64, 0, True)
    # Derived when frozen, not compiled: the first fixed IP as one IPv4 column (a value no IPv4
    # address has when it is not IPv4): most packets are sent from it, and one compare checks
    # that (``engine``).
    first4: np.ndarray = field(default=None)


@dataclass(frozen=True, slots=True)
class NetworkColumns:
    admin: np.ndarray = column(B, False)
    external: np.ndarray = column(B, False)
    own4: np.ndarray = column(I64, NONE_ROOT)  # owner-map roots per family (``topology``)
    own6: np.ndarray = column(I64, NONE_ROOT)
    scope4: np.ndarray = column(I32, -1)  # address scope per family (``scopes``; -1: none)
    scope6: np.ndarray = column(I32, -1)
    ann4: np.ndarray = column(I64, NONE_ROOT)  # external: scoped tenant space → gateway port slot
    ann6: np.ndarray = column(I64, NONE_ROOT)


@dataclass(frozen=True, slots=True)
class SubnetColumns:
    rt4: np.ndarray = column(I64, NONE_ROOT)  # route-table roots per family
    rt6: np.ndarray = column(I64, NONE_ROOT)
    base: np.ndarray = column(I64, 0)  # first route entry


@dataclass(frozen=True, slots=True)
class RouterColumns:
    admin: np.ndarray = column(B, False)
    main4: np.ndarray = column(I64, NONE_ROOT)  # route-table roots per family
    main6: np.ndarray = column(I64, NONE_ROOT)
    base: np.ndarray = column(I64, 0)  # first route entry
    dnat: np.ndarray = column(I64, NONE_ROOT)  # floating IP -> fip slot
    srcfip: np.ndarray = column(I64, NONE_ROOT)  # fixed IP -> its floating IP's slot
    gw_port: np.ndarray = column(I32, -1)
    gw4_has: np.ndarray = column(B, False)
    gw4: np.ndarray = column(U64, 0)  # gateway IPv4 address
    snat: np.ndarray = column(B, True)  # ``enable_snat``


@dataclass(frozen=True, slots=True)
class FloatingIPColumns:
    addr: np.ndarray = column(U64, 0)
    fixed: np.ndarray = column(U64, 0)
    router: np.ndarray = column(I32, -1)


@dataclass(frozen=True, slots=True)
class GroupColumns:
    stateful: np.ndarray = column(B, True)
    mem4: np.ndarray = column(I64, ZERO_ROOT)  # member-address trie roots per family
    mem6: np.ndarray = column(I64, ZERO_ROOT)


@dataclass(frozen=True, slots=True)
class GroupDirColumns:
    """Row ``2 * group + direction``: the ``GroupDir`` classifier of ``groups.py``."""

    svc: np.ndarray = column(I64, ZERO_ROOT)
    a4: np.ndarray = column(I64, ZERO_ROOT)
    a6: np.ndarray = column(I64, ZERO_ROOT)
    n4: np.ndarray = column(I64, 1)
    n6: np.ndarray = column(I64, 1)
    t4: np.ndarray = column(I64, 0)
    t6: np.ndarray = column(I64, 0)
    u: np.ndarray = column(I64, 0)
    nref: np.ndarray = column(I64, 0)
    refs: np.ndarray = column(I64, 0)
    lim: np.ndarray = column(I64, -1)


@dataclass(frozen=True, slots=True)
class EntryColumns:
    """Per-field views of the route-entry arena (``topology.ENTRY_DTYPE``): gathers of one
    field are cheaper than of the structured array."""

    kind: np.ndarray
    port: np.ndarray
    v6: np.ndarray
    nh_hi: np.ndarray
    nh_lo: np.ndarray
    aux: np.ndarray


GROUPS = {"port": PortColumns, "net": NetworkColumns, "sub": SubnetColumns, "rt": RouterColumns,
          "fip": FloatingIPColumns, "grp": GroupColumns, "gd": GroupDirColumns}
# family -> column -> (dtype, fill, two-dimensional), read off the declarations above.
SPECS = {family: {f.name: f.metadata["spec"] for f in fields(cls) if "spec" in f.metadata}
         for family, cls in GROUPS.items()}


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

    # Set by ``freeze`` at the end of every compile.
    port: PortColumns
    net: NetworkColumns
    sub: SubnetColumns
    rt: RouterColumns
    fip: FloatingIPColumns
    grp: GroupColumns
    gd: GroupDirColumns
    entry: EntryColumns
    nodes: np.ndarray  # arena views: trie nodes, decision cells, references, limits, route entries
    cells: np.ndarray
    refs: np.ndarray
    limits: np.ndarray
    entries: np.ndarray
    scoped: bool

    def __init__(self, snapshot: Snapshot, arenas: Arenas):
        self.snapshot = snapshot
        self.revision = snapshot.revision
        self.arenas = arenas
        self.slots: dict[str, Slots] = {k: Slots() for k in ("port", "net", "sub", "rt", "fip", "grp", "scope")}
        self.rows: dict[str, Rows] = {k: Rows(spec) for k, spec in SPECS.items()}
        self.gdirs: dict = {}  # (group id, direction) → GroupDir
        self.members: dict = {}  # group id → member address ranges (v4, v6)
        self.router_tables: dict = {}  # router id → RouterTable
        self.subnet_tables: dict = {}  # subnet id → RouteTable
        self.announced: dict = {}  # external network id → ``scopes.announced_routes`` (for traces)
        self.index: dict[str, dict] = {k: {} for k in INDEXES}
        self.forwards = ForwardTable()  # floating-IP port forwarding (``forwarding.py``)
        self.stats = {"rebuilt": {}}

    def freeze(self) -> "FlowTables":
        """Take the typed column groups (``port``, ``gd``, ...) and the arena views."""
        rows = self.rows
        self.nodes = self.arenas.nodes.view()
        self.cells = self.arenas.cells.view()
        self.refs = self.arenas.refs.view()
        self.limits = self.arenas.limits.view()
        self.entries = self.arenas.entries.view()
        self.entry = EntryColumns(**{name: self.entries[name] for name in topo.ENTRY_DTYPE.names})
        port = rows["port"].columns
        first = port["fx_valid"][:, 0] & ~port["fx_v6"][:, 0]
        self.port = PortColumns(**port, first4=np.where(first, port["fx_lo"][:, 0], np.uint64(1 << 63)))
        self.net = NetworkColumns(**rows["net"].columns)
        # Any subnet in an address scope? Without one, routers skip the scope checks (``scopes``).
        self.scoped = bool((self.net.scope4 >= 0).any() or (self.net.scope6 >= 0).any())
        self.sub = SubnetColumns(**rows["sub"].columns)
        self.rt = RouterColumns(**rows["rt"].columns)
        self.fip = FloatingIPColumns(**rows["fip"].columns)
        self.grp = GroupColumns(**rows["grp"].columns)
        self.gd = GroupDirColumns(**rows["gd"].columns)
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


INDEXES = ("net_ports", "grp_members", "rt_ports", "grp_rules", "net_subnets", "rt_fips", "net_fips", "ag_rules",
           "pool_subnets")


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


__all__ = ["FlowTables", "diff", "Arenas", "SPECS", "GROUPS", "PortColumns", "NetworkColumns", "SubnetColumns",
           "RouterColumns", "FloatingIPColumns", "GroupColumns", "GroupDirColumns", "EntryColumns", "sg", "topo"]
