"""Provision a checked scenario into a control plane through the Neutron interpreter.

Every resource is one (or a few) Neutron API calls made exactly as a client would make them over
HTTP — same validation, same policy — as the project that owns it (admin only where Neutron
requires it: shared or external networks, QoS policies). Names become ids as resources are
created. The first call the API refuses stops provisioning with that error and the file line of
the resource; the caller then discards the plane, so nothing is kept.

Ids given in the file (``id:``) are kept: the plane's id factory (``PresetIds``) hands out the
wanted id for the next record the call creates.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..control import errors
from ..control.context import Context
from ..control.neutron import NeutronAPI, Request
from ..control.plane import ControlPlane
from ..control.resources.dhcp import make_room
from .loader import Problem, ScenarioError, Source
from .references import Index
from .schema import Scenario

MEMBER_ROLES = frozenset({"member", "reader"})
BULK = 500  # ports per bulk POST
SERVER_OWNER = "compute:nova"


def _server_id(project: str, name: str) -> str:
    """A server's device id: uuid-shaped and stable per (project, name) — a sha1 formatted by hand,
    as ``uuid.uuid5`` costs more than the port create itself at 10k servers."""
    h = hashlib.sha1(f"{project}/{name}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-a{h[17:20]}-{h[20:32]}"


class PresetIds:
    """An id factory for ``ControlPlane(ids=...)``: random ids, except the one ``preset`` names,
    which the next record created gets (an imported cloud keeps its ids)."""

    def __init__(self, fallback: Callable[[], str] | None = None):
        self.fallback = fallback or (lambda: str(uuid.uuid4()))
        self.wanted: str | None = None

    def __call__(self) -> str:
        if self.wanted is not None:
            wanted, self.wanted = self.wanted, None
            return wanted
        return self.fallback()


@dataclass
class Provisioned:
    """What was created: the plane, and the id of every resource of the file."""

    plane: ControlPlane
    index: Index
    projects: dict[str, str]                                   # project name → id
    ids: dict[tuple[str, int], str] = field(default_factory=dict)  # (section, position) → id
    default_groups: dict[str, str] = field(default_factory=dict)   # project name → default group id
    names: dict[str, str] = field(default_factory=dict)            # id → "kind name" (for traces)

    def id_of(self, kind: str, ref: str, project: str | None = None) -> str:
        found = self.index.resolve(kind, ref, project or self.index.scenario.default_project)
        if found is None:  # the implicit default group
            return self.default_groups[project or self.index.scenario.default_project]
        return self.ids[found]


class _Provisioner:
    def __init__(self, scenario: Scenario, source: Source, plane: ControlPlane, api: NeutronAPI,
                 projects: dict[str, str], ids: PresetIds | None, progress: Callable[[float], None] | None = None):
        self.s, self.source, self.plane, self.api = scenario, source, plane, api
        self.preset = ids
        self.progress = progress or (lambda fraction: None)
        self.total_ports = max(1, len(scenario.ports) + len(scenario.servers))
        self.ports_done = 0
        self.out = Provisioned(plane, Index(scenario), projects)

    # --- calls --------------------------------------------------------------------------------
    def call(self, loc: tuple, project: str, method: str, path: str, body: Any = None, admin: bool = False,
             want_id: str | None = None) -> Any:
        """One API call as ``project`` (or admin); a refusal becomes the file's problem at ``loc``."""
        pid = self.out.projects[project]
        ctx = Context.admin(pid) if admin else Context(project_id=pid, roles=MEMBER_ROLES)
        if want_id is not None:
            self._want(loc + ("id",), want_id)
        try:
            response = self.api.handle(ctx, Request(method, path, body=body))
        except errors.NeutronException as exc:
            raise ScenarioError([self.source.problem(loc, f"the API refused it: {type(exc).__name__}: {exc}")]) \
                from None
        finally:
            if self.preset is not None:
                self.preset.wanted = None
        return response.body

    def _want(self, loc: tuple, want_id: str) -> None:
        if self.preset is None:
            raise ScenarioError([self.source.problem(loc, "ids cannot be kept on this plane")])
        self.preset.wanted = want_id

    def project(self, item) -> str:
        return item.project or self.s.default_project

    def ref(self, kind: str, name: str | None, item) -> str | None:
        return None if name is None else self.out.id_of(kind, name, self.project(item))

    def created(self, section: str, i: int, rid: str, label: str) -> None:
        self.out.ids[(section, i)] = rid
        self.out.names[rid] = label

    # --- resources ------------------------------------------------------------------------------
    def run(self) -> Provisioned:
        if not self.s.dhcp_agent:
            self.plane.dhcp_agent = False  # the file describes a cloud without a DHCP agent
        self.default_groups()
        self.qos_policies()
        self.shares("qos_policies", "qos_policy")
        self.address_scopes()
        self.subnet_pools()
        self.networks()
        self.shares("networks", "network")
        self.subnets()
        self.address_groups()
        self.shares("address_groups", "address_group")  # before the rules of other projects name them
        self.pinned_addresses_first()
        self.security_groups()
        self.shares("security_groups", "security_group")
        self.ports("ports")
        self.ports("servers")
        self.routers()
        self.floating_ips()
        return self.out

    def default_groups(self) -> None:
        """Each project's default group exists before anything else asks for it (listing creates
        it, as in Neutron), so a group's own create never also makes the default one."""
        declared = {self.project(g): g for g in self.s.security_groups if g.name == "default"}
        for name, pid in self.out.projects.items():
            group = declared.get(name)
            query = [("project_id", pid), ("name", "default"), ("fields", "id")]
            if group is not None and group.id:
                self._want(("security_groups", self.s.security_groups.index(group), "id"), group.id)
            ctx = Context(project_id=pid, roles=MEMBER_ROLES)
            try:
                listed = self.api.handle(ctx, Request("GET", "/v2.0/security-groups", query=query)).body
            finally:
                if self.preset is not None:
                    self.preset.wanted = None
            gid = listed["security_groups"][0]["id"]
            self.out.default_groups[name] = gid
            self.out.names[gid] = f"security group default ({name})"

    def qos_policies(self) -> None:
        for i, policy in enumerate(self.s.qos_policies):
            loc, project = ("qos_policies", i), self.project(policy)
            body = {"name": policy.name, "description": policy.description, "shared": policy.shared,
                    "is_default": policy.is_default, "project_id": self.out.projects[project]}
            rid = self.call(loc, project, "POST", "/v2.0/qos/policies", {"policy": body}, admin=True,
                            want_id=policy.id)["policy"]["id"]
            self.created("qos_policies", i, rid, f"QoS policy {policy.name}")
            self.tags(loc, project, f"/v2.0/qos/policies/{rid}", policy.tags, admin=True)
            for j, rule in enumerate(policy.rules):
                fields = rule.model_dump(exclude_none=True, exclude={"id", "type"})
                self.call(loc + ("rules", j), project, "POST", f"/v2.0/qos/policies/{rid}/{rule.type}_rules",
                          {f"{rule.type}_rule": fields}, admin=True, want_id=rule.id)

    def address_scopes(self) -> None:
        for i, scope in enumerate(self.s.address_scopes):
            loc, project = ("address_scopes", i), self.project(scope)
            body = {"name": scope.name, "ip_version": scope.ip_version, "shared": scope.shared,
                    "project_id": self.out.projects[project]}
            rid = self.call(loc, project, "POST", "/v2.0/address-scopes", {"address_scope": body},
                            admin=scope.shared, want_id=scope.id)["address_scope"]["id"]
            self.created("address_scopes", i, rid, f"address scope {scope.name}")

    def subnet_pools(self) -> None:
        for i, pool in enumerate(self.s.subnet_pools):
            loc, project = ("subnet_pools", i), self.project(pool)
            body = pool.model_dump(include={"name", "description", "prefixes", "default_prefixlen", "min_prefixlen",
                                            "max_prefixlen", "shared", "is_default"}, exclude_none=True)
            body["project_id"] = self.out.projects[project]
            if pool.address_scope:
                body["address_scope_id"] = self.ref("address scope", pool.address_scope, pool)
            admin = pool.shared or pool.is_default
            rid = self.call(loc, project, "POST", "/v2.0/subnetpools", {"subnetpool": body}, admin=admin,
                            want_id=pool.id)["subnetpool"]["id"]
            self.created("subnet_pools", i, rid, f"subnet pool {pool.name}")
            self.tags(loc, project, f"/v2.0/subnetpools/{rid}", pool.tags, admin)

    def networks(self) -> None:
        for i, net in enumerate(self.s.networks):
            loc, project = ("networks", i), self.project(net)
            body = {"name": net.name, "description": net.description, "admin_state_up": net.admin_state_up,
                    "port_security_enabled": net.port_security_enabled}
            admin = net.shared or net.external
            if admin:
                body.update({"shared": net.shared, "router:external": net.external})
            if net.mtu is not None:
                body["mtu"] = net.mtu
            if net.qos_policy:
                body["qos_policy_id"] = self.ref("QoS policy", net.qos_policy, net)
            rid = self.call(loc, project, "POST", "/v2.0/networks", {"network": body}, admin=admin,
                            want_id=net.id)["network"]["id"]
            self.created("networks", i, rid, f"network {net.name}")
            self.tags(loc, project, f"/v2.0/networks/{rid}", net.tags, admin)

    def subnets(self) -> None:
        for i, sub in enumerate(self.s.subnets):
            loc, project = ("subnets", i), self.project(sub)
            body: dict[str, Any] = {
                "name": sub.name, "description": sub.description, "network_id": self.ref("network", sub.network, sub),
                "cidr": sub.cidr, "ip_version": sub.ip_version or ipaddress.ip_network(sub.cidr, strict=False).version,
                "enable_dhcp": sub.enable_dhcp, "host_routes": [r.model_dump() for r in sub.host_routes],
                "dns_nameservers": sub.dns_nameservers,
            }
            if sub.gateway_ip != "auto":
                body["gateway_ip"] = sub.gateway_ip
            if sub.allocation_pools is not None:
                body["allocation_pools"] = [p.model_dump() for p in sub.allocation_pools]
            for key in ("ipv6_ra_mode", "ipv6_address_mode"):
                if getattr(sub, key) is not None:
                    body[key] = getattr(sub, key)
            if sub.subnet_pool:
                body["subnetpool_id"] = self.ref("subnet pool", sub.subnet_pool, sub)
            admin = self._network_admin(sub.network, sub)
            rid = self.call(loc, project, "POST", "/v2.0/subnets", {"subnet": body}, admin=admin,
                            want_id=sub.id)["subnet"]["id"]
            self.created("subnets", i, rid, f"subnet {sub.name}")
            self.tags(loc, project, f"/v2.0/subnets/{rid}", sub.tags, admin)

    def _network_admin(self, ref: str, item) -> bool:
        """Subnets of another project's shared or external network need admin (as in Neutron)."""
        found = self.out.index.resolve("network", ref, self.project(item))
        net = self.out.index.item(*found)
        return self.project(net) != self.project(item) or net.external

    def security_groups(self) -> None:
        groups = list(enumerate(self.s.security_groups))
        for i, group in groups:  # every group first: rules may name any of them
            loc, project = ("security_groups", i), self.project(group)
            if group.name == "default":  # Neutron's own group: the file adds rules to it
                rid = self.out.default_groups[project]
            else:
                body = {"name": group.name, "description": group.description, "stateful": group.stateful}
                rid = self.call(loc, project, "POST", "/v2.0/security-groups", {"security_group": body},
                                want_id=group.id)["security_group"]["id"]
            self.created("security_groups", i, rid, f"security group {group.name}")
            self.tags(loc, project, f"/v2.0/security-groups/{rid}", group.tags)
            if not group.keep_default_egress:
                self._drop_default_egress(loc, project, rid)
        for i, group in groups:
            project, gid = self.project(group), self.out.ids[("security_groups", i)]
            for j, rule in enumerate(group.rules):
                body = rule.model_dump(exclude_none=True, exclude={"id", "remote_group", "remote_address_group"})
                body["security_group_id"] = gid
                if rule.remote_group:
                    body["remote_group_id"] = self.ref("security group", rule.remote_group, group)
                if rule.remote_address_group:
                    body["remote_address_group_id"] = self.ref("address group", rule.remote_address_group, group)
                made = self.call(("security_groups", i, "rules", j), project, "POST", "/v2.0/security-group-rules",
                                 {"security_group_rule": body}, want_id=rule.id)
                rule_id = made["security_group_rule"]["id"]
                self.out.names[rule_id] = f"rule {j} of security group {group.name}"

    def address_groups(self) -> None:
        for i, ag in enumerate(self.s.address_groups):
            loc, project = ("address_groups", i), self.project(ag)
            body = {"name": ag.name, "description": ag.description, "addresses": ag.addresses}
            rid = self.call(loc, project, "POST", "/v2.0/address-groups", {"address_group": body},
                            want_id=ag.id)["address_group"]["id"]
            self.created("address_groups", i, rid, f"address group {ag.name}")
    def shares(self, section: str, object_type: str) -> None:
        """``shared_with``: one RBAC access_as_shared entry per project, made by the owner (by an
        admin for '*', which Neutron's policy reserves to admins)."""
        for i, item in enumerate(getattr(self.s, section)):
            for k, name in enumerate(item.shared_with):
                target = "*" if name == "*" else self.out.projects[name]
                body = {"object_type": object_type, "object_id": self.out.ids[(section, i)],
                        "action": "access_as_shared", "target_tenant": target}
                self.call((section, i, "shared_with", k), self.project(item), "POST", "/v2.0/rbac-policies",
                          {"rbac_policy": body}, admin=name == "*")

    def _drop_default_egress(self, loc: tuple, project: str, gid: str) -> None:
        listed = self.call(loc, project, "GET", f"/v2.0/security-groups/{gid}")["security_group"]
        for rule in listed["security_group_rules"]:
            if rule["direction"] == "egress" and rule["remote_group_id"] is None and rule["remote_ip_prefix"] is None \
                    and rule["protocol"] is None:
                self.call(loc, project, "DELETE", f"/v2.0/security-group-rules/{rule['id']}")

    def pinned_addresses_first(self) -> None:
        """Addresses the file pins win over the simulated DHCP agent's port, which takes another
        one: the file states the final addresses, not the order a real cloud handed them out."""
        pinned: dict[str, list[str]] = {}
        for port in [*self.s.ports, *self.s.servers]:
            for fixed in getattr(port, "fixed_ips", None) or ():
                pinned.setdefault(self.ref("network", port.network, port), []).append(fixed.ip_address)
        for router in self.s.routers:
            gateway = router.external_gateway_info
            for fixed in (gateway.external_fixed_ips or ()) if gateway else ():
                pinned.setdefault(self.ref("network", gateway.network, router), []).append(fixed.ip_address)
        for fip in self.s.floating_ips:
            pinned.setdefault(self.ref("network", fip.floating_network, fip), []).append(fip.floating_ip_address)
        for network_id, addresses in pinned.items():
            make_room(self.plane, network_id, [a for a in addresses if a])

    def ports(self, section: str) -> None:
        """Ports go in bulk POSTs (one request per ``BULK`` ports of one project): the request
        path is then a small part of the cost. A refused bulk is replayed port by port to find
        the port — and line — the API refuses."""
        kind = "server" if section == "servers" else "port"
        batch: list[tuple[int, dict]] = []
        key = None
        for i, port in enumerate(getattr(self.s, section)):
            project, admin = self.project(port), self._network_admin(port.network, port)
            body = self._port_body(section, port, project)
            if port.id:  # a kept id needs a request of its own
                rid = self.call((section, i), project, "POST", "/v2.0/ports", {"port": body}, admin=admin,
                                want_id=port.id)["port"]["id"]
                self.created(section, i, rid, f"{kind} {port.name}")
                continue
            if batch and (key != (project, admin) or len(batch) >= BULK):
                self._bulk_ports(section, kind, key, batch)
                batch = []
            key = (project, admin)
            batch.append((i, body))
        if batch:
            self._bulk_ports(section, kind, key, batch)

    def _bulk_ports(self, section: str, kind: str, key: tuple[str, bool], batch: list[tuple[int, dict]]) -> None:
        project, admin = key
        items = getattr(self.s, section)
        try:
            made = self.call((section, batch[0][0]), project, "POST", "/v2.0/ports",
                             {"ports": [{"port": body} for _, body in batch]}, admin=admin)["ports"]
        except ScenarioError:
            for i, body in batch:  # which one? (the bulk was rolled back as a whole)
                self.call((section, i), project, "POST", "/v2.0/ports", {"port": body}, admin=admin)
            raise
        for (i, _), record in zip(batch, made):
            self.created(section, i, record["id"], f"{kind} {items[i].name}")
        self.ports_done += len(batch)
        self.progress(0.9 * self.ports_done / self.total_ports)  # ports are most of the work

    def _port_body(self, section: str, port, project: str) -> dict:
        body: dict[str, Any] = {"name": port.name, "description": port.description,
                                "network_id": self.ref("network", port.network, port),
                                "admin_state_up": port.admin_state_up}
        if section == "servers":
            body["device_owner"] = SERVER_OWNER
            body["device_id"] = _server_id(project, port.name)
        else:
            body["device_owner"], body["device_id"] = port.device_owner, port.device_id
        if port.fixed_ips is not None:
            body["fixed_ips"] = [self._fixed_ip(f, port) for f in port.fixed_ips]
        if port.security_groups is not None:
            body["security_groups"] = [self.ref("security group", g, port) for g in port.security_groups]
        if port.allowed_address_pairs:
            body["allowed_address_pairs"] = [p.model_dump(exclude_none=True) for p in port.allowed_address_pairs]
        if port.port_security_enabled is not None:
            body["port_security_enabled"] = port.port_security_enabled
        if port.qos_policy:
            body["qos_policy_id"] = self.ref("QoS policy", port.qos_policy, port)
        if port.mac_address:
            body["mac_address"] = port.mac_address
        if port.tags:
            body["tags"] = list(port.tags)
        return body

    def _fixed_ip(self, fixed, item) -> dict:
        out = {}
        if fixed.subnet:
            out["subnet_id"] = self.ref("subnet", fixed.subnet, item)
        if fixed.ip_address:
            out["ip_address"] = fixed.ip_address
        return out

    def routers(self) -> None:
        for i, router in enumerate(self.s.routers):
            loc, project = ("routers", i), self.project(router)
            body: dict[str, Any] = {"name": router.name, "description": router.description,
                                    "admin_state_up": router.admin_state_up}
            gateway = router.external_gateway_info
            if gateway is not None:
                info: dict[str, Any] = {"network_id": self.ref("network", gateway.network, router)}
                if not gateway.enable_snat:
                    info["enable_snat"] = False
                if gateway.external_fixed_ips is not None:
                    info["external_fixed_ips"] = [self._fixed_ip(f, router) for f in gateway.external_fixed_ips]
                body["external_gateway_info"] = info
            # enable_snat and fixed gateway addresses are admin-only in Neutron's policy.
            admin = gateway is not None and (not gateway.enable_snat or gateway.external_fixed_ips is not None)
            rid = self.call(loc, project, "POST", "/v2.0/routers", {"router": body}, admin=admin,
                            want_id=router.id)["router"]["id"]
            self.created("routers", i, rid, f"router {router.name}")
            self.tags(loc, project, f"/v2.0/routers/{rid}", router.tags)
            for k, interface in enumerate(router.interfaces):
                change = ({"subnet_id": self.ref("subnet", interface.subnet, router)} if interface.subnet
                          else {"port_id": self.ref("port", interface.port, router)})
                self.call(loc + ("interfaces", k), project, "PUT", f"/v2.0/routers/{rid}/add_router_interface",
                          change)
            if router.routes:
                routes = [r.model_dump() for r in router.routes]
                self.call(loc + ("routes",), project, "PUT", f"/v2.0/routers/{rid}", {"router": {"routes": routes}})

    def floating_ips(self) -> None:
        for i, fip in enumerate(self.s.floating_ips):
            body: dict[str, Any] = {"floating_network_id": self.ref("network", fip.floating_network, fip),
                                    "description": fip.description}
            for key in ("floating_ip_address", "fixed_ip_address"):
                if getattr(fip, key):
                    body[key] = getattr(fip, key)
            if fip.port:
                body["port_id"] = self.ref("port", fip.port, fip)
            if fip.qos_policy:
                body["qos_policy_id"] = self.ref("QoS policy", fip.qos_policy, fip)
            self._floating_ip(("floating_ips", i), self.project(fip), body, fip.id, fip.tags,
                              fip.name or f"floating IP {i}")
            self.port_forwardings(i, fip)
        for i, server in enumerate(self.s.servers):
            if server.floating_ip:
                body = {"floating_network_id": self.ref("network", server.floating_ip, server),
                        "port_id": self.out.ids[("servers", i)]}
                self._floating_ip(("servers", i, "floating_ip"), self.project(server), body, None, [],
                                  f"floating IP of {server.name}")

    def port_forwardings(self, i: int, fip) -> None:
        fip_id, project = self.out.ids[("floating_ips", i)], self.project(fip)
        for k, pf in enumerate(fip.port_forwardings):
            loc = ("floating_ips", i, "port_forwardings", k)
            body = pf.model_dump(exclude={"port"}, exclude_none=True)
            body["internal_port_id"] = self.ref("port", pf.port, fip)
            if pf.internal_ip_address is None:
                port = self.call(loc, project, "GET", f"/v2.0/ports/{body['internal_port_id']}")["port"]
                v4 = [ip["ip_address"] for ip in port["fixed_ips"] if ":" not in ip["ip_address"]]
                body["internal_ip_address"] = v4[0] if v4 else None
            self.call(loc, project, "POST", f"/v2.0/floatingips/{fip_id}/port_forwardings", {"port_forwarding": body})

    def _floating_ip(self, loc: tuple, project: str, body: dict, want_id: str | None, tags: list, label: str) -> None:
        admin = "floating_ip_address" in body  # choosing the address is admin-only in Neutron's policy
        made = self.call(loc, project, "POST", "/v2.0/floatingips", {"floatingip": body}, admin=admin,
                         want_id=want_id)["floatingip"]
        self.out.names[made["id"]] = label
        if loc[0] == "floating_ips":
            self.out.ids[("floating_ips", loc[1])] = made["id"]
        self.tags(loc, project, f"/v2.0/floatingips/{made['id']}", tags, admin)

    def tags(self, loc: tuple, project: str, path: str, tags: list[str], admin: bool = False) -> None:
        if tags:
            self.call(loc + ("tags",), project, "PUT", f"{path}/tags", {"tags": list(tags)}, admin=admin)


