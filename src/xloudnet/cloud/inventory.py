"""Read everything the credentials can see from a Neutron endpoint, as Neutron's own JSON.

The requests go through openstacksdk's network proxy (its keystoneauth session: token, catalog,
TLS, retries) but stay raw JSON: the scenario format uses Neutron's attribute names, and building
an SDK ``Resource`` per port would cost more than the HTTP at 10k ports. Lists are paginated
(``limit`` + the ``*_links`` ``next`` href), so a cloud with a page cap is read whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Inventory", "PAGE_SIZE", "describe", "list_all", "read_inventory", "read_port_forwardings"]

PAGE_SIZE = 1000  # Neutron deployments commonly cap pages at 1000 (pagination_max_limit)

# (Inventory field, URL path, key of the list in the answer)
COLLECTIONS = (
    ("networks", "/networks", "networks"),
    ("subnets", "/subnets", "subnets"),
    ("security_groups", "/security-groups", "security_groups"),
    ("routers", "/routers", "routers"),
    ("ports", "/ports", "ports"),
    ("floating_ips", "/floatingips", "floatingips"),
    ("qos_policies", "/qos/policies", "policies"),
    ("rbac_policies", "/rbac-policies", "rbac_policies"),
    ("address_groups", "/address-groups", "address_groups"),
    ("address_scopes", "/address-scopes", "address_scopes"),
    ("subnetpools", "/subnetpools", "subnetpools"),
)
# extensions a Neutron may lack: absent means none
OPTIONAL = {"qos_policies", "rbac_policies", "address_groups", "address_scopes", "subnetpools"}


@dataclass
class Inventory:
    """One cloud as its Neutron API shows it to one set of credentials."""

    project_id: str                                      # the credentials' project
    project_names: dict[str, str] = field(default_factory=dict)  # project id → name (those known)
    all_projects: bool = False                           # the credentials could list every project
    networks: list[dict] = field(default_factory=list)
    subnets: list[dict] = field(default_factory=list)
    security_groups: list[dict] = field(default_factory=list)   # with their security_group_rules
    routers: list[dict] = field(default_factory=list)
    ports: list[dict] = field(default_factory=list)
    floating_ips: list[dict] = field(default_factory=list)      # with their port_forwardings (full records)
    qos_policies: list[dict] = field(default_factory=list)      # with their rules
    address_groups: list[dict] = field(default_factory=list)
    rbac_policies: list[dict] = field(default_factory=list)     # those the credentials own (or all: admin)
    address_scopes: list[dict] = field(default_factory=list)
    subnetpools: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name, _path, _key in COLLECTIONS}


def list_all(proxy, path: str, key: str, page_size: int = PAGE_SIZE) -> list[dict]:
    """Every item of one collection, following the ``next`` links page by page."""
    items: list[dict] = []
    url, params = path, {"limit": page_size}
    while url:
        response = proxy.get(url, params=params, raise_exc=True)
        body = response.json()
        page = body.get(key, [])
        items.extend(page)
        url, params = _next_link(body.get(f"{key}_links", ())), None
        if not page:
            break
    return items


def _next_link(links) -> str | None:
    return next((link["href"] for link in links if link.get("rel") == "next"), None)


def read_inventory(conn, progress: Callable[[str, int], None] | None = None,
                   page_size: int = PAGE_SIZE) -> Inventory:
    """Read every collection through ``conn`` (an ``openstack.connection.Connection``)."""
    from keystoneauth1 import exceptions as ks_exceptions

    names, listed = _project_names(conn)
    inventory = Inventory(project_id=conn.current_project_id, project_names=names, all_projects=listed)
    for name, path, key in COLLECTIONS:
        try:
            setattr(inventory, name, list_all(conn.network, path, key, page_size))
        except ks_exceptions.NotFound:
            if name not in OPTIONAL:
                raise
        if progress is not None:
            progress(name, len(getattr(inventory, name)))
    read_port_forwardings(conn.network, inventory.floating_ips, page_size)
    return inventory


def read_port_forwardings(proxy, fips: list[dict], page_size: int = PAGE_SIZE) -> None:
    """Replace each floating IP's ``port_forwardings`` summary (expose-port-forwarding-in-fip:
    no ranges, no descriptions) with the full records, asking only for floating IPs that have
    some. A Neutron without the extension shows no summary, and nothing is asked."""
    for fip in fips:
        if fip.get("port_forwardings"):
            fip["port_forwardings"] = list_all(proxy, f"/floatingips/{fip['id']}/port_forwardings",
                                               "port_forwardings", page_size)


def _project_names(conn) -> tuple[dict[str, str], bool]:
    """Project names: all of them where the credentials may list projects, else their own."""
    from keystoneauth1 import exceptions as ks_exceptions

    access = conn.session.auth.get_access(conn.session)
    names = {access.project_id: access.project_name} if access.project_id else {}
    try:
        listed = conn.identity.get("/projects", raise_exc=True).json().get("projects", [])
    except (ks_exceptions.ClientException, ValueError):
        return names, False  # a member may not list projects: the others keep generated names
    names.update({p["id"]: p["name"] for p in listed})
    return names, True


def describe(inventory: Inventory) -> str:
    return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in inventory.counts().items())
