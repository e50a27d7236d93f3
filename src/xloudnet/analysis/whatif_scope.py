"""What-if scope: which (source, destination, service) triples a set of changes can affect.

``Fork.touched`` names every record the changes wrote. Each one is turned into *boxes*: a set of
sources × a set of destinations × a region of the service space, outside of which no verdict can
have changed. Only the boxes are evaluated, before and after.

The reasoning follows the packet path of docs/semantics.md §4, in which security groups are the only step that looks at
the service, and a group is consulted only for the port that sends (egress) or the port that
receives (ingress):

- a rule of group G, direction egress, can change flows *sent by G's members* towards a
  destination address inside the rule's remote set (prefix, or the remote group's members'
  addresses), for services inside the rule's range;
- direction ingress: flows *received by G's members* (destinations whose address a member holds
  as a fixed IP or an allowed address pair) from sources that can be *seen* inside the remote
  set — their fixed IPs, their floating IPs, or any router's gateway IP (SNAT);
- a port joining or leaving G (or changing address, admin state, port security) changes G's
  member set: the port's own flows, flows towards the addresses it holds, and — through every
  rule that names G as its remote group — the flows matched against its addresses;
- anything that can move packets (networks, subnets, routers, floating IPs, router or DHCP
  ports, unknown fields) may change routing: the scope is then every pair and every service.

A box also says which groups' rules can decide its pairs (the senders' egress groups and the
receivers' ingress groups); the service space is cut only at those rules' boundaries, which is
what keeps the comparison exact with few representatives.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import numpy as np

from ..dataplane.groups import service_ranges
from ..model import services

MASK64 = (1 << 64) - 1
ALL = None  # "every row", "every column", "the whole service space", "every group"
MANY = 2000  # beyond this many senders / receivers, cut at every group's rules instead

# Fields whose change cannot alter a static verdict (QoS acts in the simulation only; `stateful`
# decides replies, and what-if compares the requests' verdicts).
NO_EFFECT = frozenset({
    "name", "description", "tags", "updated_at", "created_at", "revision_number", "status",
    "qos_policy_id", "dns_name", "dns_domain", "dns_assignment", "extra_dhcp_opts",
    "binding:host_id", "binding:profile", "binding:vnic_type", "binding:vif_type",
    "binding:vif_details", "propagate_uplink_status", "mac_address", "device_id",
    "allocation_pools", "dns_nameservers", "availability_zone_hints", "availability_zones",
    "standard_attr_id", "stateful", "shared", "is_default",
})
PORT_LOCAL = frozenset({"admin_state_up", "port_security_enabled", "fixed_ips", "allowed_address_pairs"})
# RBAC entries act on forwarding only through the records they change (a network's
# router:external), which are touched records of their own; an address scope's own record never
# reaches the data plane (its pools' address_scope_id does).
NO_EFFECT_TABLES = frozenset({"qos_policies", "qos_rules", "quotas", "rbac_policies", "address_scopes"})


@dataclass
class Box:
    """Sources × destinations × services that may have changed (``ALL`` = everything)."""

    rows: frozenset | None
    cols: frozenset | None
    region: list | None  # [(lo, hi)] in the 25-bit service key space, see ``service_key``
    cut_egress: set | None = field(default=ALL)
    cut_ingress: set | None = field(default=ALL)


FULL = Box(ALL, ALL, ALL, ALL, ALL)


# ------------------------------------------------------------------------------------------
# The service space (``model.services``): the same key space the allowed sets are folded from.


def rule_region(rule: dict) -> list[tuple[int, int]]:
    """The service keys a rule matches (empty when it can match nothing): the data plane's
    ranges, except that "any protocol" starts at protocol 1 (no packet carries protocol 0)."""
    ranges = service_ranges(rule)
    if len(ranges) == 1 and ranges[0][1] - ranges[0][0] == services.FAMILY_MASK:
        return [services.packet_span(services.family_of(ranges[0][0]))]
    return ranges


def boundaries(rules) -> set[int]:
    """Every key where some rule's range starts or ends (+1)."""
    cuts = set()
    for rule in rules:
        for lo, hi in rule_region(rule):
            cuts.add(lo)
            cuts.add(hi + 1)
    return cuts


# ------------------------------------------------------------------------------------------
# Addresses


