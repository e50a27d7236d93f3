"""``ControlPlane``: the facade over the store and the resource services.

It owns the clock and the id factory (both injected), builds every service, hands out O(1)
snapshots for the data plane and O(1) copy-on-write forks for what-if analysis.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from .context import Context
from .resources import SERVICES
from .snapshot import Snapshot
from .store import Store


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _uuid() -> str:
    return str(uuid.uuid4())


class ControlPlane:
    """All Neutron resources of one cloud, in memory."""

    def __init__(
        self,
        clock: Callable[[], datetime] = _utc_now,
        ids: Callable[[], str] = _uuid,
        quotas: dict[str, int] | None = None,
        rng_seed: int | None = None,
        services: tuple = SERVICES,
        dhcp_agent: bool = True,
    ):
        self.clock = clock
        self.ids = ids
        self._quota_overrides = dict(quotas or {})
        self.rng_seed = rng_seed
        # Simulate a DHCP agent: network:dhcp ports on DHCP-enabled subnets (resources/dhcp.py).
        self.dhcp_agent = dhcp_agent
        self.services = {}
        for cls in services:
            service = cls(self)
            self.services[cls.definition.collection] = service
            setattr(self, cls.attribute, service)
        self.store = Store({s.table: s.indexes for s in self.services.values()})

    # --- shared helpers for services -----------------------------------------------------------
    def now(self) -> str:
        return self.clock().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def new_id(self) -> str:
        return self.ids()

    @property
    def revision(self) -> int:
        return self.store.revision

    # --- views for the other half ---------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Everything the data plane needs, frozen as of now (O(1): shares the persistent maps)."""
        s = self.store
        with s.consistent():
            return self._snapshot(s)

    @staticmethod
    def _snapshot(s) -> Snapshot:
        return Snapshot(
            revision=s.revision,
            networks=s.table("networks"),
            subnets=s.table("subnets"),
            ports=s.table("ports"),
            routers=s.table("routers"),
            floatingips=s.table("floatingips"),
            port_forwardings=s.table("port_forwardings"),
            security_groups=s.table("security_groups"),
            security_group_rules=s.table("security_group_rules"),
            qos_policies=s.table("qos_policies"),
            address_groups=s.table("address_groups"),
            subnetpools=s.table("subnetpools"),
        )

    def fork(self) -> "ControlPlane":
        """An independent copy for what-if: changes to it never reach this plane."""
        other = ControlPlane.__new__(ControlPlane)
        other.__dict__.update(self.__dict__)
        other.store = self.store.fork()
        other.services = {}
        for collection, service in self.services.items():
            clone = type(service)(other)
            other.services[collection] = clone
            setattr(other, type(service).attribute, clone)
        return other

    def admin_context(self) -> Context:
        return Context.admin()
