"""Floating IPs: an address of an external network, optionally NATed to a port's fixed IPv4.

The address is held by an internal port on the external network (``device_owner``
``network:floatingip``, ``device_id`` = the floating IP's id, project ""), so ordinary IPAM
allocates and frees it. Association picks the router that has an interface on the port's subnet
and a gateway on the floating network (``serving_router``).

Status rule (docs/status.md): ``ACTIVE`` while associated with a port, ``DOWN`` otherwise.
``port_details`` is computed from the associated port when the record is presented, so it always
shows the port as it is now.
"""

from __future__ import annotations

import ipaddress

from .. import errors
from ..attributes import (
    REQUIRED,
    Attr,
    ResourceDef,
    ip_or_none,
    standard_attrs,
    uuid_or_none,
    uuid_value,
)
from ..context import Context
from ..service import ResourceService
from .routers import INTERFACE_OWNERS

FLOATINGIP_OWNER = "network:floatingip"
# Ports of these owners cannot take a floating IP (neutron's is_fip_serviced).
UNSERVICED_OWNERS = frozenset({"network:dhcp"})
PORT_DETAIL_KEYS = ("name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner")

FLOATINGIP = ResourceDef(
    collection="floatingips",
    plural="floatingips",
    singular="floatingip",
    not_found=errors.FloatingIPNotFound,
    not_found_arg="floatingip_id",
    attrs=standard_attrs()
    + (
        Attr("floating_network_id", post=True, default=REQUIRED, validate=uuid_value, filter=True, sort=True),
        Attr(
            "floating_ip_address", post=True, default=None, validate=ip_or_none, admin_set=True, filter=True, sort=True
        ),
        Attr("subnet_id", post=True, default=None, validate=uuid_or_none, visible=False),
        Attr("port_id", post=True, put=True, default=None, validate=uuid_or_none, filter=True),
        Attr("fixed_ip_address", post=True, put=True, default=None, validate=ip_or_none, filter=True, sort=True),
        Attr("router_id", filter=True, sort=True),
        Attr("status", filter=True, sort=True),
        Attr("qos_policy_id", post=True, put=True, default=None, validate=uuid_or_none),
        Attr("port_details"),
        Attr("port_forwardings"),  # expose-port-forwarding-in-fip: filled in by ``present``
        Attr("floating_port_id", visible=False),
    ),
)


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="floatingip", msg=msg)


def _addresses_on(router_id: str, port: dict, subnet_id: str) -> list[tuple[str, str]]:
    return [(router_id, ip["ip_address"]) for ip in port["fixed_ips"] if ip["subnet_id"] == subnet_id]


def _version(address: str) -> int:
    return ipaddress.ip_address(address).version


