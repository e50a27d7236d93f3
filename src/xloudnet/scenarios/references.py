"""Names → resources: the one resolution rule, and the check of every reference before provisioning.

A reference ``network: web-net`` names a resource of that kind by its ``name`` or its ``id:``.
Names need not be unique across projects (Neutron's are not): several matches are narrowed to
the referring resource's project; still several (or none) is an error. Every project has an
implicit security group ``default``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from typing import Iterator

from .source import Problem, Source
from .schema import Scenario, Selector

# Kinds a reference can name, and where they live in the file. Servers are ports (their NIC).
KINDS = {
    "network": ("networks",),
    "subnet": ("subnets",),
    "security group": ("security_groups",),
    "address group": ("address_groups",),
    "router": ("routers",),
    "port": ("ports", "servers"),
    "QoS policy": ("qos_policies",),
    "address scope": ("address_scopes",),
    "subnet pool": ("subnet_pools",),
    "flow": (),
}
LINK_KINDS = ("port", "router", "router_uplink", "shaper")
SHARED_SECTIONS = ("qos_policies", "networks", "security_groups", "address_groups")  # resources with ``shared_with``
LINK_NAME = re.compile(r"^(?P<kind>port|router|uplink):(?P<name>[^/]+)(?P<suffix>/(tx|rx|in|out))?$")


class Unresolved(Exception):
    """A reference that names nothing (or several things); the message says which."""


class Unchecked(Unresolved):
    """A reference to an item that is itself invalid (already reported): nothing more to say."""


SECTION_KIND = {section: kind for kind, sections in KINDS.items() for section in sections}


class Index:
    """Every named resource of a scenario, by kind: ``(section, position)`` per name and id."""

    def __init__(self, scenario: Scenario, known: dict[str, set] | None = None):
        self.scenario = scenario
        self.known = {kind: set() for kind in KINDS}
        for section, names in (known or {}).items():
            if section in SECTION_KIND:
                self.known[SECTION_KIND[section]] |= names
        self.by_key: dict[str, dict[str, list[tuple[str, int]]]] = {k: defaultdict(list) for k in KINDS}
        for kind, sections in KINDS.items():
            for section in sections:
                for i, item in enumerate(getattr(scenario, section)):
                    self.by_key[kind][item.name].append((section, i))
                    if item.id and item.id != item.name:
                        self.by_key[kind][item.id].append((section, i))
        if scenario.traffic:
            for i, flow in enumerate(scenario.traffic.flows):
                self.by_key["flow"][flow.name].append(("traffic.flows", i))

    def project_of(self, item) -> str:
        return getattr(item, "project", None) or self.scenario.default_project

    def item(self, section: str, position: int):
        return getattr(self.scenario, section)[position]

    def resolve(self, kind: str, ref: str, project: str | None = None) -> tuple[str, int] | None:
        """``(section, position)`` of what ``ref`` names (``None``: the implicit default group)."""
        found = list(dict.fromkeys(self.by_key[kind].get(ref, ())))
        if len(found) > 1 and project is not None:
            mine = [f for f in found if self.project_of(self.item(*f)) == project]
            found = mine or found
        if len(found) == 1:
            return found[0]
        if not found:
            if kind == "security group" and ref == "default":
                return None
            if ref in self.known[kind]:
                raise Unchecked("")
            raise Unresolved(f"{kind} '{ref}' is not defined")
        raise Unresolved(f"{kind} '{ref}' is ambiguous ({len(found)} resources have that name; use its id)")


def check_references(scenario: Scenario, source: Source, positions: dict[str, list[int]] | None = None,
                     known: dict[str, set] | None = None) -> list[Problem]:
    """Every reference, duplicate name and cross-resource rule the API would only find later.

    ``positions``/``known``: when invalid items were left out, each kept item's position in the
    file and the left-out names (see ``loader.load``)."""
    index = Index(scenario, known)
    positions = positions or {}

    def where(loc: tuple) -> tuple:
        if len(loc) >= 2 and loc[0] in positions:
            return (loc[0], positions[loc[0]][loc[1]]) + tuple(loc[2:])
        return loc

    problems = [source.problem(where(loc), message) for loc, message in _issues(scenario, index) if message]
    problems.sort(key=lambda p: (p.line or 0, p.path))
    return problems


def _issues(s: Scenario, index: Index) -> Iterator[tuple[tuple, str]]:
    yield from _duplicates(s, index)
    yield from _network_issues(s, index)
    yield from _group_issues(s, index)
    yield from _port_issues(s, index)
    yield from _router_issues(s, index)
    for i, pool in enumerate(s.subnet_pools):
        yield from _ref(index, "address scope", ("subnet_pools", i, "address_scope"), pool.address_scope, pool.project)
    for i, sub in enumerate(s.subnets):
        yield from _ref(index, "subnet pool", ("subnets", i, "subnet_pool"), sub.subnet_pool, sub.project)
    for i, fip in enumerate(s.floating_ips):
        yield from _external(index, ("floating_ips", i, "floating_network"), fip.floating_network, fip.project)
        yield from _ref(index, "port", ("floating_ips", i, "port"), fip.port, fip.project)
        yield from _ref(index, "QoS policy", ("floating_ips", i, "qos_policy"), fip.qos_policy, fip.project)
        for k, pf in enumerate(fip.port_forwardings):
            yield from _ref(index, "port", ("floating_ips", i, "port_forwardings", k, "port"), pf.port, fip.project)
        if fip.port and fip.port_forwardings:
            yield ("floating_ips", i, "port_forwardings"), "a floating IP with a port cannot have port forwardings"
    for key in s.links:
        yield from _link(index, key)
    if s.traffic:
        first: dict[str, int] = {}
        for i, flow in enumerate(s.traffic.flows):
            if flow.name in first:
                yield ("traffic", "flows", i, "name"), (f"flow '{flow.name}' is defined twice "
                                                        f"(first at traffic.flows[{first[flow.name]}])")
            first.setdefault(flow.name, i)
            yield from _selector(index, ("traffic", "flows", i, "from"), flow.from_)
            yield from _selector(index, ("traffic", "flows", i, "to"), flow.to)
    yield from _intent_issues(s, index)
    yield from _share_issues(s)


def _share_issues(s: Scenario) -> Iterator[tuple[tuple, str]]:
    """``shared_with`` names projects of the file (or '*'), and not the owner itself."""
    for section in SHARED_SECTIONS:
        for i, item in enumerate(getattr(s, section)):
            owner = item.project or s.default_project
            for k, name in enumerate(item.shared_with):
                if name == owner:
                    yield (section, i, "shared_with", k), f"'{name}' owns it: a project needs no share of its own"
                elif name != "*" and not _project_used(s, name):
                    yield (section, i, "shared_with", k), f"project '{name}' owns nothing in this scenario"


def _ref(index: Index, kind: str, loc: tuple, ref: str | None, project: str | None) -> Iterator[tuple[tuple, str]]:
    if ref is None:
        return
    try:
        index.resolve(kind, ref, project or index.scenario.default_project)
    except Unresolved as exc:
        yield loc, str(exc)


def _duplicates(s: Scenario, index: Index) -> Iterator[tuple[tuple, str]]:
    for kind, sections in KINDS.items():
        seen: dict[tuple[str, str], str] = {}
        for section in sections:
            for i, item in enumerate(getattr(s, section)):
                key = (index.project_of(item), item.name)
                if key in seen:
                    yield (section, i, "name"), (f"{kind} '{item.name}' is defined twice in project "
                                                 f"'{key[0]}' (first at {seen[key]})")
                else:
                    seen[key] = f"{section}[{i}]"
    ids: dict[str, str] = {}
    for section in ("networks", "subnets", "security_groups", "routers", "ports", "servers", "qos_policies",
                    "floating_ips", "address_groups"):
        for i, item in enumerate(getattr(s, section)):
            if item.id:
                if item.id in ids:
                    yield (section, i, "id"), f"id '{item.id}' is used twice (first at {ids[item.id]})"
                ids[item.id] = f"{section}[{i}]"


def _network_issues(s: Scenario, index: Index) -> Iterator[tuple[tuple, str]]:
    for i, net in enumerate(s.networks):
        yield from _ref(index, "QoS policy", ("networks", i, "qos_policy"), net.qos_policy, net.project)
    for i, sub in enumerate(s.subnets):
        yield from _ref(index, "network", ("subnets", i, "network"), sub.network, sub.project)
        if sub.ip_version is not None:
            family = ipaddress.ip_network(sub.cidr, strict=False).version
            if family != sub.ip_version:
                yield (("subnets", i, "ip_version"),
                       f"ip_version {sub.ip_version} does not match the IPv{family} cidr {sub.cidr}")


def _group_issues(s: Scenario, index: Index) -> Iterator[tuple[tuple, str]]:
    for i, group in enumerate(s.security_groups):
        for j, rule in enumerate(group.rules):
            loc = ("security_groups", i, "rules", j, "remote_group")
            yield from _ref(index, "security group", loc, rule.remote_group, group.project)
            if rule.remote_group and rule.remote_ip_prefix:
                yield loc, "a rule takes remote_group or remote_ip_prefix, not both"
            yield from _address_group_rule(index, ("security_groups", i, "rules", j), rule, group.project)
    for i, ag in enumerate(s.address_groups):
        for k, address in enumerate(ag.addresses):
            if "/" not in address or not _is_cidr(address):
                yield ("address_groups", i, "addresses", k), f"'{address}' is not a CIDR with its mask"


def _address_group_rule(index: Index, loc: tuple, rule, project: str | None) -> Iterator[tuple[tuple, str]]:
    if rule.remote_address_group is None:
        return
    yield from _ref(index, "address group", loc + ("remote_address_group",), rule.remote_address_group, project)
    if rule.remote_group or rule.remote_ip_prefix:
        yield loc + ("remote_address_group",), \
            "a rule takes one of remote_ip_prefix, remote_group and remote_address_group"


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _port_issues(s: Scenario, index: Index) -> Iterator[tuple[tuple, str]]:
    for section in ("ports", "servers"):
        for i, port in enumerate(getattr(s, section)):
            yield from _ref(index, "network", (section, i, "network"), port.network, port.project)
            yield from _ref(index, "QoS policy", (section, i, "qos_policy"), port.qos_policy, port.project)
            for k, group in enumerate(port.security_groups or ()):
                yield from _ref(index, "security group", (section, i, "security_groups", k), group, port.project)
            for k, fixed in enumerate(port.fixed_ips or ()):
                loc = (section, i, "fixed_ips", k, "subnet")
                yield from _ref(index, "subnet", loc, fixed.subnet, port.project)
                yield from _same_network(index, loc, fixed.subnet, port)
            if section == "servers" and port.floating_ip:
                yield from _external(index, (section, i, "floating_ip"), port.floating_ip, port.project)


def _same_network(index: Index, loc: tuple, subnet_ref: str | None, port) -> Iterator[tuple[tuple, str]]:
    try:
        sub = index.resolve("subnet", subnet_ref, index.project_of(port)) if subnet_ref else None
        net = index.resolve("network", port.network, index.project_of(port))
        subnet = index.item(*sub) if sub is not None else None
        on = index.resolve("network", subnet.network, index.project_of(subnet)) if subnet is not None else net
    except Unresolved:
        return
    if on != net:
        yield loc, f"subnet '{subnet_ref}' is not on network '{port.network}'"


def _external(index: Index, loc: tuple, ref: str, project: str | None) -> Iterator[tuple[tuple, str]]:
    try:
        found = index.resolve("network", ref, project or index.scenario.default_project)
    except Unresolved as exc:
        yield loc, str(exc)
        return
    if not index.item(*found).external:
        yield loc, f"network '{ref}' is not external (set external: true on it)"


def _router_issues(s: Scenario, index: Index) -> Iterator[tuple[tuple, str]]:
    for i, router in enumerate(s.routers):
        gateway = router.external_gateway_info
        if gateway is not None:
            yield from _external(index, ("routers", i, "external_gateway_info", "network"), gateway.network,
                                 router.project)
            for k, fixed in enumerate(gateway.external_fixed_ips or ()):
                yield from _ref(index, "subnet", ("routers", i, "external_gateway_info", "external_fixed_ips", k,
                                                  "subnet"), fixed.subnet, router.project)
        for k, interface in enumerate(router.interfaces):
            if interface.subnet is not None:
                yield from _ref(index, "subnet", ("routers", i, "interfaces", k), interface.subnet, router.project)
            else:
                yield from _ref(index, "port", ("routers", i, "interfaces", k), interface.port, router.project)


def _selector(index: Index, loc: tuple, selector: Selector | str) -> Iterator[tuple[tuple, str]]:
    if isinstance(selector, str):
        if selector == "internet" or _is_address(selector):
            return
        yield from _ref(index, "port", loc, selector, None)
        return
    for key, kind in (("port", "port"), ("security_group", "security group"), ("network", "network"),
                      ("external_network", "network")):
        yield from _ref(index, kind, loc + (key,), getattr(selector, key), selector.project)
    for key in ("cidr", "ip_address"):
        value = getattr(selector, key)
        if value is not None and not _is_address(value):
            yield loc + (key,), f"'{value}' is not an IP address or CIDR"
    if selector.project is not None and not _project_used(index.scenario, selector.project):
        yield loc + ("project",), f"project '{selector.project}' owns nothing in this scenario"


def _project_used(s: Scenario, name: str) -> bool:
    if name == s.default_project or any(p.name == name for p in s.projects):
        return True
    return any(getattr(item, "project", None) == name
               for section in ("networks", "ports", "servers", "routers", "security_groups")
               for item in getattr(s, section))


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _link(index: Index, key: str) -> Iterator[tuple[tuple, str]]:
    if key in LINK_KINDS:
        return
    match = LINK_NAME.match(key)
    if match is None:
        yield ("links", key), (f"'{key}' is neither a link kind ({', '.join(LINK_KINDS)}) nor a link "
                               f"named 'port:NAME/tx|rx', 'router:NAME' or 'uplink:ROUTER/in|out'")
        return
    kind = "port" if match["kind"] == "port" else "router"
    yield from _ref(index, kind, ("links", key), match["name"], None)


def _intent_issues(s: Scenario, index: Index) -> Iterator[tuple[tuple, str]]:
    names: dict[str, int] = {}
    for i, intent in enumerate(s.expect):
        loc = ("expect", i)
        if intent.name in names:
            yield loc + ("name",), f"intent '{intent.name}' is defined twice (first at expect[{names[intent.name]}])"
        names.setdefault(intent.name, i)
        spec = intent.spec
        if intent.kind == "qos":
            if s.traffic is None or not any(f.name == spec.flow for f in s.traffic.flows):
                yield loc + ("qos", "flow"), f"traffic flow '{spec.flow}' is not defined"
            continue
        if hasattr(spec, "from_"):
            yield from _selector(index, loc + (intent.kind, "from"), spec.from_)
        if hasattr(spec, "to"):
            yield from _selector(index, loc + (intent.kind, "to"), spec.to)
        if intent.kind == "exposure":
            for j, item in enumerate(spec.within or spec.equal or ()):
                key = "within" if spec.within is not None else "equal"
                yield from _selector(index, loc + ("exposure", key, j, "to"), item.to)


__all__ = ["Index", "Unresolved", "check_references", "KINDS", "LINK_NAME"]
