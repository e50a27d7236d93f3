"""Routers: gateways to external networks, interfaces on tenant subnets and extra routes.

A router record holds what the API shows (``external_gateway_info`` exactly as returned, with
``network_id``, ``external_fixed_ips`` and ``enable_snat``; ``routes``) plus two internal fields
the API never returns: ``gw_port_id`` and ``gw_network_id`` (indexed, so floating-IP association
finds the routers on an external network without a scan). Interfaces are not stored on the
router: they are the ports whose ``device_id`` is the router id and whose ``device_owner`` is a
router-interface owner, found through the ports' ``device_id`` index.

Status rule: a router is ``ACTIVE`` while ``admin_state_up`` is true and ``DOWN`` while it is
false (docs/status.md: routers are ACTIVE when admin-up; real Neutron, which has no such rule, keeps
``ACTIVE``). The status of the router's ports is left to the ports service.
"""

from __future__ import annotations

import ipaddress

from .. import errors
from ..attributes import uuid_value
from ..context import Context
from ..service import ResourceService
from .router_attributes import (
    GATEWAY_OWNER,
    INTERFACE_OWNER,
    INTERFACE_OWNERS,
    ROUTER,
    bad_request,
)


class RouterService(ResourceService):
    """Routers, their gateway port, interfaces (member actions) and extra routes."""

    definition = ROUTER
    table = "routers"
    attribute = "routers"
    indexes = ("project_id", "gw_network_id")
    extensions = ("router", "ext-gw-mode", "extraroute", "extraroute-atomic")
    member_actions = {
        "add_router_interface": "add_router_interface",
        "remove_router_interface": "remove_router_interface",
        "add_extraroutes": "add_extraroutes",
        "remove_extraroutes": "remove_extraroutes",
    }

    # --- policy ---------------------------------------------------------------------------------
    def authorize_create(self, ctx: Context, attrs: dict) -> None:
        super().authorize_create(ctx, attrs)
        self._check_gateway_policy(ctx, attrs.get("external_gateway_info"), "create")

    def authorize_update(self, ctx: Context, record: dict, changes: dict) -> None:
        super().authorize_update(ctx, record, changes)
        self._check_gateway_policy(ctx, changes.get("external_gateway_info"), "update")

    @staticmethod
    def _check_gateway_policy(ctx: Context, info: dict | None, action: str) -> None:
        """``enable_snat`` and ``external_fixed_ips`` are admin-only, even when sent unchanged."""
        if ctx.is_admin or not info:
            return
        for key in ("enable_snat", "external_fixed_ips"):
            if key in info:
                raise errors.PolicyNotAuthorized(
                    action=f"(rule:{action}_router and rule:{action}_router:external_gateway_info:{key})"
                )

    def _action_record(self, ctx: Context, rid: str, action: str) -> dict:
        record = self.get(ctx, rid)
        if not self.writable(ctx, record):
            raise errors.PolicyNotAuthorized(action=f"rule:{action}")
        return record

    # --- create / update / delete ---------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        gateway = attrs.pop("external_gateway_info", None)
        record = self.new_record(
            attrs,
            status="ACTIVE" if attrs["admin_state_up"] else "DOWN",
            external_gateway_info=None,
            routes=[],
            availability_zones=[],
            flavor_id=None,
            gw_port_id=None,
            gw_network_id=None,
        )
        self.store.put(self.table, record)
        if gateway is not None:
            # Neutron stores the router first and then plugs the gateway: revision 2.
            record = self.changed(record, self._apply_gateway(ctx, record, gateway))
            self.store.put(self.table, record)
        return record

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        changes = dict(changes)
        gateway_changed = False
        if "external_gateway_info" in changes:
            before = record["gw_port_id"], record["external_gateway_info"]
            changes.update(self._apply_gateway(ctx, record, changes.pop("external_gateway_info")))
            gateway_changed = (changes["gw_port_id"], changes["external_gateway_info"]) != before
        if "routes" in changes:
            self._check_routes(record, changes["routes"])
        elif gateway_changed and record["routes"]:
            self._check_routes(record, record["routes"])
        if "admin_state_up" in changes:
            changes["status"] = "ACTIVE" if changes["admin_state_up"] else "DOWN"
        new = self.changed(record, changes)
        if gateway_changed and record["gw_port_id"] and new["gw_port_id"] is None:
            # Neutron revises the router once for the update and once more as the gateway
            # port goes (sample 074: clearing the gateway moves revision 8 → 10).
            new["revision_number"] += 1
        self.store.put(self.table, new)
        return new

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        rid = record["id"]
        attached = [p["id"] for p in self.router_ports(rid) if p["device_owner"] in INTERFACE_OWNERS]
        if attached:
            raise errors.RouterInUse(router_id=rid, reason="has ports still attached: " + ", ".join(attached))
        if record["gw_port_id"]:
            self._remove_gateway_port(record)
        for port in self.router_ports(rid):
            if port["device_owner"].startswith("network:router"):
                self.plane.ports.delete_internal(port["id"])
        self.store.delete(self.table, rid)

    # --- gateway --------------------------------------------------------------------------------
    def _apply_gateway(self, ctx: Context, record: dict, info: dict | None) -> dict:
        """Plug, replug, re-address or unplug the gateway; returns the router's new gateway fields."""
        if info is None:
            if record["gw_port_id"]:
                self._remove_gateway_port(record)
            return {"external_gateway_info": None, "gw_port_id": None, "gw_network_id": None}
        network = self.plane.networks.get(ctx, info["network_id"])
        if not network["router:external"]:
            raise bad_request(f"Network {network['id']} is not an external network")
        ext_ips = info.get("external_fixed_ips") or []
        subnets = self._subnets_of(network)
        gateways = {s["gateway_ip"] for s in subnets if s.get("gateway_ip")}
        for ext_ip in ext_ips:
            if ext_ip.get("ip_address") in gateways:
                raise bad_request(f"External IP {ext_ip['ip_address']} is the same as the gateway IP")
        enable_snat = info.get("enable_snat", True)
        port_id = record["gw_port_id"]
        port = self.store.get("ports", port_id) if port_id else None
        if port is not None and port["network_id"] == network["id"]:
            if ext_ips and self._ips_differ(port, ext_ips):
                port = self.plane.ports.update(ctx.elevated(), port_id, {"fixed_ips": ext_ips})
        else:
            if port is not None:
                self._remove_gateway_port(record)
            self._check_subnet_overlap(record["id"], subnets)
            port = self.plane.ports.create(ctx.elevated(), self._gateway_port_body(record, network, ext_ips))
        return {
            "external_gateway_info": {
                "network_id": network["id"],
                "external_fixed_ips": [
                    {"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]} for ip in port["fixed_ips"]
                ],
                "enable_snat": enable_snat,
            },
            "gw_port_id": port["id"],
            "gw_network_id": network["id"],
        }

    @staticmethod
    def _gateway_port_body(record: dict, network: dict, ext_ips: list[dict]) -> dict:
        body = {
            "project_id": "",  # hidden from every project, as in Neutron
            "network_id": network["id"],
            "device_id": record["id"],
            "device_owner": GATEWAY_OWNER,
            "admin_state_up": True,
            "name": "",
        }
        if ext_ips:
            body["fixed_ips"] = ext_ips
        return body

    @staticmethod
    def _ips_differ(port: dict, ext_ips: list[dict]) -> bool:
        """Neutron's _check_for_external_ip_change: compare subnet ids, then addresses."""
        if {ip["subnet_id"] for ip in port["fixed_ips"]} != {i["subnet_id"] for i in ext_ips if i.get("subnet_id")}:
            return True
        current = {ip["ip_address"] for ip in port["fixed_ips"]}
        return current != {i["ip_address"] for i in ext_ips if i.get("ip_address")}

    def _remove_gateway_port(self, record: dict) -> None:
        if self.store.count_where("floatingips", "router_id", record["id"]):
            raise errors.RouterExternalGatewayInUseByFloatingIp(
                router_id=record["id"], net_id=record["gw_network_id"]
            )
        if self.store.get("ports", record["gw_port_id"]) is not None:
            self.plane.ports.delete_internal(record["gw_port_id"])

    # --- lookups --------------------------------------------------------------------------------
    def router_ports(self, router_id: str) -> list[dict]:
        """Every port of the router: interfaces and the gateway (by the device_id index)."""
        return [
            p for p in self.store.find("ports", "device_id", router_id)
            if p["device_owner"] in INTERFACE_OWNERS or p["device_owner"] == GATEWAY_OWNER
        ]

    def interface_ports(self, router_id: str) -> list[dict]:
        return [p for p in self.store.find("ports", "device_id", router_id) if p["device_owner"] in INTERFACE_OWNERS]

    def _subnets_of(self, network: dict) -> list[dict]:
        found = (self.store.get("subnets", sid) for sid in network.get("subnets", ()))
        return [s for s in found if s is not None]

    def _subnet(self, subnet_id: str) -> dict | None:
        return self.store.get("subnets", subnet_id)

    # --- subnet checks --------------------------------------------------------------------------
    def _check_subnet_overlap(self, router_id: str, new_subnets: list[dict]) -> None:
        """Neutron's _check_for_dup_router_subnets: a subnet once per router, no overlapping CIDRs
        (a gateway counts with every subnet of its external network)."""
        new_ids = {s["id"] for s in new_subnets}
        existing: dict[str, None] = {}
        for port in self.router_ports(router_id):
            for ip in port["fixed_ips"]:
                if ip["subnet_id"] in new_ids:
                    raise bad_request(f"Router already has a port on subnet {ip['subnet_id']}")
                if port["device_owner"] != GATEWAY_OWNER:
                    existing[ip["subnet_id"]] = None
            if port["device_owner"] == GATEWAY_OWNER:
                network = self.store.get("networks", port["network_id"]) or {}
                existing.update(dict.fromkeys(network.get("subnets", ())))
        for sub_id in existing:
            sub = self._subnet(sub_id)
            if sub is None:
                continue
            old_net = ipaddress.ip_network(sub["cidr"])
            for new in new_subnets:
                new_net = ipaddress.ip_network(new["cidr"])
                if old_net.version == new_net.version and old_net.overlaps(new_net):
                    raise bad_request(
                        f"Cidr {new['cidr']} of subnet {new['id']} overlaps with cidr {sub['cidr']} "
                        f"of subnet {sub['id']}"
                    )

    @staticmethod
    def _check_address_mode(subnet: dict) -> None:
        v6 = subnet["ip_version"] == 6
        if v6 and subnet.get("ipv6_ra_mode") is None and subnet.get("ipv6_address_mode") is not None:
            raise bad_request(
                f"IPv6 subnet {subnet['id']} configured to receive RAs from an external router "
                "cannot be added to Neutron Router."
            )

    # --- interfaces (member actions, un-enveloped bodies) ----------------------------------------
    @staticmethod
    def _interface_request(body: dict, for_removal: bool) -> tuple[str | None, str | None]:
        port_id, subnet_id = body.get("port_id"), body.get("subnet_id")
        if "port_id" not in body and "subnet_id" not in body:
            raise bad_request("Either subnet_id or port_id must be specified")
        for key in ("port_id", "subnet_id"):
            if key in body:
                try:
                    uuid_value(body[key])
                except ValueError as exc:
                    raise bad_request(str(exc)) from None
        if not for_removal and "port_id" in body and "subnet_id" in body:
            raise bad_request("Cannot specify both subnet-id and port-id")
        return port_id, subnet_id

    @staticmethod
    def _interface_info(router: dict, port: dict, subnets: list[dict], pick: int) -> dict:
        return {
            "id": router["id"],
            "project_id": port["project_id"],
            "port_id": port["id"],
            "network_id": port["network_id"],
            "subnet_id": subnets[pick]["id"],
            "subnet_ids": [s["id"] for s in subnets],
        }

    def add_router_interface(self, ctx: Context, rid: str, body: dict) -> dict:
        """PUT /routers/{id}/add_router_interface with ``{"subnet_id"}`` or ``{"port_id"}``."""
        router = self._action_record(ctx, rid, "add_router_interface")
        port_id, subnet_id = self._interface_request(body, for_removal=False)
        with self.store.transaction():
            if port_id is not None:
                port, subnets = self._add_by_port(ctx, router, port_id)
            else:
                port, subnets = self._add_by_subnet(ctx, router, subnet_id)
            self.bump(rid)
        return self._interface_info(router, port, subnets, -1)

    def _add_by_subnet(self, ctx: Context, router: dict, subnet_id: str) -> tuple[dict, list[dict]]:
        subnet = self.plane.subnets.get(ctx, subnet_id)
        if not subnet.get("gateway_ip"):
            raise bad_request("Subnet for router interface must have a gateway IP")
        if subnet["project_id"] != ctx.project_id and not ctx.is_admin:
            raise bad_request(
                f"Cannot add interface to router because subnet {subnet_id} is not owned by project making the request"
            )
        self._check_address_mode(subnet)
        self._check_subnet_overlap(router["id"], [subnet])
        fixed_ip = {"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}
        if subnet["ip_version"] == 6:
            # A further IPv6 prefix of the same network joins the router's IPv6 port.
            for port in self.interface_ports(router["id"]):
                same_network = port["network_id"] == subnet["network_id"]
                if port["device_owner"] == INTERFACE_OWNER and same_network and _has_v6(port):
                    fixed_ips = [dict(ip) for ip in port["fixed_ips"]] + [fixed_ip]
                    return self.plane.ports.update(ctx.elevated(), port["id"], {"fixed_ips": fixed_ips}), [subnet]
        port = self.plane.ports.create(
            ctx.elevated(),
            {
                "project_id": router["project_id"],
                "network_id": subnet["network_id"],
                "fixed_ips": [fixed_ip],
                "admin_state_up": True,
                "device_id": router["id"],
                "device_owner": INTERFACE_OWNER,
                "name": "",
            },
        )
        return port, [subnet]

    def _add_by_port(self, ctx: Context, router: dict, port_id: str) -> tuple[dict, list[dict]]:
        port = self.plane.ports.get(ctx, port_id)
        if port["device_id"] != "":
            raise errors.PortInUse(port_id=port["id"], net_id=port["network_id"], device_id=port["device_id"])
        if not port["fixed_ips"]:
            raise bad_request("Router port must have at least one fixed IP")
        subnets = [self._subnet(ip["subnet_id"]) for ip in port["fixed_ips"]]
        subnets = [s for s in subnets if s is not None]
        for subnet in subnets:
            self._check_address_mode(subnet)
        if _has_v6(port):
            for other in self.router_ports(router["id"]):
                if other["network_id"] == port["network_id"] and _has_v6(other):
                    raise bad_request(
                        f"Router already contains IPv6 port {other['id']} belonging to network id "
                        f"{other['network_id']}. Only one IPv6 port from the same network subnet can be "
                        "connected to a router."
                    )
        self._check_subnet_overlap(router["id"], subnets)
        if sum(1 for s in subnets if s["ip_version"] == 4) > 1:
            raise bad_request("Cannot have multiple IPv4 subnets on router port")
        self._check_port_in_pools(ctx, port, subnets)
        port = self.plane.ports.update(
            ctx.elevated(), port["id"], {"device_id": router["id"], "device_owner": INTERFACE_OWNER}
        )
        return port, subnets

    @staticmethod
    def _check_port_in_pools(ctx: Context, port: dict, subnets: list[dict]) -> None:
        """A non-admin may not turn an out-of-pool address of a foreign subnet into a router IP."""
        if ctx.is_admin:
            return
        by_id = {s["id"]: s for s in subnets}
        for ip in port["fixed_ips"]:
            subnet = by_id.get(ip["subnet_id"])
            if subnet is None or subnet["project_id"] == ctx.project_id:
                continue
            address = ipaddress.ip_address(ip["ip_address"])
            pools = subnet.get("allocation_pools") or []
            if not any(
                ipaddress.ip_address(p["start"]) <= address <= ipaddress.ip_address(p["end"]) for p in pools
            ):
                raise bad_request(
                    f"Cannot add interface to router because specified port {port['id']} has an IP address "
                    f"out of the allocation pool of subnet {subnet['id']}, which is not owned by the project "
                    "making the request"
                )

    def remove_router_interface(self, ctx: Context, rid: str, body: dict) -> dict:
        """PUT /routers/{id}/remove_router_interface with ``subnet_id`` and/or ``port_id``."""
        router = self._action_record(ctx, rid, "remove_router_interface")
        port_id, subnet_id = self._interface_request(body, for_removal=True)
        with self.store.transaction():
            if port_id is not None:
                port, subnets = self._remove_by_port(ctx, router, port_id, subnet_id)
            else:
                port, subnets = self._remove_by_subnet(ctx, router, subnet_id)
            self.bump(rid)
        return self._interface_info(router, port, subnets, 0)

    def _remove_by_port(self, ctx: Context, router: dict, port_id: str, subnet_id: str | None):
        port = self.store.get("ports", port_id)
        if port is None or port["device_id"] != router["id"] or port["device_owner"] not in INTERFACE_OWNERS:
            raise errors.RouterInterfaceNotFound(router_id=router["id"], port_id=port_id)
        subnet_ids = [ip["subnet_id"] for ip in port["fixed_ips"]]
        if subnet_id is not None and subnet_id not in subnet_ids:
            raise errors.SubnetMismatchForPort(port_id=port_id, subnet_id=subnet_id)
        subnets = [s for s in (self._subnet(i) for i in subnet_ids) if s is not None]
        for subnet in subnets:
            self._check_interface_unused(router, subnet)
        self.plane.ports.delete_internal(port_id)
        return port, subnets

    def _remove_by_subnet(self, ctx: Context, router: dict, subnet_id: str):
        subnet = self.plane.subnets.get(ctx, subnet_id)
        self._check_interface_unused(router, subnet)
        for port in self.interface_ports(router["id"]):
            ids = [ip["subnet_id"] for ip in port["fixed_ips"]]
            if subnet_id not in ids:
                continue
            if len(ids) > 1:  # a multi-prefix IPv6 port loses just that prefix
                kept = [dict(ip) for ip in port["fixed_ips"] if ip["subnet_id"] != subnet_id]
                self.plane.ports.update(ctx.elevated(), port["id"], {"fixed_ips": kept})
            else:
                self.plane.ports.delete_internal(port["id"])
            return port, [subnet]
        raise errors.RouterInterfaceNotFoundForSubnet(router_id=router["id"], subnet_id=subnet_id)

    def _check_interface_unused(self, router: dict, subnet: dict) -> None:
        """No floating IP may be routed through the subnet, no extra route may hop inside it."""
        cidr = ipaddress.ip_network(subnet["cidr"])
        for fip in self.store.find("floatingips", "router_id", router["id"]):
            if fip["fixed_ip_address"] and _inside(fip["fixed_ip_address"], cidr):
                raise errors.RouterInterfaceInUseByFloatingIP(router_id=router["id"], subnet_id=subnet["id"])
        for route in router["routes"]:
            if _inside(route["nexthop"], cidr):
                raise errors.RouterInterfaceInUseByRoute(router_id=router["id"], subnet_id=subnet["id"])

    # --- extra routes ---------------------------------------------------------------------------
    def _check_routes(self, router: dict, routes: list[dict]) -> None:
        """At most ``router_route`` routes; each nexthop inside a subnet the router is plugged
        into, and not one of the router's own addresses."""
        router_id = router["id"]
        limit = self.plane.quotas.limit(router["project_id"], "router_route")
        if 0 <= limit < len(routes):
            raise errors.RoutesExhausted(router_id=router_id, quota=limit)
        if not routes:
            return
        cidrs, own_ips = [], set()
        for port in self.router_ports(router_id):
            for ip in port["fixed_ips"]:
                subnet = self._subnet(ip["subnet_id"])
                if subnet is not None:
                    cidrs.append(ipaddress.ip_network(subnet["cidr"]))
                own_ips.add(ip["ip_address"])
        for route in routes:
            if not any(_inside(route["nexthop"], cidr) for cidr in cidrs):
                raise errors.InvalidRoutes(routes=routes, reason="the nexthop is not connected with router")
            if route["nexthop"] in own_ips:
                raise errors.InvalidRoutes(routes=routes, reason="the nexthop is used by router")

    def add_extraroutes(self, ctx: Context, rid: str, body: dict) -> dict:
        """Union of the current and the given routes (exact duplicates merged)."""
        wanted = self._routes_body(body)
        current = self.get(ctx, rid)["routes"]
        merged = current + [r for r in wanted if r not in current]
        return {"router": self._extraroute_view(ctx, self.update(ctx, rid, {"routes": merged}))}

    def remove_extraroutes(self, ctx: Context, rid: str, body: dict) -> dict:
        """The current routes minus the given ones (missing ones are ignored)."""
        unwanted = self._routes_body(body)
        current = self.get(ctx, rid)["routes"]
        kept = [r for r in current if r not in unwanted]
        return {"router": self._extraroute_view(ctx, self.update(ctx, rid, {"routes": kept}))}

    def _routes_body(self, body: dict) -> list[dict]:
        router = body.get("router")
        if not isinstance(router, dict):
            raise errors.HTTPBadRequest("Unable to find 'router' in request body")
        if "routes" not in router:
            raise errors.HTTPBadRequest("Failed to parse request. Required attribute 'routes' not specified")
        unknown = [k for k in router if k != "routes"]
        if unknown:
            raise errors.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
        routes = router["routes"]
        if not isinstance(routes, list):
            return self._check(self.definition.by_name["routes"], routes)  # raises Neutron's 400
        # Each route is checked on its own: repeats are merged by the set operation, not refused.
        checked = [self._check(self.definition.by_name["routes"], [route])[0] for route in routes]
        return [r for i, r in enumerate(checked) if r not in checked[:i]]

    def _extraroute_view(self, ctx: Context, record: dict) -> dict:
        """The extraroute-atomic responses of real Neutron skip the response policy and carry a
        few raw fields (samples 030/031); reproduce their shape."""
        view = dict(self.present(ctx, record))
        gateway = record["external_gateway_info"]
        view.update(
            enable_snat=gateway["enable_snat"] if gateway else True,
            gw_port_id=record["gw_port_id"],
            distributed=record["distributed"],
            ha=record["ha"],
            ha_vr_id=0,
            enable_default_route_ecmp=False,
            enable_default_route_bfd=False,
        )
        return view


def _has_v6(port: dict) -> bool:
    return any(":" in ip["ip_address"] for ip in port["fixed_ips"])


def _inside(address: str, cidr) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.version == cidr.version and ip in cidr
