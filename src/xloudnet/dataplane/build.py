"""Rebuild the pieces and rows a compile found dirty (called by ``compiler.Compiler``)."""

from __future__ import annotations

import numpy as np

from . import groups as sg
from .address_groups import expand_address_groups
from . import scopes
from . import topology as topo
from .addresses import cidr_family, parse_ip, parse_range

MASK = (1 << 64) - 1


def _up(record) -> bool:
    return bool(record) and record.get("admin_state_up", True) is not False


class Builder:
    """Pieces first (they only need slots), then the row patches that point at them."""

    def __init__(self, compiler):
        self.c = compiler
        self.new = compiler.new
        self.out = compiler.out
        self.arenas = compiler.out.arenas
        self.slot = {k: v.get for k, v in self.out.slots.items()}

    def rebuild(self, d: dict) -> None:
        updates = {k: {} for k in self.out.rows}
        self._groups(d, updates)
        self._subnets(d, updates)
        self._networks(d, updates)
        self._routers(d, updates)
        self._announce(d, updates)
        self._fips(d, updates)
        self._ports(d, updates)
        sizes = {"port": len(self.out.slots["port"]), "net": len(self.out.slots["net"]),
                 "sub": len(self.out.slots["sub"]), "rt": len(self.out.slots["rt"]),
                 "fip": len(self.out.slots["fip"]), "grp": len(self.out.slots["grp"]),
                 "gd": 2 * len(self.out.slots["grp"])}
        for family, rows in self.out.rows.items():  # one row at least: masked gathers need a target
            self.out.rows[family] = rows.patched(max(sizes[family], 1), updates[family])

    def _sorted(self, coll: str, ids) -> list[dict]:
        records = getattr(self.new, coll)
        return [records[k] for k in sorted(ids) if k in records]

    # -- security groups ---------------------------------------------------------------------
    def _groups(self, d: dict, updates: dict) -> None:
        index, grp = self.out.index, self.slot["grp"]
        if d["member"]:
            self.out.members = dict(self.out.members)
        for gid in d["member"]:
            ranges = topo.member_ranges(self._sorted("ports", index["grp_members"].get(gid, ())))
            self.out.members[gid] = ranges  # for merged classifiers (``classifier.py``)
            roots = topo.member_roots(ranges, self.arenas.nodes)
            updates["grp"].setdefault(grp(gid), {}).update(mem4=roots[0], mem6=roots[1])
        if d["gd"]:
            self.out.gdirs = dict(self.out.gdirs)
        for gid in d["gd"]:
            rules = self._sorted("security_group_rules", index["grp_rules"].get(gid, ()))
            for name, direction in sg.DIRECTIONS.items():
                mine = expand_address_groups([r for r in rules if r.get("direction") == name],
                                             self.new.address_groups)
                gdir = sg.compile_groupdir(mine, self.arenas.nodes, self.arenas.cells)
                self.out.gdirs[(gid, direction)] = gdir
                updates["gd"][2 * grp(gid) + direction] = self._gd_row(gdir)
        for gid in d["grp"]:
            record = self.new.security_groups.get(gid) or {}
            updates["grp"].setdefault(grp(gid), {})["stateful"] = record.get("stateful", True) is not False

    def _gd_row(self, gdir: sg.GroupDir) -> dict:
        grp = self.slot["grp"]
        refs = np.array([grp(g) for g in gdir.refs] or [0], dtype=np.int32)
        limits = sg.limits_block(gdir)
        return {"svc": gdir.svc_root, "a4": gdir.addr_roots[0], "a6": gdir.addr_roots[1],
                "n4": gdir.sizes[0], "n6": gdir.sizes[1], "t4": gdir.t_bases[0],
                "t6": gdir.t_bases[1], "u": gdir.u_base, "nref": len(gdir.refs),
                "refs": self.arenas.refs.append(refs),
                "lim": -1 if limits is None else self.arenas.limits.append(limits)}

    # -- subnets, networks, routers, floating IPs ----------------------------------------------
    def _subnets(self, d: dict, updates: dict) -> None:
        if d["sub"]:
            self.out.subnet_tables = dict(self.out.subnet_tables)
        for sid in d["sub"]:
            record = self.new.subnets.get(sid)
            if record is None:
                self.out.subnet_tables.pop(sid, None)
                updates["sub"][self.slot["sub"](sid)] = {"rt4": topo.trie.leaf(-1), "rt6": topo.trie.leaf(-1)}
                continue
            table = topo.subnet_table(record, self.arenas.nodes, self.arenas.entries)
            self.out.subnet_tables[sid] = table
            updates["sub"][self.slot["sub"](sid)] = {"rt4": table.roots[0], "rt6": table.roots[1],
                                                     "base": table.base}

    def _networks(self, d: dict, updates: dict) -> None:
        index = self.out.index
        for nid in d["net"]:
            record = self.new.networks.get(nid) or {}
            subnets = self._sorted("subnets", index["net_subnets"].get(nid, ()))
            scope4, scope6 = scopes.network_scopes(subnets, self.new.subnetpools, self.slot["scope"])
            roots = topo.network_roots(
                record, subnets,
                self._sorted("ports", index["net_ports"].get(nid, ())),
                self._sorted("floatingips", index["net_fips"].get(nid, ())),
                self.slot["port"], self.slot["rt"], self.arenas.nodes)
            updates["net"][self.slot["net"](nid)] = {
                "admin": _up(record), "external": bool(record.get("router:external")),
                "own4": roots[0], "own6": roots[1], "scope4": scope4, "scope6": scope6}

    def _announce(self, d: dict, updates: dict) -> None:
        """Scoped routes of the external networks whose gateways or routers changed."""
        ports, index = self.new.ports, self.out.index
        nets = set(d["net"])
        for rid in d["rt"]:
            for pid in index["rt_ports"].get(rid, ()):
                if topo.is_gateway_port(ports.get(pid) or {}):
                    nets.add(ports[pid].get("network_id"))
        changed = False
        for nid in nets:
            slot = self.slot["net"](nid)
            if slot < 0:
                continue
            external = bool((self.new.networks.get(nid) or {}).get("router:external"))
            routes = scopes.announced_routes(nid, self.new, index) if external else []
            if routes or nid in self.out.announced:
                if not changed:
                    self.out.announced, changed = dict(self.out.announced), True
                if routes:
                    self.out.announced[nid] = routes
                else:
                    self.out.announced.pop(nid, None)
            roots = scopes.announced_roots(routes, self.slot["port"], self.arenas.nodes)
            updates["net"].setdefault(slot, {}).update(ann4=roots[0], ann6=roots[1])

    def _routers(self, d: dict, updates: dict) -> None:
        index = self.out.index
        if d["rt"]:
            self.out.router_tables = dict(self.out.router_tables)
        for rid in d["rt"]:
            record = self.new.routers.get(rid)
            table = topo.router_table(
                record or {}, self._sorted("ports", index["rt_ports"].get(rid, ())),
                self.new.subnets, self._sorted("floatingips", index["rt_fips"].get(rid, ())),
                self.slot["port"], self.slot["fip"], self.arenas.nodes, self.arenas.entries)
            self.out.router_tables[rid] = table
            updates["rt"][self.slot["rt"](rid)] = {
                "admin": _up(record), "main4": table.main.roots[0], "main6": table.main.roots[1],
                "base": table.main.base, "dnat": table.dnat_root, "srcfip": table.snat_root,
                "gw_port": table.gateway, "gw4_has": table.gateway_v4 is not None,
                "gw4": table.gateway_v4 or 0, "snat": table.enable_snat}

    def _fips(self, d: dict, updates: dict) -> None:
        for fid in d["fip"]:
            record = self.new.floatingips.get(fid) or {}
            updates["fip"][self.slot["fip"](fid)] = {
                "addr": _v4(record.get("floating_ip_address")),
                "fixed": _v4(record.get("fixed_ip_address")),
                "router": self.slot["rt"](record.get("router_id")) if record.get("router_id") else -1}

    # -- ports -------------------------------------------------------------------------------
    def _ports(self, d: dict, updates: dict) -> None:
        for pid in d["port"]:
            record = self.new.ports.get(pid)
            updates["port"][self.slot["port"](pid)] = self._port_row(record) if record else {
                "admin": False, "net": -1, "groups": [], "fx_valid": [], "pr_valid": []}

    def _port_row(self, port: dict) -> dict:
        net = self.new.networks.get(port.get("network_id")) or {}
        owner = port.get("device_owner") or ""
        enabled = port.get("port_security_enabled")
        if enabled is None:
            enabled = net.get("port_security_enabled", True)
        rport = topo.is_router_port(port)
        row = {"net": self.slot["net"](port.get("network_id")), "admin": _up(port),
               "filtered": not owner.startswith("network:") and enabled is not False,
               "rport": rport, "gw": topo.is_gateway_port(port),
               "router": self.slot["rt"](port.get("device_id")) if rport else -1,
               "groups": [self.slot["grp"](g) for g in port.get("security_groups") or []]}
        row.update(self._fixed(port))
        row.update(self._pairs(port))
        row["fallback4"], row["fallback6"] = self._fallback(port, False), self._fallback(port, True)
        return row

    def _fixed(self, port: dict) -> dict:
        cols = {k: [] for k in ("fx_valid", "fx_v6", "fx_hi", "fx_lo", "fx_sub")}
        for fixed in port.get("fixed_ips") or []:
            try:
                v6, value = parse_ip(fixed.get("ip_address"))
            except (ValueError, TypeError):
                continue
            sub = fixed.get("subnet_id")
            for key, val in (("fx_valid", True), ("fx_v6", v6), ("fx_hi", value >> 64),
                             ("fx_lo", value & MASK), ("fx_sub", self.slot["sub"](sub) if sub else -1)):
                cols[key].append(val)
        return cols

    def _pairs(self, port: dict) -> dict:
        cols = {k: [] for k in ("pr_valid", "pr_v6", "pr_fhi", "pr_flo", "pr_lhi", "pr_llo")}
        for pair in port.get("allowed_address_pairs") or []:
            try:
                v6, first, last = parse_range(pair.get("ip_address"))
            except (ValueError, TypeError):
                continue
            for key, val in (("pr_valid", True), ("pr_v6", v6), ("pr_fhi", first >> 64),
                             ("pr_flo", first & MASK), ("pr_lhi", last >> 64), ("pr_llo", last & MASK)):
                cols[key].append(val)
        return cols

    def _fallback(self, port: dict, v6: bool) -> int:
        """The subnet a non-fixed source address routes by: the port's first subnet of the
        family, else the network's first subnet (by id) of the family."""
        subnets = self.new.subnets
        for fixed in port.get("fixed_ips") or []:
            subnet = subnets.get(fixed.get("subnet_id"))
            if subnet and cidr_family(subnet.get("cidr")) == v6:
                return self.slot["sub"](subnet["id"])
        for sid in sorted(self.out.index["net_subnets"].get(port.get("network_id"), ())):
            subnet = subnets.get(sid)
            if subnet and cidr_family(subnet.get("cidr")) == v6:
                return self.slot["sub"](sid)
        return -1


def _v4(text) -> int:
    try:
        v6, value = parse_ip(text)
    except (ValueError, TypeError):
        return 0
    return 0 if v6 else value