def address_ranges(port: dict | None) -> list[tuple[bool, int, int]]:
    """A port's fixed IPs and allowed-address-pair addresses/CIDRs as ``(v6, first, last)``."""
    if not port:
        return []
    out = []
    texts = [f.get("ip_address") for f in port.get("fixed_ips") or []]
    texts += [p.get("ip_address") for p in port.get("allowed_address_pairs") or []]
    for text in texts:
        try:
            net = ipaddress.ip_network(str(text).strip(), strict=False)
        except ValueError:
            continue
        out.append((net.version == 6, int(net.network_address), int(net.broadcast_address)))
    return out


def _parse(text) -> tuple[bool, int] | None:
    try:
        addr = ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None
    return addr.version == 6, int(addr)


def _within(v6, hi, lo, ranges) -> np.ndarray:
    """Mask of the addresses (columns ``v6``, ``hi``, ``lo``) inside any of ``ranges``."""
    mask = np.zeros(len(v6), dtype=bool)
    for fam, first, last in ranges:
        fh, fl, lh, ll = (np.uint64(x) for x in (first >> 64, first & MASK64, last >> 64, last & MASK64))
        above = (hi > fh) | ((hi == fh) & (lo >= fl))
        below = (hi < lh) | ((hi == lh) & (lo <= ll))
        mask |= (v6 == fam) & above & below
    return mask


class EndIndex:
    """The endpoint ports of one snapshot and their addresses, as arrays (built once per revision).

    ``ids`` are every endpoint port (device_owner not ``network:*``) of every project; callers
    intersect with what they may see.
    """

    def __init__(self, snapshot):
        ports = snapshot.ports
        self.ids = sorted(p for p, r in ports.items() if not (r.get("device_owner") or "").startswith("network:"))
        self.position = {pid: i for i, pid in enumerate(self.ids)}
        self.has4 = np.zeros(len(self.ids), dtype=bool)
        self.has6 = np.zeros(len(self.ids), dtype=bool)
        fixed, pairs = [], []
        self.holders: dict[tuple[bool, int], list[str]] = {}
        for i, pid in enumerate(self.ids):
            for entry in ports[pid].get("fixed_ips") or []:
                parsed = _parse(entry.get("ip_address"))
                if parsed is None:
                    continue
                (self.has6 if parsed[0] else self.has4)[i] = True
                fixed.append((i, *parsed))
                self.holders.setdefault(parsed, []).append(pid)
            for fam, first, last in address_ranges({"allowed_address_pairs": ports[pid].get("allowed_address_pairs")}):
                pairs.append((i, fam, first, last))
        seen = list(fixed)
        for fip in snapshot.floatingips.values():
            i = self.position.get(fip.get("port_id"))
            parsed = _parse(fip.get("floating_ip_address"))
            if i is not None and parsed is not None:
                seen.append((i, *parsed))
        self.fixed = _columns(fixed)
        self.seen = _columns(seen)
        self.pairs = pairs
        self.gateways = [g for r in snapshot.routers.values()
                         for g in (_parse(f.get("ip_address")) for f in
                                   ((r.get("external_gateway_info") or {}).get("external_fixed_ips") or []))
                         if g is not None]

    def _select(self, cols, ranges) -> frozenset:
        owner, v6, hi, lo = cols
        mask = _within(v6, hi, lo, ranges)
        return frozenset(self.ids[i] for i in np.unique(owner[mask]).tolist())

    def holding(self, ranges) -> frozenset | None:
        """Endpoints with a fixed IP inside ``ranges`` (``ALL`` ranges → ``ALL``)."""
        return ALL if ranges is ALL else self._select(self.fixed, ranges)

    def seen_inside(self, ranges) -> frozenset | None:
        """Endpoints whose packets can arrive with a source address inside ``ranges``."""
        if ranges is ALL or any(fam == f and a <= g <= b for fam, g in self.gateways for f, a, b in ranges):
            return ALL
        return self._select(self.seen, ranges)

    def receivers(self, ids) -> set[str] | None:
        """Ports that may receive packets sent to these endpoints' addresses (holders of the
        address as a fixed IP or through an allowed address pair); ``ALL`` when too many."""
        if ids is ALL or len(ids) > MANY:
            return ALL
        addresses = set()
        out = set(ids)
        for pid in ids:
            i = self.position.get(pid)
            if i is None:
                continue
            sel = self.fixed[0] == i
            for v6, hi, lo in zip(self.fixed[1][sel], self.fixed[2][sel], self.fixed[3][sel]):
                address = (bool(v6), int(hi) << 64 | int(lo))
                addresses.add(address)
                out.update(self.holders.get(address, ()))
        for i, fam, first, last in self.pairs:
            if any(v6 == fam and first <= value <= last for v6, value in addresses):
                out.add(self.ids[i])
        return out


