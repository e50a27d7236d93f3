"""The machinery of ``xloudnet apply``'s plan: matching file resources to the cloud's, references,
and one step per resource (the sections themselves are in ``plan``).

A file resource matches the cloud resource with its ``id:`` or, failing that, the one of its kind
with its name in its project (a project's ``default`` group is always its own). No match:
``create``. A match whose updatable fields (or tags) differ: ``update`` those fields. Otherwise
``unchanged``. Security-group rules, QoS rules, router interfaces and extra routes are compared
as sets. Nothing the file does not name is deleted (except, with ``keep_default_egress: false``,
the allow-all egress pair of that group).

Each step's request is built when it runs, so a reference to a resource created earlier in the
same run resolves to its new id.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..scenarios.references import Index, Unresolved
from ..scenarios.schema import Scenario
from .inventory import Inventory

__all__ = ["ApplyError", "Planner", "Step", "differing", "holds", "rule_signature"]


class ApplyError(Exception):
    """The scenario cannot be applied (an unknown project, an ambiguous name) or a call was refused."""


@dataclass
class Step:
    verb: str                     # "create", "update" or "unchanged"
    kind: str                     # "network", "security group rule", ...
    name: str
    project: str
    detail: str = ""
    where: str = ""               # the file position, e.g. "routers[0].interfaces[1]"
    run: Callable[[], None] | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {"action": self.verb, "kind": self.kind, "name": self.name, "project": self.project,
                "detail": self.detail, "where": self.where}


# kind → (inventory list, URL path, body key)
KINDS = {"QoS policy": ("qos_policies", "/qos/policies", "policy"), "network": ("networks", "/networks", "network"),
         "subnet": ("subnets", "/subnets", "subnet"),
         "security group": ("security_groups", "/security-groups", "security_group"),
         "router": ("routers", "/routers", "router"), "port": ("ports", "/ports", "port"),
         "floating IP": ("floating_ips", "/floatingips", "floatingip"),
         "address group": ("address_groups", "/address-groups", "address_group"),
         "address scope": ("address_scopes", "/address-scopes", "address_scope"),
         "subnet pool": ("subnetpools", "/subnetpools", "subnetpool")}
PROTOCOL_NAMES = {"1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp"}
QOS_FIELDS = ("max_kbps", "max_burst_kbps", "max_kpps", "max_burst_kpps", "min_kbps", "min_kpps", "dscp_mark",
              "direction")


def differing(desired: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """The desired fields the cloud's resource does not already hold (see :func:`holds`)."""
    return {key: value for key, value in desired.items() if not holds(existing.get(key), value)}


