"""The incremental compiler behind ``compile_tables`` (see ``tables.py`` for the layout).

One compile: diff every collection against the previous snapshot by record identity, update
the reverse indexes (ports per network, members per group, rules per group, ...), give new ids
slots, work out which pieces depend on a changed record, rebuild those pieces and patch the rows
of changed records. Everything else — arrays, pieces, indexes — is shared with ``previous``.
"""

from __future__ import annotations

import gc

from ..control.snapshot import COLLECTIONS, Snapshot
from . import topology as topo
from .build import Builder
from .forwarding import compile_forwardings
from .tables import Arenas, FlowTables, diff

# Which reverse indexes a record of each collection appears in, and under which keys.
CONTRIBUTIONS = {
    "ports": (("net_ports", lambda r: [r.get("network_id")]),
              ("grp_members", lambda r: list(r.get("security_groups") or [])),
              ("rt_ports", lambda r: [r.get("device_id")] if topo.is_router_port(r) else [])),
    "security_group_rules": (("grp_rules", lambda r: [r.get("security_group_id")]),
                             ("ag_rules", lambda r: [r["remote_address_group_id"]] if r.get("remote_address_group_id") else [])),
    "subnets": (("net_subnets", lambda r: [r.get("network_id")]),
                ("pool_subnets", lambda r: [r["subnetpool_id"]] if r.get("subnetpool_id") else [])),
    "floatingips": (("rt_fips", lambda r: [r.get("router_id")] if r.get("router_id") else []),
                    ("net_fips", lambda r: [r.get("floating_network_id")])),
}


