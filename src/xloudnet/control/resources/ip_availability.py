"""``/v2.0/network-ip-availabilities``: how full each network's subnets are (admin only).

Counts come from the ports' ``fixed_ips`` (the only record of allocations), through the
``fixed_ips.subnet_id`` index: no scan of all ports.
"""

from __future__ import annotations

from .. import errors, ipam, query
from ..attributes import Attr, ResourceDef, to_int
from ..context import Context
from ..messages import Response
from ..service import ResourceService

NETWORK_IP_AVAILABILITY = ResourceDef(
    collection="network-ip-availabilities",
    plural="network_ip_availabilities",
    singular="network_ip_availability",
    tags=False,
    attrs=(
        Attr("network_id", filter=True),
        Attr("network_name", filter=True),
        Attr("project_id", filter=True),
        Attr("tenant_id", filter=True),
        Attr("ip_version", filter=True, filter_convert=to_int),
    ),
)


class NetworkIPAvailabilityService(ResourceService):
    """Read-only usage figures per network; invisible (404) to everyone but admins."""

    definition = NETWORK_IP_AVAILABILITY
    table = "network_ip_availabilities"  # stores nothing: answers derive from networks, subnets, ports
    attribute = "network_ip_availabilities"
    indexes = ()
    extensions = ("network-ip-availability",)
    custom_routes_only = True

    def routes(self) -> dict:
        return {"": {"GET": self._list}, r"/(?P<rid>[^/]+)": {"GET": self._show}}

    def _list(self, ctx: Context, req, **_) -> Response:
        q = query.parse(req.query, self.definition)
        if not ctx.is_admin:
            return Response(200, {self.definition.plural: []})
        versions = set(q.filters.pop("ip_version", []))
        match = query.matcher(q)
        items = [self.availability(net, versions) for net in self.store.table("networks").values()]
        return Response(200, {self.definition.plural: [i for i in items if match(i)]})

    def _show(self, ctx: Context, req, rid: str, **_) -> Response:
        network = self.store.get("networks", rid)
        if network is None or not ctx.is_admin:
            raise errors.HTTPNotFound()
        return Response(200, {self.definition.singular: self.availability(network)})

    def availability(self, network: dict, versions: set[int] | None = None) -> dict:
        subnets = [self.store.get("subnets", sid) for sid in network["subnets"]]
        per_subnet = [self._subnet(s) for s in subnets if s and (not versions or s["ip_version"] in versions)]
        details = {
            key: sum(s["ip_availability_details"][key] for s in per_subnet)
            for key in ("total_ips_in_subnet", "total_ips_in_allocation_pool",
                        "used_ips_in_subnet", "used_ips_in_allocation_pool")
        }
        return {
            "network_id": network["id"],
            "network_name": network["name"],
            "project_id": network["project_id"],
            "subnet_ip_availability": per_subnet,
            "used_ips": details["used_ips_in_subnet"],
            "total_ips": details["total_ips_in_allocation_pool"],
            "ip_availability_details": details,
            "tenant_id": network["project_id"],
        }

    def _subnet(self, subnet: dict) -> dict:
        net = ipam.network(subnet["cidr"])
        low, high = ipam.usable_bounds(net)
        ranges = ipam.pool_ranges(subnet)
        used = [
            ipam.to_int(f["ip_address"])
            for port in self.store.find("ports", "fixed_ips.subnet_id", subnet["id"])
            for f in port["fixed_ips"]
            if f["subnet_id"] == subnet["id"]
        ]
        in_pools = sum(1 for ip in used if any(a <= ip <= b for a, b in ranges))
        details = {
            "total_ips_in_subnet": high - low + 1,
            "total_ips_in_allocation_pool": sum(b - a + 1 for a, b in ranges),
            "used_ips_in_subnet": len(used),
            "used_ips_in_allocation_pool": in_pools,
        }
        return {
            "subnet_id": subnet["id"],
            "ip_version": subnet["ip_version"],
            "cidr": subnet["cidr"],
            "subnet_name": subnet["name"],
            "used_ips": details["used_ips_in_subnet"],
            "total_ips": details["total_ips_in_allocation_pool"],
            "ip_availability_details": details,
        }
