"""An :class:`Inventory` (a cloud's Neutron JSON) → a :class:`Scenario` that ``xloudnet run`` accepts.

Choices (docs/cloud.md):
- every resource keeps its ``id``, so answers about the scenario name the cloud's resources;
- names are kept where unique in their kind and project; an empty or repeated name becomes
  ``NAME-<first 8 of the id>`` (``port-1a2b3c4d`` for a nameless port); references use the name
  when it is unique across projects, else the id (both resolve);
- ports Neutron makes by itself are left out and remade by what makes them: router gateway
  ports (by the gateway), floating-IP ports, DHCP ports. A router interface becomes a port of
  the file (its id, address and groups kept) attached with ``interfaces: [{port: NAME}]``;
- addresses on SLAAC subnets are left to the MAC they derive from (Neutron refuses them by value);
- RBAC ``access_as_shared`` entries become ``shared_with`` on their network, QoS policy,
  security group or address group (a wildcard one is the network's or policy's ``shared`` flag already; a group's
  becomes ``'*'``); entries naming the owner itself are dropped (they grant nothing);
- a group's allow-all egress pair becomes ``keep_default_egress``; the ``default`` group's rules
  Neutron makes with it (egress pair, ingress from itself) are not repeated: the file's
  ``default`` group adds to the one the project already has.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any

from ..scenarios.schema import (
    AddressGroup, AddressPair, AddressScope, AllocationPool, ExternalFixedIP, ExternalGateway, FixedIP, FloatingIP,
    HostRoute, Network, Port, PortForwarding, Project, QosPolicy, QosRule, Route, Router, RouterInterface, Scenario,
    SecurityGroup, SecurityGroupRule, Subnet, SubnetPool,
)
from . import flowyaml
from .inventory import Inventory

__all__ = ["AUTOMATIC_OWNERS", "INTERFACE_OWNERS", "scenario_yaml", "to_scenario"]

# Ports Neutron creates as a side effect of another call; the call remakes them.
AUTOMATIC_OWNERS = frozenset({"network:router_gateway", "network:floatingip", "network:dhcp",
                              "network:router_ha_interface", "network:router_centralized_snat"})
INTERFACE_OWNERS = frozenset({"network:router_interface", "network:router_interface_distributed",
                              "network:ha_router_replicated_interface"})
SHAREABLE = frozenset({"network", "qos_policy", "security_group", "address_group"})  # RBAC types a scenario can hold
QOS_RULE_FIELDS = ("max_kbps", "max_burst_kbps", "max_kpps", "max_burst_kpps", "min_kbps", "min_kpps",
                   "dscp_mark", "direction")


class _Names:
    """Scenario names and references for one kind of resource."""

    def __init__(self, items: list[dict], kind: str, project_of, keep: frozenset[str] = frozenset()):
        per_project = Counter((project_of(i), i.get("name") or "") for i in items)
        self.name: dict[str, str] = {}
        for item in items:
            raw = item.get("name") or ""
            unique = raw and (per_project[(project_of(item), raw)] == 1 or raw in keep)
            self.name[item["id"]] = raw if unique else f"{raw or kind}-{item['id'][:8]}"
        # A name used in several projects still resolves, but only from its own project: refer by id.
        everywhere = Counter(self.name.values())
        self.ref = {rid: name if everywhere[name] == 1 else rid for rid, name in self.name.items()}


def to_scenario(inventory: Inventory, name: str | None = None) -> Scenario:
    """The scenario that provisions what ``inventory`` holds (see the module doc)."""
    return _Importer(inventory).scenario(name)


class _Importer:
    def __init__(self, inv: Inventory):
        self.inv = inv
        self.projects = dict(inv.project_names)
        for section in ("networks", "subnets", "security_groups", "routers", "ports", "floating_ips",
                        "qos_policies", "address_groups", "address_scopes", "subnetpools"):
            for item in getattr(inv, section):
                pid = item.get("project_id") or item.get("tenant_id") or inv.project_id
                self.projects.setdefault(pid, f"project-{pid[:8]}")
        self.default_project = self.projects.get(inv.project_id, f"project-{inv.project_id[:8]}")
        self.shares = self._shares()
        project_of = self._project_id
        self.ports = [p for p in inv.ports if p.get("device_owner") not in AUTOMATIC_OWNERS]
        self.names = {
            "network": _Names(inv.networks, "network", project_of),
            "subnet": _Names(inv.subnets, "subnet", project_of),
            "group": _Names(inv.security_groups, "group", project_of, keep=frozenset({"default"})),
            "router": _Names(inv.routers, "router", project_of),
            "port": _Names(self.ports, "port", project_of),
            "qos": _Names(inv.qos_policies, "qos", project_of),
            "address_group": _Names(inv.address_groups, "address-group", project_of),
            "scope": _Names(inv.address_scopes, "scope", project_of),
            "pool": _Names(inv.subnetpools, "pool", project_of),
        }
        # SLAAC addresses follow from the MAC (kept), and Neutron refuses them when asked for by value
        self.auto_address = {sub["id"] for sub in inv.subnets
                             if sub.get("ipv6_address_mode") in ("slaac", "dhcpv6-stateless")}
        self.router_of_port = {p["id"]: p.get("device_id") for p in self.ports
                               if p.get("device_owner") in INTERFACE_OWNERS}

    # --- helpers ---------------------------------------------------------------------------------
    def _shares(self) -> dict[str, list[str]]:
        """object id → the project ids (or '*') its access_as_shared entries name."""
        shares: dict[str, list[str]] = {}
        for entry in self.inv.rbac_policies:
            target = entry.get("target_tenant") or entry.get("target_project")
            if entry.get("action") != "access_as_shared" or entry.get("object_type") not in SHAREABLE or not target:
                continue
            if target != "*":
                self.projects.setdefault(target, f"project-{target[:8]}")
            shares.setdefault(entry["object_id"], []).append(target)
        return shares

    def _shared_with(self, item: dict, flag: bool) -> list[str]:
        """``shared_with`` of one resource: its entries' projects by name, less its owner, less
        the wildcard when the resource's ``shared`` flag stands for it."""
        owner = self._project_id(item) or self.inv.project_id
        targets = [t for t in dict.fromkeys(self.shares.get(item["id"], ())) if t != owner and not (t == "*" and flag)]
        return [t if t == "*" else self.projects[t] for t in targets]

    @staticmethod
    def _project_id(item: dict) -> str | None:
        return item.get("project_id") or item.get("tenant_id")

    def _common(self, item: dict, kind: str) -> dict[str, Any]:
        pid = self._project_id(item) or self.inv.project_id
        project = self.projects[pid]
        return {"name": self.names[kind].name[item["id"]], "id": item["id"],
                "project": None if project == self.default_project else project,
                "description": item.get("description") or "", "tags": sorted(item.get("tags") or [])}

    def _ref(self, kind: str, rid: str | None) -> str | None:
        if rid is None:
            return None
        return self.names[kind].ref.get(rid, rid)

    # --- sections ---------------------------------------------------------------------------------
    def scenario(self, name: str | None) -> Scenario:
        used = {self._project_id(i) or self.inv.project_id for section in (
            self.inv.networks, self.inv.subnets, self.inv.security_groups, self.inv.routers, self.ports,
            self.inv.floating_ips, self.inv.qos_policies, self.inv.address_groups, self.inv.address_scopes,
            self.inv.subnetpools) for i in section} | {self.inv.project_id}
        used |= {pid for targets in self.shares.values() for pid in targets if pid != "*"}
        return Scenario(
            name=name, description="imported from a cloud by `xloudnet import`",
            default_project=self.default_project, dhcp_agent=self.has_dhcp_agent(),
            projects=[Project(name=self.projects[pid], id=pid) for pid in sorted(used, key=self.projects.get)],
            qos_policies=[self.qos_policy(p) for p in self.inv.qos_policies],
            address_groups=[self.address_group(a) for a in self.inv.address_groups],
            address_scopes=[self.address_scope(a) for a in self.inv.address_scopes],
            subnet_pools=[self.subnet_pool(p) for p in self.inv.subnetpools],
            networks=[self.network(n) for n in self.inv.networks],
            subnets=[self.subnet(s) for s in self.inv.subnets],
            security_groups=[self.security_group(g) for g in self.inv.security_groups],
            routers=[self.router(r) for r in self.inv.routers],
            ports=[self.port(p) for p in self.ports],
            floating_ips=[self.floating_ip(f) for f in self.inv.floating_ips],
        )

    def has_dhcp_agent(self) -> bool:
        """False for a cloud without DHCP agent ports (e.g. OVN's built-in DHCP): the caller owns a
        network with a DHCP-enabled subnet, whose ports it sees, and no port is ``network:dhcp``."""
        own = {n["id"] for n in self.inv.networks if self._project_id(n) == self.inv.project_id}
        served = any(s.get("enable_dhcp", True) and s.get("network_id") in own for s in self.inv.subnets)
        return not served or any(p.get("device_owner") == "network:dhcp" for p in self.inv.ports)

    def qos_policy(self, p: dict) -> QosPolicy:
        rules = [QosRule(id=r.get("id"), type=r["type"], **{k: r[k] for k in QOS_RULE_FIELDS if r.get(k) is not None})
                 for r in p.get("rules") or []]
        return QosPolicy(**self._common(p, "qos"), shared=bool(p.get("shared")),
                         shared_with=self._shared_with(p, bool(p.get("shared"))),
                         is_default=bool(p.get("is_default")), rules=rules)

    def address_group(self, a: dict) -> AddressGroup:
        common = self._common(a, "address_group")
        common.pop("tags")  # Neutron's address groups have none
        return AddressGroup(**common, addresses=list(a.get("addresses") or []),
                            shared_with=self._shared_with(a, False))

    def address_scope(self, a: dict) -> AddressScope:
        return AddressScope(**{**self._common(a, "scope"), "tags": []}, ip_version=a["ip_version"],
                            shared=bool(a.get("shared")))

    def subnet_pool(self, p: dict) -> SubnetPool:
        lengths = {k: int(p[k]) for k in ("default_prefixlen", "min_prefixlen", "max_prefixlen")
                   if p.get(k) is not None}
        return SubnetPool(**self._common(p, "pool"), prefixes=list(p["prefixes"]),
                          address_scope=self._ref("scope", p.get("address_scope_id")), shared=bool(p.get("shared")),
                          is_default=bool(p.get("is_default")), **lengths)

    def network(self, n: dict) -> Network:
        return Network(**self._common(n, "network"), admin_state_up=n.get("admin_state_up", True),
                       shared=bool(n.get("shared")), external=bool(n.get("router:external")), mtu=n.get("mtu"),
                       shared_with=self._shared_with(n, bool(n.get("shared"))),
                       port_security_enabled=n.get("port_security_enabled", True),
                       qos_policy=self._ref("qos", n.get("qos_policy_id")))

    def subnet(self, s: dict) -> Subnet:
        return Subnet(
            **self._common(s, "subnet"), network=self._ref("network", s["network_id"]), cidr=s["cidr"],
            ip_version=s.get("ip_version") or ipaddress.ip_network(s["cidr"], strict=False).version,
            gateway_ip=s.get("gateway_ip"),
            allocation_pools=[AllocationPool(**p) for p in s.get("allocation_pools") or []],
            host_routes=[HostRoute(**r) for r in s.get("host_routes") or []],
            enable_dhcp=s.get("enable_dhcp", True), dns_nameservers=list(s.get("dns_nameservers") or []),
            ipv6_ra_mode=s.get("ipv6_ra_mode"), ipv6_address_mode=s.get("ipv6_address_mode"),
            subnet_pool=self._ref("pool", s.get("subnetpool_id")))

    def security_group(self, g: dict) -> SecurityGroup:
        rules = list(g.get("security_group_rules") or [])
        egress = [r for r in rules if _allow_all(r, "egress", None)]
        keep_egress = {r["ethertype"] for r in egress} == {"IPv4", "IPv6"}
        implicit = {r["id"] for r in egress} if keep_egress else set()
        if g.get("name") == "default":  # Neutron made these with the group; the file must not repeat them
            implicit |= {r["id"] for r in rules if _allow_all(r, "ingress", g["id"])}
        return SecurityGroup(**self._common(g, "group"), stateful=g.get("stateful", True),
                             shared_with=self._shared_with(g, False),
                             keep_default_egress=keep_egress,
                             rules=[self.rule(r) for r in rules if r["id"] not in implicit])

    def rule(self, r: dict) -> SecurityGroupRule:
        return SecurityGroupRule(
            id=r["id"], direction=r["direction"], ethertype=r.get("ethertype", "IPv4"), protocol=r.get("protocol"),
            port_range_min=r.get("port_range_min"), port_range_max=r.get("port_range_max"),
            remote_ip_prefix=r.get("remote_ip_prefix"), remote_group=self._ref("group", r.get("remote_group_id")),
            remote_address_group=self._ref("address_group", r.get("remote_address_group_id")),
            description=r.get("description") or "")

    def router(self, r: dict) -> Router:
        gateway = None
        info = r.get("external_gateway_info")
        if info and info.get("network_id"):
            gateway = ExternalGateway(
                network=self._ref("network", info["network_id"]), enable_snat=info.get("enable_snat", True),
                external_fixed_ips=[ExternalFixedIP(subnet=self._ref("subnet", f.get("subnet_id")),
                                                    ip_address=f.get("ip_address"))
                                    for f in info.get("external_fixed_ips") or []] or None)
        interfaces = [RouterInterface(port=self._ref("port", pid))
                      for pid, router_id in self.router_of_port.items() if router_id == r["id"]]
        return Router(**self._common(r, "router"), admin_state_up=r.get("admin_state_up", True),
                      external_gateway_info=gateway, interfaces=interfaces,
                      routes=[Route(**route) for route in r.get("routes") or []])

    def port(self, p: dict) -> Port:
        # An interface port is made unattached (device_id empty) and attached by the router's
        # interfaces. Made by the router (no groups), its owner is kept so that Neutron gives it
        # no SLAAC addresses of its own; made by a user (groups, then attached), it is a plain port.
        interface = p.get("device_owner") in INTERFACE_OWNERS
        owner = "" if interface and p.get("security_groups") else p.get("device_owner") or ""
        return Port(
            **self._common(p, "port"), network=self._ref("network", p["network_id"]),
            fixed_ips=[FixedIP(subnet=self._ref("subnet", f.get("subnet_id")),
                               ip_address=None if f.get("subnet_id") in self.auto_address else f.get("ip_address"))
                       for f in p.get("fixed_ips") or []],
            security_groups=[self._ref("group", g) for g in p.get("security_groups") or []],
            allowed_address_pairs=[AddressPair(**a) for a in p.get("allowed_address_pairs") or []],
            port_security_enabled=p.get("port_security_enabled"), admin_state_up=p.get("admin_state_up", True),
            qos_policy=self._ref("qos", p.get("qos_policy_id")), mac_address=p.get("mac_address"),
            device_owner=owner, device_id="" if interface else p.get("device_id") or "")

    def floating_ip(self, f: dict) -> FloatingIP:
        pid = self._project_id(f) or self.inv.project_id
        project = self.projects[pid]
        return FloatingIP(
            name=f"fip-{f.get('floating_ip_address') or f['id'][:8]}", id=f["id"],
            project=None if project == self.default_project else project,
            description=f.get("description") or "", tags=sorted(f.get("tags") or []),
            floating_network=self._ref("network", f["floating_network_id"]),
            floating_ip_address=f.get("floating_ip_address"),
            port=self._ref("port", f.get("port_id")), fixed_ip_address=f.get("fixed_ip_address") if f.get("port_id") else None,
            qos_policy=self._ref("qos", f.get("qos_policy_id")),
            port_forwardings=[self.port_forwarding(pf) for pf in f.get("port_forwardings") or []])

    def port_forwarding(self, pf: dict) -> PortForwarding:
        """One forwarding; ranges when the cloud gives them (port-ranges), else single ports."""
        ranged = pf.get("external_port_range") and pf.get("internal_port_range")
        ports = ({"external_port_range": pf["external_port_range"], "internal_port_range": pf["internal_port_range"]}
                 if ranged else {"external_port": pf.get("external_port"), "internal_port": pf.get("internal_port")})
        return PortForwarding(port=self._ref("port", pf["internal_port_id"]), protocol=pf["protocol"],
                              internal_ip_address=pf.get("internal_ip_address"),
                              description=pf.get("description") or "", **ports)


def _allow_all(rule: dict, direction: str, remote_group: str | None) -> bool:
    return (rule["direction"] == direction and rule.get("protocol") is None and rule.get("remote_ip_prefix") is None
            and rule.get("remote_group_id") == remote_group and rule.get("port_range_min") is None
            and rule.get("port_range_max") is None)


FIRST_KEYS = ("name", "id", "project")


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as YAML: defaults left out, one resource per line, name, id and project first."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for section, items in data.items():
        if isinstance(items, list):
            data[section] = [_first(item) if isinstance(item, dict) else item for item in items]
    header = "# Written by `xloudnet import`; `xloudnet run FILE` checks it, `xloudnet apply FILE` provisions it.\n"
    return header + flowyaml.dump(data)


def _first(item: dict) -> dict:
    return {**{k: item[k] for k in FIRST_KEYS if k in item}, **{k: v for k, v in item.items() if k not in FIRST_KEYS}}
