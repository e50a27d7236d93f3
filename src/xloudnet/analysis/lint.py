"""Security-group lint: shadowed, redundant and over-broad rules, empty remote groups and address
groups, unused groups.

Coverage is computed exactly on each rule's header space, a box of four integer intervals:

    protocol (0-255; "any" = all) × L4a × L4b × remote

where L4a is the destination port range for tcp/udp/sctp/dccp/udplite and the ICMP type for
ICMP, and L4b the ICMP code (full everywhere else). Within one protocol every rule reads the L4
axes the same way, and an any-protocol rule is full on both, so box algebra is exact. The remote
axis is the address space of the rule's family, followed by one point per security group: a
``remote_group_id`` rule covers only its group's point (membership changes, so a prefix never
provably covers a group), while a null or ``/0`` remote covers every address and every group.
A rule naming an address group admits the union of one box per address of its family (the data
plane's reading), so it is shadowed when every one of its boxes is covered, and is a duplicate of
another rule with the same set of boxes; with no such address it matches nothing and is reported
as ``empty_address_group``.
A rule is *shadowed* when the union of the other rules of its group, direction and ethertype
contains its box (Batfish ``filterLineReachability`` finds the same for ordered ACLs; here every
rule is an allow, so order does not matter).
"""

from __future__ import annotations

import ipaddress

import numpy as np

from xloudnet.control.snapshot import Snapshot
from xloudnet.analysis.topology import security_group_graph
from xloudnet.dataplane.address_groups import prefixes_for
from xloudnet.model.protocols import ICMP_PROTOCOLS, PORT_PROTOCOLS, protocol_number

KINDS = ("shadowed", "redundant", "over_broad", "empty_remote_group", "empty_address_group", "unused_group")
SENSITIVE_PORTS = {22: "ssh", 3389: "rdp", 1433: "mssql", 1521: "oracle", 3306: "mysql",
                   5432: "postgresql", 6379: "redis", 27017: "mongodb", 9200: "elasticsearch",
                   11211: "memcached"}
HIGH_RISK = {22, 3389}
_FRAGMENT_LIMIT = 20000  # give up (report nothing) rather than blow up on pathological groups

Box = tuple[tuple[int, int], ...]


def _remote_interval(rule: dict, version: int, atoms: dict[str, int]) -> tuple[int, int]:
    top = 1 << (32 if version == 4 else 128)
    if rule.get("remote_group_id"):
        point = top + atoms[rule["remote_group_id"]]
        return (point, point)
    prefix = rule.get("remote_ip_prefix")
    net = ipaddress.ip_network(str(prefix), strict=False) if prefix else None
    if net is None or net.prefixlen == 0:
        return (0, top + len(atoms) - 1)  # everything, every group's members included
    return (int(net.network_address), int(net.broadcast_address))


def rule_box(rule: dict, atoms: dict[str, int]) -> Box:
    """The header space a rule admits (see the module docstring)."""
    version = 6 if rule.get("ethertype") == "IPv6" else 4
    proto = protocol_number(rule.get("protocol"), version)
    lo, hi = rule.get("port_range_min"), rule.get("port_range_max")
    l4a, l4b = (0, 65535), (0, 255)
    if proto in PORT_PROTOCOLS and (lo is not None or hi is not None):
        l4a = (0 if lo is None else lo, 65535 if hi is None else hi)
    elif proto in ICMP_PROTOCOLS:
        l4a = (0, 255) if lo is None else (lo, lo)
        l4b = (0, 255) if hi is None else (hi, hi)
    protocols = (0, 255) if proto is None else (proto, proto)
    return (protocols, l4a, l4b, _remote_interval(rule, version, atoms))


def address_group_prefixes(rule: dict, address_groups) -> tuple[str, ...]:
    """The CIDRs an address-group rule's remote side admits (see ``dataplane.address_groups``)."""
    group = (address_groups or {}).get(rule["remote_address_group_id"]) or {}
    return prefixes_for(tuple(group.get("addresses") or ()), rule.get("ethertype") == "IPv6",
                        rule.get("remote_ip_prefix"))


def rule_boxes(rule: dict, atoms: dict[str, int], address_groups=None) -> tuple[Box, ...]:
    """The rule's header space as a union of boxes: one box, or one per address-group prefix
    (none when the address group admits nothing)."""
    if not rule.get("remote_address_group_id") or rule.get("remote_group_id"):
        return (rule_box(rule, atoms),)
    pieces = {rule_box({**rule, "remote_ip_prefix": prefix}, atoms)
              for prefix in address_group_prefixes(rule, address_groups)}
    return tuple(sorted(pieces))


