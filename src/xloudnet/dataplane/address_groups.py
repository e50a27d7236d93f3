"""Rules naming an address group (``remote_address_group_id``) as plain prefix rules.

A rule with an address group matches when the remote address lies in any of the group's
addresses of the rule's ethertype (host bits ignored), so it is compiled as one *virtual* rule
per such address, each a copy of the rule with that address as its ``remote_ip_prefix``. The
copies keep the rule's id and sit where the rule sat in id order, so the first matching rule of
a group is still the first by id and traces name the real rule. Remote constraints are
conjunctive: when the rule also carries a ``remote_ip_prefix`` (the API refuses that, a snapshot
may hold it) each copy gets the intersection of the two, which for CIDRs is the narrower one or
nothing. A rule whose group is unknown or has no address of its family matches nothing and
produces no copy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache


def expand_address_groups(rules: list[dict], address_groups: Mapping[str, dict] | None) -> list[dict]:
    """``rules`` (sorted by id) with every address-group rule replaced by its prefix copies."""
    if not any(r.get("remote_address_group_id") for r in rules):
        return rules
    out = []
    for rule in rules:
        ag_id = rule.get("remote_address_group_id")
        if not ag_id:
            out.append(rule)
            continue
        group = (address_groups or {}).get(ag_id) or {}
        v6 = (rule.get("ethertype") or "IPv4") == "IPv6"
        for prefix in prefixes_for(tuple(group.get("addresses") or ()), v6, rule.get("remote_ip_prefix")):
            out.append({**rule, "remote_ip_prefix": prefix, "remote_address_group_id": None})
    return out


@lru_cache(maxsize=4096)
def prefixes_for(addresses: tuple, v6: bool, limit: str | None) -> tuple[str, ...]:
    """The group's CIDRs of one family, each narrowed to ``limit`` (dropped when disjoint);
    unparsable entries are skipped."""
    bound = _network(limit) if limit is not None else None
    if limit is not None and bound is None:
        return ()
    found = []
    for text in addresses:
        net = _network(text)
        if net is None or (net.version == 6) != v6:
            continue
        if bound is not None:
            if bound.version != net.version or not net.overlaps(bound):
                continue
            net = net if net.prefixlen >= bound.prefixlen else bound
        found.append(str(net))
    return tuple(dict.fromkeys(found))


def _network(text):
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None


__all__ = ["expand_address_groups", "prefixes_for"]