class FloatingIPService(ResourceService):
    """Allocation, association and release of floating IPs."""

    definition = FLOATINGIP
    table = "floatingips"
    attribute = "floatingips"
    indexes = ("project_id", "port_id", "router_id", "floating_network_id", "qos_policy_id")
    indexed_filters = ("port_id", "router_id", "floating_network_id", "project_id")
    extensions = ("fip-port-details", "qos-fip")

    # --- create / update / delete ---------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        attrs = dict(attrs)
        fip_id = self.plane.new_id()
        network_id = attrs["floating_network_id"]
        network = self.plane.networks.get(ctx, network_id)
        if not network["router:external"]:
            raise _bad(f"Network {network_id} is not a valid external network")
        subnets = [self.store.get("subnets", sid) for sid in network["subnets"]]
        if not any(s is not None and s["ip_version"] == 4 for s in subnets):
            raise _bad(f"Network {network_id} does not contain any IPv4 subnet")
        if attrs.get("qos_policy_id"):
            self.plane.qos_policies.get_usable(ctx, attrs["qos_policy_id"])
        port = self.plane.ports.create(ctx.elevated(), self._port_body(fip_id, attrs))
        v4 = [ip for ip in port["fixed_ips"] if _version(ip["ip_address"]) == 4]
        if not v4:
            raise errors.ExternalIpAddressExhausted(net_id=network_id)
        attrs.pop("subnet_id", None)
        attrs["id"] = fip_id
        draft = {"id": fip_id, "project_id": attrs["project_id"], "floating_network_id": network_id,
                 "floating_ip_address": v4[0]["ip_address"], "port_id": None}
        port_id, fixed_ip, router_id = self._association(ctx, draft, attrs["port_id"], attrs["fixed_ip_address"])
        attrs.update(port_id=port_id, fixed_ip_address=fixed_ip)
        record = self.new_record(
            attrs,
            floating_ip_address=v4[0]["ip_address"],
            router_id=router_id,
            status="ACTIVE" if port_id else "DOWN",
            port_details=None,
            port_forwardings=[],
            floating_port_id=port["id"],
        )
        # Real Neutron reports a new floating IP at revision 0 (samples 047 and 054).
        record["revision_number"] = 0
        self.store.put(self.table, record)
        return record

    @staticmethod
    def _port_body(fip_id: str, attrs: dict) -> dict:
        body = {
            "project_id": "",  # hidden from every project, as in Neutron
            "network_id": attrs["floating_network_id"],
            "admin_state_up": True,
            "device_id": fip_id,
            "device_owner": FLOATINGIP_OWNER,
            "name": "",
        }
        fixed_ip = {}
        if attrs.get("subnet_id"):
            fixed_ip["subnet_id"] = attrs["subnet_id"]
        if attrs.get("floating_ip_address"):
            fixed_ip["ip_address"] = attrs["floating_ip_address"]
        if fixed_ip:
            body["fixed_ips"] = [fixed_ip]
        return body

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        # An empty body is the historical way to clear the association (Neutron bug 1610045);
        # any other body leaves an association alone unless it names port_id.
        changes = dict(changes) or {"port_id": None}
        self.plane.qos_policies.check_change(ctx, record, changes)
        forwarded = self.plane.port_forwardings.has_forwardings(record["id"])
        if forwarded and changes.get("port_id"):
            raise errors.FipInUseByPortForwarding(id=record["id"])
        if forwarded:
            # Port forwardings own the router and status; there is no association to clear.
            changes.pop("port_id", None)
        if "port_id" in changes or "fixed_ip_address" in changes:
            port_id, fixed_ip, router_id = self._association(
                ctx, record, changes.get("port_id"), changes.get("fixed_ip_address")
            )
            changes.update(
                port_id=port_id,
                fixed_ip_address=fixed_ip,
                router_id=router_id,
                status="ACTIVE" if port_id else "DOWN",
            )
        new = self.changed(record, changes)
        self.store.put(self.table, new)
        return new

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        if self.plane.port_forwardings.has_forwardings(record["id"]):
            raise errors.FipInUseByPortForwarding(id=record["id"])
        self.release(record)

    def release(self, record: dict) -> None:
        """Drop the floating IP and its ``network:floatingip`` port (inside the caller's transaction)."""
        self.store.delete(self.table, record["id"])
        if self.store.get("ports", record["floating_port_id"]) is not None:
            self.plane.ports.delete_internal(record["floating_port_id"])

    # --- association ----------------------------------------------------------------------------
    def _association(
        self, ctx: Context, fip: dict, port_id: str | None, fixed_ip: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """(port_id, fixed_ip_address, router_id) for a requested association; all None to
        disassociate. Raises Neutron's errors for every rule the association breaks."""
        if fixed_ip and not port_id:
            raise _bad("fixed_ip_address cannot be specified without a port_id")
        if not port_id:
            return None, None, None
        port = self.plane.ports.get(ctx, port_id)
        if port["project_id"] != fip["project_id"] and not ctx.is_admin:
            raise _bad(
                f"Cannot process floating IP association with Port {port_id}, since that port is owned "
                "by a different tenant"
            )
        if port["device_owner"] in UNSERVICED_OWNERS:
            raise _bad(f"Port {port_id} is unable to be assigned a floating IP")
        fixed_ip, subnet_id = self._pick_fixed_ip(port, fixed_ip)
        router_id = self.serving_router(port, subnet_id, fip["floating_network_id"])
        if port_id != fip.get("port_id"):
            for other in self.store.find(self.table, "port_id", port_id):
                if (
                    other["id"] != fip["id"]
                    and other["floating_network_id"] == fip["floating_network_id"]
                    and other["fixed_ip_address"] == fixed_ip
                ):
                    raise errors.FloatingIPPortAlreadyAssociated(
                        port_id=port_id,
                        fip_id=fip["id"],
                        floating_ip_address=fip["floating_ip_address"],
                        fixed_ip=fixed_ip,
                        net_id=fip["floating_network_id"],
                    )
        return port_id, fixed_ip, router_id

    @staticmethod
    def _pick_fixed_ip(port: dict, wanted: str | None) -> tuple[str, str]:
        """The port's IPv4 address to NAT to, and its subnet."""
        if wanted:
            if _version(wanted) != 4:
                raise _bad(f"Cannot process floating IP association with {wanted}, since that is not an IPv4 address")
            for ip in port["fixed_ips"]:
                if ip["ip_address"] == wanted:
                    return wanted, ip["subnet_id"]
            raise _bad(f"Port {port['id']} does not have fixed ip {wanted}")
        v4 = [ip for ip in port["fixed_ips"] if _version(ip["ip_address"]) == 4]
        if not v4:
            raise _bad(f"Cannot add floating IP to port {port['id']} that has no fixed IPv4 addresses")
        if len(v4) > 1:
            raise _bad(
                f"Port {port['id']} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 "
                "address when assigning a floating IP"
            )
        return v4[0]["ip_address"], v4[0]["subnet_id"]

    def serving_router(self, port: dict, subnet_id: str, external_network_id: str) -> str:
        """The router that serves a floating IP for ``port``'s address on ``subnet_id``.

        It needs an interface on that subnet and a gateway on the external network; among
        several, the one whose interface holds the subnet's gateway IP wins, else the first (by
        id, for determinism). Walks whichever index is smaller: routers on the external network
        (``gw_network_id``), or ports on the subnet.
        """
        store = self.store
        candidates: list[tuple[str, str]] = []  # (router id, interface ip)
        if store.count_where("routers", "gw_network_id", external_network_id) <= store.count_where(
            "ports", "fixed_ips.subnet_id", subnet_id
        ):
            for router in store.find("routers", "gw_network_id", external_network_id):
                for p in self.plane.routers.interface_ports(router["id"]):
                    candidates.extend(_addresses_on(router["id"], p, subnet_id))
        else:
            for p in store.find("ports", "fixed_ips.subnet_id", subnet_id):
                router = store.get("routers", p["device_id"]) if p["device_owner"] in INTERFACE_OWNERS else None
                if router is not None and router["gw_network_id"] == external_network_id:
                    candidates.extend(_addresses_on(router["id"], p, subnet_id))
        candidates.sort()
        gateway_ip = (store.get("subnets", subnet_id) or {}).get("gateway_ip")
        for router_id, address in candidates:
            if address == gateway_ip:
                return router_id
        if candidates:
            return candidates[0][0]
        raise errors.ExternalGatewayForFloatingIPNotFound(
            subnet_id=subnet_id, external_network_id=external_network_id, port_id=port["id"]
        )

    # --- hooks other services call --------------------------------------------------------------
    def disassociate_port(self, port_id: str) -> None:
        """The port is going away: its floating IPs stay allocated but point nowhere."""
        for fip in list(self.store.find(self.table, "port_id", port_id)):
            self.store.put(
                self.table,
                self.changed(fip, {"port_id": None, "fixed_ip_address": None, "router_id": None, "status": "DOWN"}),
            )

    # --- presentation ---------------------------------------------------------------------------
    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        view = super().present(ctx, record, fields)
        if "port_forwardings" in view and self.plane.port_forwardings.has_forwardings(record["id"]):
            view = dict(view)
            view["port_forwardings"] = self.plane.port_forwardings.fip_view(record["id"])
        if record["port_id"] and "port_details" in view:
            port = self.store.get("ports", record["port_id"])
            if port is not None:
                view = dict(view)
                view["port_details"] = {k: port.get(k) for k in PORT_DETAIL_KEYS}
        return view