def project_ids(scenario: Scenario, new_id: Callable[[], str] | None = None) -> dict[str, str]:
    """Every project the file uses → its id (given by ``projects:``, else new)."""
    new_id = new_id or (lambda: uuid.uuid4().hex)
    names = [scenario.default_project] + [p.name for p in scenario.projects]
    for section in ("qos_policies", "address_scopes", "subnet_pools", "networks", "subnets", "security_groups",
                    "routers", "ports", "servers", "floating_ips", "address_groups"):
        names.extend(item.project for item in getattr(scenario, section) if item.project)
        names.extend(name for item in getattr(scenario, section) for name in getattr(item, "shared_with", ())
                     if name != "*")
    given = {p.name: p.id for p in scenario.projects if p.id}
    return {name: given.get(name) or new_id() for name in dict.fromkeys(names)}


def provision(scenario: Scenario, source: Source, plane: ControlPlane, projects: dict[str, str] | None = None,
              api: NeutronAPI | None = None, ids: PresetIds | None = None,
              progress: Callable[[float], None] | None = None) -> Provisioned:
    """Create every resource of ``scenario`` in ``plane`` (see the module doc).

    ``projects`` maps project names to ids (``project_ids`` by default); ``ids`` is the plane's
    ``PresetIds`` when the file's ``id:`` fields are to be kept. Raises ``ScenarioError`` with the
    API's refusal at the resource's line; the plane is then half-written and must be dropped.
    """
    projects = projects or project_ids(scenario)
    return _Provisioner(scenario, source, plane, api or NeutronAPI(plane), projects, ids, progress).run()


def embedded_plane(rng_seed: int | None = 0) -> tuple[ControlPlane, PresetIds]:
    """A fresh in-process plane whose ids the scenario may choose. No quotas: a scenario
    describes a whole cloud, not one tenant's allowance."""
    from ..control.resources.quotas import DEFAULTS

    ids = PresetIds()
    return ControlPlane(ids=ids, rng_seed=rng_seed, quotas={name: -1 for name in DEFAULTS}), ids


__all__ = ["provision", "embedded_plane", "project_ids", "PresetIds", "Provisioned", "Problem"]
