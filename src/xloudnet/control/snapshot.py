"""The read-only view of control-plane state that the data plane compiles.

A ``Snapshot`` is the contract between the two halves of xloudnet: the control plane produces
one in O(1) (its tables are persistent maps, so a snapshot shares structure with the live state
and never changes afterwards), and ``dataplane.compile_tables`` consumes it. Records are the
resources exactly as an admin sees them through the API (Neutron attribute names and shapes), so
a scenario or a test can also build a snapshot straight from API-shaped dicts.

Records are never mutated in place: an update replaces the record, so an unchanged record keeps
its identity from one snapshot to the next. Compilers may cache derived data per record by
``(id, revision_number)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

COLLECTIONS = (
    "networks",
    "subnets",
    "ports",
    "routers",
    "floatingips",
    "port_forwardings",
    "security_groups",
    "security_group_rules",
    "qos_policies",
    "address_groups",
    "subnetpools",
)

def _empty() -> Mapping[str, dict]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Snapshot:
    """Every resource the data plane needs, keyed by id, as admin-visible API dicts.

    - ``networks``: ``admin_state_up``, ``router:external``, ``shared``, ``subnets``, ``mtu``,
      ``qos_policy_id``, ``port_security_enabled``, ``project_id``.
    - ``subnets``: ``network_id``, ``ip_version``, ``cidr``, ``gateway_ip``, ``host_routes``,
      ``allocation_pools``, ``project_id``.
    - ``ports``: ``network_id``, ``admin_state_up``, ``fixed_ips`` [{subnet_id, ip_address}],
      ``allowed_address_pairs`` [{ip_address (ip or cidr), mac_address}], ``security_groups``,
      ``port_security_enabled``, ``device_owner``, ``device_id``, ``qos_policy_id``,
      ``mac_address``, ``project_id``, ``status``.
    - ``routers``: ``admin_state_up``, ``external_gateway_info`` (null or {network_id,
      enable_snat, external_fixed_ips [{subnet_id, ip_address}]}), ``routes``
      [{destination, nexthop}], ``project_id``. Interfaces are ports with ``device_owner``
      ``network:router_interface*`` and ``device_id`` = router id; the gateway is a port with
      ``network:router_gateway``.
    - ``floatingips``: ``floating_ip_address``, ``floating_network_id``, ``port_id``,
      ``fixed_ip_address``, ``router_id``, ``status``, ``qos_policy_id``, ``project_id``.
    - ``port_forwardings``: ``floatingip_id``, ``protocol``, ``internal_ip_address``,
      ``internal_port_id``, ``external_port_range`` and ``internal_port_range`` (``"first:last"``).
    - ``security_groups``: ``stateful``, ``project_id``, ``name``; rules are separate.
    - ``security_group_rules``: ``security_group_id``, ``direction``, ``ethertype``,
      ``protocol``, ``port_range_min``, ``port_range_max``, ``remote_ip_prefix``,
      ``remote_group_id``, ``remote_address_group_id``.
    - ``qos_policies``: ``rules`` [{id, type, ...fields}], ``shared``, ``is_default``.
    - ``address_groups``: ``addresses`` (CIDRs), ``project_id``, ``name``.
    - ``subnetpools``: ``address_scope_id``, ``ip_version`` (a subnet's address scope is its
      pool's, through the subnet's ``subnetpool_id``).

    ``revision`` increases with every change of the control plane it came from.
    """

    revision: int = 0
    networks: Mapping[str, dict] = field(default_factory=_empty)
    subnets: Mapping[str, dict] = field(default_factory=_empty)
    ports: Mapping[str, dict] = field(default_factory=_empty)
    routers: Mapping[str, dict] = field(default_factory=_empty)
    floatingips: Mapping[str, dict] = field(default_factory=_empty)
    port_forwardings: Mapping[str, dict] = field(default_factory=_empty)
    security_groups: Mapping[str, dict] = field(default_factory=_empty)
    security_group_rules: Mapping[str, dict] = field(default_factory=_empty)
    qos_policies: Mapping[str, dict] = field(default_factory=_empty)
    address_groups: Mapping[str, dict] = field(default_factory=_empty)
    subnetpools: Mapping[str, dict] = field(default_factory=_empty)

    @classmethod
    def from_resources(cls, revision: int = 0, **collections: Iterable[dict]) -> "Snapshot":
        """Build a snapshot from lists of API-shaped dicts, e.g. ``ports=[{...}, ...]``."""
        unknown = set(collections) - set(COLLECTIONS)
        if unknown:
            raise TypeError(f"unknown collections {sorted(unknown)}")
        maps = {
            name: MappingProxyType({r["id"]: r for r in items}) for name, items in collections.items()
        }
        return cls(revision=revision, **maps)

    def collection(self, name: str) -> Mapping[str, dict]:
        """Return one collection by its plural name."""
        if name not in COLLECTIONS:
            raise KeyError(name)
        return getattr(self, name)