def compile_tables(snapshot: Snapshot, previous: FlowTables | None = None,
                   changed=None) -> FlowTables:
    """Compile ``snapshot``; with ``previous``, reuse every piece whose records are unchanged.

    Finding the changed records costs a pass over every changed collection. ``changed`` — an
    optional iterable of ``(collection, id)`` pairs, such as a control-plane fork's ``touched``
    set — names every record that may differ from ``previous.snapshot``, and only those are
    compared. It is a promise by the caller: pass it only when ``snapshot`` was derived from
    ``previous.snapshot`` by exactly those writes (a count check falls back to the full pass
    when records were added or removed unannounced).

    The cyclic garbage collector is paused meanwhile: a big compile allocates millions of
    small acyclic objects, and each collection they trigger would walk the whole snapshot
    again (a fifth of a 100k-port compile). Reference counting still frees everything."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return Compiler(snapshot, previous, changed).run()
    finally:
        if paused:
            gc.enable()


class Compiler:
    """Compile ``snapshot`` reusing ``previous`` (a fresh lineage when it is None)."""

    def __init__(self, snapshot: Snapshot, previous: FlowTables | None, changed=None):
        if previous is None:
            previous, changed = FlowTables(Snapshot(), Arenas()), None
        self.old, self.new, self.prev = previous.snapshot, snapshot, previous
        self.hint = None  # collection → ids that may have changed (``compile_tables``)
        if changed is not None:
            self.hint = {name: set() for name in COLLECTIONS}
            for coll, rid in changed:
                if coll in self.hint:
                    self.hint[coll].add(rid)
        out = FlowTables(snapshot, previous.arenas)
        out.slots = dict(previous.slots)
        out.rows = dict(previous.rows)
        out.gdirs, out.router_tables = previous.gdirs, previous.router_tables
        out.subnet_tables, out.members = previous.subnet_tables, previous.members
        out.announced = previous.announced
        out.index = dict(previous.index)
        out.forwards = previous.forwards
        self.out = out
        self._copied: set = set()

    def run(self) -> FlowTables:
        changed = {name: diff(getattr(self.old, name), getattr(self.new, name),
                              None if self.hint is None else self.hint[name]) for name in COLLECTIONS}
        self._index(changed)
        self._allocate(changed)
        dirty = self._dirty(changed)
        self._rebuild(dirty)
        self._forwardings(changed)
        self.out.stats = {"changed": {k: len(v) for k, v in changed.items() if v},
                          "rebuilt": {k: len(v) for k, v in dirty.items() if v}}
        return self.out.freeze()

    # -- reverse indexes ---------------------------------------------------------------------
    def _idx(self, name: str) -> dict:
        if name not in self._copied:
            self.out.index[name] = dict(self.out.index[name])
            self._copied.add(name)
        return self.out.index[name]

    def _index(self, changed: dict) -> None:
        """Move changed records between reverse-index entries. Additions and removals are
        gathered per entry first and applied once: an entry is an immutable frozenset (shared
        with ``previous``), and rebuilding a big one (every floating IP of an external network)
        once per record made full compiles quadratic."""
        moves: dict = {}  # (index name, key) → (added ids, removed ids)
        for coll, parts in CONTRIBUTIONS.items():
            old, new = getattr(self.old, coll), getattr(self.new, coll)
            for item in changed[coll]:
                o, n = old.get(item), new.get(item)
                for name, keys_of in parts:
                    before, after = set(keys_of(o) if o else ()), set(keys_of(n) if n else ())
                    for key in after - before:
                        moves.setdefault((name, key), (set(), set()))[0].add(item)
                    for key in before - after:
                        moves.setdefault((name, key), (set(), set()))[1].add(item)
        for (name, key), (added, removed) in moves.items():
            index = self._idx(name)
            index[key] = (index.get(key, frozenset()) - removed) | added

    # -- slots -------------------------------------------------------------------------------
    def _allocate(self, changed: dict) -> None:
        new, slots = self.new, self.out.slots
        ports = [new.ports[k] for k in changed["ports"] if k in new.ports]
        rules = [new.security_group_rules[k] for k in changed["security_group_rules"]
                 if k in new.security_group_rules]
        fips = [new.floatingips[k] for k in changed["floatingips"] if k in new.floatingips]
        subnets = [new.subnets[k] for k in changed["subnets"] if k in new.subnets]
        slots["port"] = slots["port"].with_ids(p["id"] for p in ports)
        slots["net"] = slots["net"].with_ids(
            [k for k in changed["networks"] if k in new.networks] + [p.get("network_id") for p in ports]
            + [s.get("network_id") for s in subnets] + [f.get("floating_network_id") for f in fips])
        slots["sub"] = slots["sub"].with_ids(
            [s["id"] for s in subnets] + [f.get("subnet_id") for p in ports for f in p.get("fixed_ips") or []])
        slots["rt"] = slots["rt"].with_ids(
            [k for k in changed["routers"] if k in new.routers] + [f.get("router_id") for f in fips]
            + [p.get("device_id") for p in ports if topo.is_router_port(p)])
        slots["fip"] = slots["fip"].with_ids(f["id"] for f in fips)
        slots["scope"] = slots["scope"].with_ids(
            new.subnetpools[k].get("address_scope_id") for k in changed["subnetpools"] if k in new.subnetpools)
        slots["grp"] = slots["grp"].with_ids(
            [k for k in changed["security_groups"] if k in new.security_groups]
            + [g for p in ports for g in p.get("security_groups") or []]
            + [r.get(k) for r in rules for k in ("security_group_id", "remote_group_id")])

    # -- dependencies ------------------------------------------------------------------------
    def _dirty(self, changed: dict) -> dict[str, set]:
        old, new, index = self.old, self.new, self.out.index
        d = {k: set() for k in ("port", "net", "sub", "rt", "fip", "grp", "member", "gd")}
        # A pool joining or leaving a scope changes the scope of every subnet taken from it.
        rescoped = {sid for pool in changed["subnetpools"] for sid in index["pool_subnets"].get(pool, ())}
        d["port"] |= changed["ports"]
        for key in changed["ports"]:
            for rec in filter(None, (old.ports.get(key), new.ports.get(key))):
                d["net"].add(rec.get("network_id"))
                d["member"].update(rec.get("security_groups") or [])
                if topo.is_router_port(rec):
                    d["rt"].add(rec.get("device_id"))
        for key in changed["networks"]:
            d["net"].add(key)
            d["port"] |= index["net_ports"].get(key, frozenset())
        for key in changed["subnets"] | rescoped:
            d["sub"].add(key)
            for rec in filter(None, (old.subnets.get(key), new.subnets.get(key))):
                net = rec.get("network_id")
                d["net"].add(net)
                for pid in index["net_ports"].get(net, frozenset()):
                    d["port"].add(pid)
                    if topo.is_router_port(new.ports[pid]):
                        d["rt"].add(new.ports[pid].get("device_id"))
        d["rt"] |= changed["routers"]
        for key in changed["floatingips"]:
            d["fip"].add(key)
            for rec in filter(None, (old.floatingips.get(key), new.floatingips.get(key))):
                d["rt"].add(rec.get("router_id"))
                d["net"].add(rec.get("floating_network_id"))
        d["grp"] |= changed["security_groups"]
        for key in changed["security_group_rules"]:
            for rec in filter(None, (old.security_group_rules.get(key), new.security_group_rules.get(key))):
                d["gd"].add(rec.get("security_group_id"))
        self._address_groups_dirty(changed, d)
        d["grp"] |= d["member"] | d["gd"]
        for name, family in (("port", "port"), ("net", "net"), ("sub", "sub"), ("rt", "rt"),
                             ("fip", "fip"), ("grp", "grp"), ("member", "grp"), ("gd", "grp")):
            d[name] = {k for k in d[name] if k is not None and self.out.slots[family].get(k) >= 0}
        return d

    def _address_groups_dirty(self, changed: dict, d: dict) -> None:
        """A changed address group changes every group-direction with a rule that names it."""
        rules = (self.old.security_group_rules, self.new.security_group_rules)
        for key in changed["address_groups"]:
            for rid in self.out.index["ag_rules"].get(key, frozenset()):
                for rec in filter(None, (r.get(rid) for r in rules)):
                    d["gd"].add(rec.get("security_group_id"))

    # -- rebuilding --------------------------------------------------------------------------
    def _forwardings(self, changed: dict) -> None:
        """Port forwardings read their floating IPs: rebuild when either changed."""
        if changed["port_forwardings"] or changed["floatingips"] & self.prev.forwards.fips:
            self.out.forwards = compile_forwardings(self.new.port_forwardings, self.new.floatingips,
                                                    self.out.slots["fip"].get)

    def _rebuild(self, d: dict) -> None:
        Builder(self).rebuild(d)