def _columns(rows: list[tuple]) -> tuple[np.ndarray, ...]:
    owner = np.array([r[0] for r in rows], dtype=np.int64)
    v6 = np.array([r[1] for r in rows], dtype=bool)
    hi = np.array([r[2] >> 64 for r in rows], dtype=np.uint64)
    lo = np.array([r[2] & MASK64 for r in rows], dtype=np.uint64)
    return owner, v6, hi, lo


# ------------------------------------------------------------------------------------------
# From touched records to boxes


class Scope:
    """Derives the boxes of one what-if from the two states and ``Fork.touched``.

    ``before`` / ``after`` are views of the two planes offering ``record(table, id)``,
    ``members(group_id)`` (port records), ``rules_of(group_id)``,
    ``rules_referencing(group_id)`` and ``rules_naming_address_group(id)`` (rule records).
    """

    def __init__(self, before, after, index: EndIndex):
        self.before, self.after, self.index = before, after, index

    def boxes(self, touched) -> list[Box]:
        out: list[Box] = []
        for table, rid in sorted(touched):
            old, new = self.before.record(table, rid), self.after.record(table, rid)
            if old == new or table in NO_EFFECT_TABLES:
                continue
            if table == "security_group_rules":
                for rule in (old, new):
                    if rule:
                        out += self.rule_boxes(rule)
            elif table == "security_groups":
                if _changed(old, new) - NO_EFFECT:
                    out += self.group_boxes(rid)
            elif table == "ports":
                out += self.port_boxes(old, new)
            elif table == "address_groups":
                if _changed(old, new) - NO_EFFECT:
                    out += self.address_group_boxes(rid)
            elif old is None or new is None or _changed(old, new) - NO_EFFECT:
                return [FULL]
            if any(b is FULL for b in out):
                return [FULL]
        return out

    # --- security groups ------------------------------------------------------------------
    def _members(self, gid: str) -> list[dict]:
        seen = {}
        for view in (self.before, self.after):
            for port in view.members(gid):
                seen.setdefault(port["id"], []).append(port)
        return [p for versions in seen.values() for p in versions]

    def _groups_of(self, ids) -> set | None:
        if ids is ALL or len(ids) > MANY:
            return ALL
        groups = set()
        for pid in ids:
            for view in (self.before, self.after):
                groups.update((view.record("ports", pid) or {}).get("security_groups") or ())
        return groups

    def _remote(self, rule: dict) -> list | None:
        """The addresses a rule's remote side can match (``ALL`` for no restriction)."""
        if rule.get("remote_group_id"):
            ranges = [r for port in self._members(rule["remote_group_id"]) for r in address_ranges(port)]
        elif rule.get("remote_address_group_id"):
            ranges = self._address_group_ranges(rule["remote_address_group_id"])
        elif rule.get("remote_ip_prefix"):
            ranges = address_ranges({"fixed_ips": [{"ip_address": rule["remote_ip_prefix"]}]})
        else:
            return ALL
        v6 = (rule.get("ethertype") or "IPv4") == "IPv6"
        return [r for r in ranges if r[0] == v6]

    def rule_boxes(self, rule: dict, members: list[dict] | None = None, remote=False) -> list[Box]:
        """What one rule (existing or not) decides: its group's members' flows in its direction.

        ``members`` overrides the group's members (a port joining or leaving); ``remote`` the
        addresses on the far side (a remote group's member changing)."""
        region = rule_region(rule)
        if not region:
            return []
        if members is None:
            members = self._members(rule.get("security_group_id"))
        if remote is False:
            remote = self._remote(rule)
        if rule.get("direction") == "egress":
            rows = frozenset(p["id"] for p in members if p["id"] in self.index.position)
            cols = self.index.holding(remote)
        else:
            held = [r for p in members for r in address_ranges(p)]
            rows, cols = self.index.seen_inside(remote), self.index.holding(held)
        if _empty(rows) or _empty(cols):
            return []
        return [Box(rows, cols, region, self._groups_of(rows), self._groups_of(self.index.receivers(cols)))]

    # --- address groups -------------------------------------------------------------------
    def _address_group_ranges(self, agid: str) -> list:
        """Every address the group held before or holds after, as ranges."""
        texts = [a for view in (self.before, self.after)
                 for a in (view.record("address_groups", agid) or {}).get("addresses") or ()]
        return address_ranges({"fixed_ips": [{"ip_address": a} for a in dict.fromkeys(texts)]})

    def address_group_boxes(self, agid: str) -> list[Box]:
        """An address group's addresses changed (or it came or went): what each rule naming it
        decides, for remote addresses it held before or holds after."""
        out: list[Box] = []
        for rule in _unique(view.rules_naming_address_group(agid) for view in (self.before, self.after)):
            out += self.rule_boxes(rule)
        return out

    def group_boxes(self, gid: str) -> list[Box]:
        members = self._members(gid)
        ids = frozenset(p["id"] for p in members)
        held = [r for p in members for r in address_ranges(p)]
        return self._end_boxes(ids, held)

    def _end_boxes(self, ids: frozenset, held: list) -> list[Box]:
        """Every flow from these ports, and every flow to the addresses they hold."""
        out = []
        rows = frozenset(i for i in ids if i in self.index.position)
        if rows:
            out.append(Box(rows, ALL, ALL, self._groups_of(rows), ALL))
        cols = self.index.holding(held)
        if not _empty(cols):
            out.append(Box(ALL, cols, ALL, ALL, self._groups_of(self.index.receivers(cols))))
        return out

    # --- ports ------------------------------------------------------------------------------
    def port_boxes(self, old: dict | None, new: dict | None) -> list[Box]:
        if any(p and (p.get("device_owner") or "").startswith("network:") for p in (old, new)):
            return [FULL]  # router, gateway, DHCP ports: routing and ownership
        changed = _changed(old, new)
        if not changed - NO_EFFECT:
            return []
        if old is not None and new is not None and changed - NO_EFFECT - PORT_LOCAL - {"security_groups"}:
            return [FULL]  # network, device owner or an unknown field
        pid = (old or new)["id"]
        held = address_ranges(old) + address_ranges(new)
        before_groups = set((old or {}).get("security_groups") or ())
        after_groups = set((new or {}).get("security_groups") or ())
        out: list[Box] = []
        if old is None or new is None or changed & PORT_LOCAL:
            out += self._end_boxes(frozenset({pid}), held)
            referenced = before_groups | after_groups
        else:  # only its groups changed: as if the joined/left groups' rules were added/removed
            referenced = before_groups ^ after_groups
            for gid in referenced:
                version = new if gid in after_groups else old
                for rule in _unique(view.rules_of(gid) for view in (self.before, self.after)):
                    out += self.rule_boxes(rule, members=[version])
        for gid in referenced:
            for rule in _unique(view.rules_referencing(gid) for view in (self.before, self.after)):
                out += self.rule_boxes(rule, remote=[r for r in held if r[0] == _rule_v6(rule)])
        return out