def holds(current: Any, wanted: Any) -> bool:
    """Whether ``current`` (the cloud's) has what ``wanted`` (the file's) says: mappings may carry
    more keys than the file gives (the cloud fills defaults), lists match as multisets."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(holds(current.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(current, list) or len(current) != len(wanted):
            return False
        unused = list(current)
        for item in wanted:
            hit = next((n for n, c in enumerate(unused) if holds(c, item)), None)
            if hit is None:
                return False
            unused.pop(hit)
        return True
    return current == wanted


def rule_signature(rule: dict) -> tuple:
    """What makes two security-group rules the same rule (Neutron's duplicate check)."""
    protocol = rule.get("protocol")
    protocol = None if protocol in (None, "", "any") else PROTOCOL_NAMES.get(str(protocol), str(protocol).lower())
    prefix = rule.get("remote_ip_prefix")
    return (rule["direction"], rule.get("ethertype") or "IPv4", protocol, rule.get("port_range_min"),
            rule.get("port_range_max"), None if prefix is None else str(ipaddress.ip_network(prefix, strict=False)),
            rule.get("remote_group_id"), rule.get("remote_address_group_id"))


def _default_egress(rule: dict) -> bool:
    return (rule["direction"] == "egress" and rule.get("protocol") is None and rule.get("remote_ip_prefix") is None
            and rule.get("remote_group_id") is None and rule.get("port_range_min") is None)


class Planner:
    def __init__(self, scenario: Scenario, inventory: Inventory, conn):
        self.s, self.inv, self.conn = scenario, inventory, conn
        self.index = Index(scenario)
        self.by_id: dict[str, dict[str, dict]] = {}
        self.by_name: dict[str, dict[tuple, list[dict]]] = {}
        for kind, (section, _path, _key) in KINDS.items():
            items = getattr(inventory, section)
            self.by_id[kind] = {i["id"]: i for i in items}
            named = defaultdict(list)
            for item in items:
                named[(item.get("project_id"), item.get("name"))].append(item)
            self.by_name[kind] = named
        self.projects = self._projects()
        self.ids: dict[tuple[str, int], str] = {}        # file item → cloud id (matched, or once created)
        self.default_groups: dict[str, str] = {g["project_id"]: g["id"] for g in inventory.security_groups
                                               if g.get("name") == "default"}
        self.out: list[Step] = []

    # --- projects, matching, references --------------------------------------------------------------
    def _projects(self) -> dict[str, str | None]:
        """Scenario project name → cloud project id; None: not in the cloud (apply creates it).

        A project matches by the file's ``id:`` when the cloud has it, else by name. Credentials
        that cannot list projects (a member) put the default project's resources in their own."""
        known = self.inv.project_names
        by_name = {name: pid for pid, name in known.items()}
        declared = {p.name: p.id for p in self.s.projects if p.id}
        names = [self.s.default_project] + [p.name for p in self.s.projects]
        for section in ("qos_policies", "address_scopes", "subnet_pools", "networks", "subnets", "security_groups",
                        "routers", "ports", "servers", "floating_ips", "address_groups"):
            names += [item.project for item in getattr(self.s, section) if item.project]
            names += [n for item in getattr(self.s, section) for n in getattr(item, "shared_with", ()) if n != "*"]
        out: dict[str, str | None] = {}
        for name in dict.fromkeys(names):
            pid = declared.get(name) if declared.get(name) in known else by_name.get(name)
            if pid is None and name == self.s.default_project and not self.inv.all_projects:
                pid = self.inv.project_id  # a member applies into its own project
            out[name] = pid
        return out

    def project_steps(self) -> None:
        """A ``create project`` step for each project the cloud lacks (Keystone; admin only)."""
        for name, pid in self.projects.items():
            if pid is not None:
                continue

            def run(name=name) -> None:
                body = {"project": {"name": name, "domain_id": "default",
                                    "description": "created by xloudnet apply"}}
                made = self.conn.identity.post("/projects", json=body, raise_exc=True).json()["project"]
                self.projects[name] = made["id"]
            self.out.append(Step("create", "project", name, name, "", "projects", run))

    def project_of(self, item) -> tuple[str, str | None]:
        name = item.project or self.s.default_project
        return name, self.projects[name]

    def match(self, kind: str, item, where: str) -> dict | None:
        if getattr(item, "id", None) and item.id in self.by_id[kind]:
            return self.by_id[kind][item.id]
        name, pid = self.project_of(item)
        found = [] if pid is None else self.by_name[kind].get((pid, item.name), [])  # None: a new project
        if len(found) > 1:
            raise ApplyError(f"{where}: {len(found)} {kind}s named '{item.name}' in project '{name}'; "
                             "give the file's one an id: to say which")
        return found[0] if found else None

    def ref(self, kind: str, ref: str | None, item) -> str | None:
        """The cloud id ``ref`` names (None: not created yet, or no reference)."""
        if ref is None:
            return None
        found = self.index.resolve(kind, ref, item.project or self.s.default_project)
        if found is None:  # the project's own default group
            return self.default_group(self.project_of(item)[1])
        return self.ids.get(found)

    def need(self, kind: str, ref: str | None, item) -> str | None:
        """Like :meth:`ref`, when the step runs: the resource must exist by then."""
        rid = self.ref(kind, ref, item)
        if ref is not None and rid is None:
            raise Unresolved(f"{kind} '{ref}' was not created")
        return rid

    def default_group(self, pid: str | None) -> str | None:
        if pid is not None and pid not in self.default_groups and self.conn is not None:
            listed = self.get("/security-groups", {"project_id": pid, "name": "default", "fields": "id"})
            groups = listed.get("security_groups", [])
            if groups:
                self.default_groups[pid] = groups[0]["id"]
        return self.default_groups.get(pid)

    # --- HTTP through openstacksdk's network proxy ----------------------------------------------------------
    def get(self, path: str, params: dict | None = None) -> dict:
        return self.conn.network.get(path, params=params, raise_exc=True).json()

    def send(self, method: str, path: str, body: dict | None = None) -> dict:
        response = getattr(self.conn.network, method)(path, json=body, raise_exc=True)
        return response.json() if response.content else {}

    def create(self, kind: str, body: dict, pid: str | None) -> dict:
        _section, path, key = KINDS[kind]
        if pid is not None and pid != self.inv.project_id:
            body = {**body, "project_id": pid}  # admin acting for another project
        return self.send("post", path, {key: body})[key]

    def put_tags(self, kind: str, rid: str, tags: list[str]) -> None:
        self.send("put", f"{KINDS[kind][1]}/{rid}/tags", {"tags": sorted(tags)})

    # --- generic resource step -------------------------------------------------------------------------------
    def resource(self, kind: str, section: str, i: int, item, desired: Callable[[], dict],
                 create_body: Callable[[dict], dict] | None = None,
                 after_create: Callable[[str], None] | None = None) -> dict | None:
        """One step for one file resource; returns the matched cloud resource (None: to be created).

        ``desired()`` is what is compared with (and updated on) a match; ``create_body(desired())``
        what a create sends (create-only fields added, admin-only flags left out when unset)."""
        where = f"{section}[{i}]"
        name, pid = self.project_of(item)
        existing = self.match(kind, item, where)
        tags = sorted(getattr(item, "tags", []) or [])
        if existing is None:
            def run() -> None:
                body = desired()
                made = self.create(kind, create_body(body) if create_body else body, self.projects[name])
                self.ids[(section, i)] = made["id"]
                if tags:
                    self.put_tags(kind, made["id"], tags)
                if after_create is not None:
                    after_create(made["id"])
            self.out.append(Step("create", kind, item.name, name, "", where, run))
            return None
        rid = existing["id"]
        self.ids[(section, i)] = rid
        changes = differing(desired(), existing)
        if item.name.endswith(f"-{rid[:8]}"):
            changes.pop("name", None)  # the name import made up for a nameless or repeated name
        retag = tags != sorted(existing.get("tags") or [])
        if not changes and not retag:
            self.out.append(Step("unchanged", kind, item.name, name, "", where))
            return existing

        def update() -> None:
            now = {k: v for k, v in differing(desired(), existing).items() if k in changes}
            if now:
                self.send("put", f"{KINDS[kind][1]}/{rid}", {KINDS[kind][2]: now})
            if retag:
                self.put_tags(kind, rid, tags)
        detail = ", ".join(sorted(changes) + (["tags"] if retag else []))
        self.out.append(Step("update", kind, item.name, name, detail, where, update))
        return existing