def _intersects(a: Box, b: Box) -> bool:
    return all(x[0] <= y[1] and y[0] <= x[1] for x, y in zip(a, b))


def _subtract(b: Box, a: Box) -> list[Box]:
    """b minus a as disjoint boxes."""
    if not _intersects(b, a):
        return [b]
    out, cur = [], list(b)
    for i, ((blo, bhi), (alo, ahi)) in enumerate(zip(cur, a)):
        if blo < alo:
            out.append(tuple(cur[:i] + [(blo, alo - 1)] + cur[i + 1:]))
        if bhi > ahi:
            out.append(tuple(cur[:i] + [(ahi + 1, bhi)] + cur[i + 1:]))
        cur[i] = (max(blo, alo), min(bhi, ahi))
    return out


def _covered(box: Box, others: list[tuple[str, Box]]) -> list[str] | None:
    """Ids of rules whose union contains ``box`` (None when it is not contained)."""
    remaining, used = [box], []
    for rid, other in others:
        if not any(_intersects(r, other) for r in remaining):
            continue
        remaining = [piece for r in remaining for piece in _subtract(r, other)]
        used.append(rid)
        if not remaining:
            return used
        if len(remaining) > _FRAGMENT_LIMIT:
            return None
    return None


def _compress(boxes: list[Box]) -> np.ndarray:
    """Boxes on rank coordinates, shape (n, dims, 2).

    Each axis is cut at every interval end of the bucket, and an interval becomes the run of
    elementary segments it spans: containment, intersection and subtraction are unchanged, and
    128-bit remotes become small integers numpy can compare."""
    out = np.empty((len(boxes), len(boxes[0]), 2), dtype=np.int64)
    for axis in range(len(boxes[0])):
        cuts = sorted({b[axis][0] for b in boxes} | {b[axis][1] + 1 for b in boxes})
        rank = {c: i for i, c in enumerate(cuts)}
        for i, box in enumerate(boxes):
            out[i, axis] = (rank[box[axis][0]], rank[box[axis][1] + 1] - 1)
    return out


def _as_box(row: np.ndarray) -> Box:
    return tuple((int(lo), int(hi)) for lo, hi in row)


def _cover_of(i: int, ids: list[str], ranks: np.ndarray, live: np.ndarray) -> list[str] | None:
    """A cover of box ``i`` by live boxes of the other rules of its bucket: one rule when one
    suffices, else an irredundant union (None when the box is not covered). Rows are boxes, and
    ``ids`` names the rule of each (an address-group rule has several)."""
    lo, hi = ranks[:, :, 0], ranks[:, :, 1]
    me_lo, me_hi = lo[i], hi[i]
    others = live & (np.asarray(ids, dtype=object) != ids[i])
    containing = others & np.all(lo <= me_lo, axis=1) & np.all(hi >= me_hi, axis=1)
    if containing.any():
        return [ids[int(np.flatnonzero(containing)[0])]]
    touching = np.flatnonzero(others & np.all(lo <= me_hi, axis=1) & np.all(hi >= me_lo, axis=1))
    box = _as_box(ranks[i])
    candidates = [(ids[j], _as_box(ranks[j])) for j in touching]
    used = _covered(box, candidates)
    if used is None:
        return None
    used = list(dict.fromkeys(used))
    for rid in list(used):
        trial = [(r, b) for r, b in candidates if r in used and r != rid]
        if _covered(box, trial) is not None:
            used.remove(rid)
    return used


def _volume(box: Box) -> int:
    size = 1
    for lo, hi in box:
        size *= hi - lo + 1
    return size


class _Policy:
    """Indexes over the snapshot: groups in scope, their rules and boxes, which ports use what."""

    def __init__(self, snapshot: Snapshot, project_id: str | None):
        self.snapshot = snapshot
        referenced = {r.get("remote_group_id") for r in snapshot.security_group_rules.values()}
        self.atoms = {g: i for i, g in enumerate(sorted(set(snapshot.security_groups)
                                                        | (referenced - {None})))}
        self.groups = {gid: g for gid, g in snapshot.security_groups.items()
                       if project_id is None or g.get("project_id") == project_id}
        self.rules: dict[str, list[dict]] = {gid: [] for gid in self.groups}
        for rid in sorted(snapshot.security_group_rules):
            rule = snapshot.security_group_rules[rid]
            if rule["security_group_id"] in self.rules:
                self.rules[rule["security_group_id"]].append(rule)
        # Who uses which group, and which rules point at which group: the reference graph.
        self.graph = security_group_graph(snapshot)
        self.users: dict[str, frozenset[str]] = {data["id"]: data["members"] for data in self.graph.nodes.values()}
        self.boxes = {r["id"]: rule_boxes(r, self.atoms, snapshot.address_groups)
                      for rules in self.rules.values() for r in rules}

    def key(self, rule: dict) -> tuple:
        return (rule.get("direction"), rule.get("ethertype") or "IPv4", self.boxes[rule["id"]])