def _empty(ends) -> bool:
    return ends is not ALL and not ends


def _rule_v6(rule: dict) -> bool:
    return (rule.get("ethertype") or "IPv4") == "IPv6"


def _unique(lists) -> list[dict]:
    seen = {}
    for records in lists:
        for record in records:
            seen.setdefault((record["id"], id(record)), record)
    return list(seen.values())


def _changed(old: dict | None, new: dict | None) -> set:
    if old is None or new is None:
        return set((old or new or {}).keys()) | {"id"}
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def merge(boxes: list[Box]) -> list[Box]:
    """Boxes over the same rows and columns joined (regions and cut groups united)."""
    if any(b.rows is ALL and b.cols is ALL and b.region is ALL for b in boxes):
        return [FULL]
    joined: dict = {}
    for box in boxes:
        key = (box.rows, box.cols)
        if key not in joined:
            joined[key] = Box(box.rows, box.cols, box.region, _copy(box.cut_egress), _copy(box.cut_ingress))
            continue
        into = joined[key]
        into.region = ALL if into.region is ALL or box.region is ALL else into.region + box.region
        into.cut_egress = _union(into.cut_egress, box.cut_egress)
        into.cut_ingress = _union(into.cut_ingress, box.cut_ingress)
    return list(joined.values())


def _copy(groups):
    return ALL if groups is ALL else set(groups)


def _union(a, b):
    return ALL if a is ALL or b is ALL else a | b