def _finding(kind, severity, group, rule, message, related=()) -> dict:
    return {"kind": kind, "severity": severity, "security_group_id": group, "rule_id": rule,
            "message": message, "related": list(related)}


def _duplicates(policy: _Policy) -> tuple[list[dict], set[str]]:
    """Rules equal to an earlier rule of the same group (0.0.0.0/0 ≡ null, "6" ≡ "tcp")."""
    findings, dropped = [], set()
    for gid, rules in policy.rules.items():
        first: dict[tuple, str] = {}
        for rule in rules:
            if not policy.boxes[rule["id"]]:
                continue  # matches nothing: reported as an empty address group
            key = policy.key(rule)
            if key in first:
                dropped.add(rule["id"])
                findings.append(_finding("redundant", "low", gid, rule["id"],
                                         f"duplicate of rule {first[key]} in the same group",
                                         [first[key]]))
            else:
                first[key] = rule["id"]
    return findings, dropped


def _cross_group_duplicates(policy: _Policy, dropped: set[str]) -> list[dict]:
    """A rule equal to one of another group whose ports include every port of this group."""
    findings = []
    for gid, rules in policy.rules.items():
        mine = policy.users.get(gid, set())
        if not mine:
            continue
        for other, other_rules in policy.rules.items():
            theirs = policy.users.get(other, set())
            if other == gid or not mine <= theirs or (mine == theirs and other > gid):
                continue
            keys = {policy.key(r): r["id"] for r in other_rules if r["id"] not in dropped}
            for rule in rules:
                match = keys.get(policy.key(rule)) if policy.boxes[rule["id"]] else None
                if match and rule["id"] not in dropped:
                    dropped.add(rule["id"])
                    findings.append(_finding(
                        "redundant", "low", gid, rule["id"],
                        f"equal to rule {match} of group {other}, which every port of this group "
                        "also has", [match]))
    return findings


def _buckets(policy: _Policy, dropped: set[str]) -> dict[tuple, list[dict]]:
    """Live rules by (group, direction, ethertype): only rules of one bucket can cover each other."""
    buckets: dict[tuple, list[dict]] = {}
    for gid, rules in policy.rules.items():
        for rule in rules:
            if rule["id"] not in dropped and policy.boxes[rule["id"]]:  # (empty: reported apart)
                direction, ethertype, _box = policy.key(rule)
                buckets.setdefault((gid, direction, ethertype), []).append(rule)
    return buckets


def _shadowed(policy: _Policy, dropped: set[str]) -> list[dict]:
    """Rules whose header space the other rules of the group already admit.

    Narrow rules are examined first and a shadowed rule stops covering others, so every
    reported rule can be deleted together without changing what the group admits."""
    findings = []
    for (gid, _direction, _ethertype), rules in _buckets(policy, dropped).items():
        if len(rules) < 2:
            continue
        rows = [(r["id"], box) for r in rules for box in policy.boxes[r["id"]]]  # one row per box
        ids = [rid for rid, _box in rows]
        ranks = _compress([box for _rid, box in rows])
        live = np.ones(len(ids), dtype=bool)
        volume = {r["id"]: sum(_volume(b) for b in policy.boxes[r["id"]]) for r in rules}
        for rule in sorted(rules, key=lambda r: (volume[r["id"]], r["id"])):
            mine = [i for i, rid in enumerate(ids) if rid == rule["id"]]
            cover: list[str] = []
            for i in mine:
                part = _cover_of(i, ids, ranks, live)
                if part is None:
                    break
                cover += [rid for rid in part if rid not in cover]
            else:
                live[mine] = False
                how = f"rule {cover[0]}" if len(cover) == 1 else "the union of rules " + ", ".join(cover)
                findings.append(_finding("shadowed", "low", gid, rule["id"],
                                         f"everything this rule admits is already admitted by {how}",
                                         cover))
    return findings


def _exposed_services(rule: dict) -> tuple[str, str] | None:
    """(severity, what) when an ingress rule from anywhere opens something sensitive."""
    version = 6 if rule.get("ethertype") == "IPv6" else 4
    proto = protocol_number(rule.get("protocol"), version)
    if proto is None:
        return "high", "all protocols and ports"
    if proto not in PORT_PROTOCOLS:
        return None
    lo, hi = rule.get("port_range_min"), rule.get("port_range_max")
    if lo is None and hi is None:
        return "high", f"all {rule.get('protocol')} ports"
    lo, hi = (0 if lo is None else lo), (65535 if hi is None else hi)
    hit = sorted(p for p in SENSITIVE_PORTS if lo <= p <= hi)
    if not hit:
        return None
    severity = "high" if any(p in HIGH_RISK for p in hit) else "medium"
    return severity, ", ".join(f"{SENSITIVE_PORTS[p]} ({p})" for p in hit)


def _over_broad(policy: _Policy) -> list[dict]:
    findings = []
    for gid, rules in policy.rules.items():
        for rule in rules:
            prefix = rule.get("remote_ip_prefix")
            if rule.get("remote_address_group_id"):
                prefix = _widest(address_group_prefixes(rule, policy.snapshot.address_groups))
                if prefix is None:
                    continue
            anywhere = rule.get("remote_group_id") is None and (
                prefix is None or ipaddress.ip_network(str(prefix), strict=False).prefixlen == 0)
            exposed = _exposed_services(rule) if anywhere and rule.get("direction") == "ingress" else None
            if exposed:
                severity, what = exposed
                source = prefix or ("0.0.0.0/0" if rule.get("ethertype") != "IPv6" else "::/0")
                if rule.get("remote_address_group_id"):
                    source = f"{source} (in address group {rule['remote_address_group_id']})"
                findings.append(_finding("over_broad", severity, gid, rule["id"],
                                         f"ingress from {source} to {what}"))
    return findings


def _widest(prefixes: tuple[str, ...]) -> str | None:
    return min(prefixes, key=lambda p: ipaddress.ip_network(p).prefixlen, default=None)


def _empty_address_groups(policy: _Policy) -> list[dict]:
    """Rules naming an address group with no address of their family (or none at all)."""
    findings = []
    for gid, rules in policy.rules.items():
        for rule in rules:
            agid = rule.get("remote_address_group_id")
            if not agid or policy.boxes[rule["id"]]:
                continue
            if agid not in policy.snapshot.address_groups:
                what = "does not exist"
            else:
                what = f"has no {rule.get('ethertype') or 'IPv4'} address"
                if rule.get("remote_ip_prefix"):
                    what += f" inside {rule['remote_ip_prefix']}"
            findings.append(_finding("empty_address_group", "medium", gid, rule["id"],
                                     f"address group {agid} {what}: the rule matches nothing"))
    return findings


def _empty_remote_groups(policy: _Policy) -> list[dict]:
    """Rules whose remote group has no member: the ``remote`` edges of the reference graph that
    end at a group no ``member`` edge reaches."""
    findings = []
    for source, target, data in policy.graph.edges(data=True):
        gid, remote = source.partition(":")[2], target.partition(":")[2]
        if data["kind"] != "remote" or gid not in policy.rules or policy.users.get(remote):
            continue
        what = "has no member ports" if policy.graph.nodes[target]["exists"] else "does not exist"
        for rule in data["rules"]:
            findings.append(_finding("empty_remote_group", "medium", gid, rule["id"],
                                     f"remote group {remote} {what}: the rule matches nothing"))
    return findings


def _unused_groups(policy: _Policy) -> list[dict]:
    return [_finding("unused_group", "info", gid, None, "no port uses this group")
            for gid, group in policy.groups.items()
            if not policy.users.get(gid) and (group.get("name") or "").lower() != "default"]


def lint_security_groups(snapshot: Snapshot, project_id: str | None = None) -> dict:
    """Lint the security groups of one project (``None``: every project, as admin).

    Returns {"findings": [{"kind", "severity", "security_group_id", "rule_id", "message",
    "related": [rule ids]}], "summary": {kind: count}}.
    """
    policy = _Policy(snapshot, project_id)
    findings, dropped = _duplicates(policy)
    findings += _cross_group_duplicates(policy, dropped)
    findings += _shadowed(policy, dropped)
    findings += _over_broad(policy)
    findings += _empty_remote_groups(policy)
    findings += _empty_address_groups(policy)
    findings += _unused_groups(policy)
    order = {k: i for i, k in enumerate(KINDS)}
    findings.sort(key=lambda f: (order[f["kind"]], f["security_group_id"], f["rule_id"] or ""))
    summary = {kind: sum(f["kind"] == kind for f in findings) for kind in KINDS}
    return {"findings": findings, "summary": summary}
