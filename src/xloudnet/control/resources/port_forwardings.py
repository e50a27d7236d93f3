"""Floating-IP port forwarding: ``/v2.0/floatingips/{floatingip_id}/port_forwardings``.

A port forwarding sends (floating IP, protocol, external port or range) to (an internal port's
IPv4 address, internal port or range). Its floating IP is then *not* associated with a port:
Neutron refuses both at once, and refuses a forwarding to a port that has its own floating IP.
The first forwarding gives the floating IP the router that serves the internal address (the
same choice association makes); removing the last one clears it again. Deleting the internal
port, or taking the forwarded address off it, deletes its forwardings.

Ports are kept as Neutron presents them: ``external_port_range`` / ``internal_port_range`` are
always ``"first:last"``, and ``external_port`` / ``internal_port`` hold the single port when the
range has one port, else null. Ranges map N:N by offset or N:1 onto one internal port.

Messages and error types are Neutron's (``neutron/services/portforwarding/pf_plugin.py``).
Policy is the parent's: whoever may see the floating IP sees its forwardings, whoever may change
it changes them (Neutron's ADMIN_OR_PARENT_OWNER).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .. import errors, query
from ..attributes import REQUIRED, Attr, ResourceDef, ip_address, string, uuid_value
from ..context import Context
from ..service import ResourceService

# neutron-lib's IPTABLES_PROTOCOL_MAP keys: the protocols a forwarding may name.
PROTOCOLS = ("dccp", "icmp", "ipv6-icmp", "sctp", "tcp", "udp")
# Neutron refuses these as list filters (objects.port_forwarding.FIELDS_NOT_SUPPORT_FILTER).
UNFILTERABLE = frozenset({"internal_ip_address", "internal_port"})
# Shown inside a floating IP (expose-port-forwarding-in-fip with floating-ip-port-forwarding-detail).
FIP_VIEW_KEYS = ("id", "internal_ip_address", "protocol", "internal_port", "external_port", "internal_port_id")
HIDDEN = frozenset({"project_id", "floatingip_id"})
COLLISION_KEYS = frozenset({"internal_port", "internal_port_range", "external_port", "external_port_range",
                            "protocol", "internal_ip_address", "internal_port_id"})


def _port_number(value: Any) -> None:
    """neutron-lib's validate_range_or_none over (1, 65535), with its messages."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{value}' is not an integer")
    if value < 1:
        raise ValueError(f"'{value}' is too small - must be at least '1'")
    if value > 65535:
        raise ValueError(f"'{value}' is too large - must be no larger than '65535'")


def _to_port(value: Any) -> Any:
    """neutron-lib's convert_to_int (strings of digits become numbers); null stays null."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
        raise ValueError(f"'{value}' is not an integer")
    return value


def _port_range(value: Any) -> None:
    """neutron-lib's validate_port_range_or_none over (1, 65535)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"Invalid port: {value}")
    parts = str(value).split(":")
    if len(parts) > 2 or any(not p for p in parts):
        raise ValueError("Port range must be two integers separated by a colon")
    for part in parts:
        if not part.isdigit() or not 0 <= int(part) <= 65535:
            raise ValueError(f"Invalid port: {part}")
        if not 1 <= int(part) <= 65535:
            raise ValueError(f"Invalid port: {part}, the port must be in the range [1, 65535]")
    if len(parts) == 2 and int(parts[0]) > int(parts[1]):
        raise ValueError("First port in a port range must be lower than the second port")


def _protocol(value: Any) -> None:
    if value not in PROTOCOLS:
        raise ValueError(f"'{value}' is not in {list(PROTOCOLS)}")


PORT_FORWARDING = ResourceDef(
    collection="floatingips/{floatingip_id}/port_forwardings",
    plural="port_forwardings",
    singular="port_forwarding",
    tags=False,
    not_found=errors.PortForwardingNotFound,
    not_found_arg="id",
    attrs=(
        Attr("id", filter=True, sort=True),
        Attr("project_id", post=True, validate=string(255), visible=False),
        Attr("external_port", post=True, put=True, default=None, convert=_to_port, validate=_port_number,
             filter=True, sort=True, filter_convert=int),
        Attr("internal_port", post=True, put=True, default=None, convert=_to_port, validate=_port_number),
        Attr("internal_ip_address", post=True, put=True, default=REQUIRED, validate=ip_address),
        Attr("protocol", post=True, put=True, default=REQUIRED, validate=_protocol, filter=True, sort=True),
        Attr("internal_port_id", post=True, put=True, default=REQUIRED, validate=uuid_value, filter=True,
             sort=True),
        Attr("description", post=True, put=True, default="", validate=string(255), filter=True),
        Attr("external_port_range", post=True, put=True, default=None, validate=_port_range, filter=True,
             sort=True),
        Attr("internal_port_range", post=True, put=True, default=None, validate=_port_range),
        Attr("floatingip_id", visible=False),
    ),
)


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="port_forwarding", msg=msg)


def _span(text: str) -> tuple[int, int]:
    first, _, last = str(text).partition(":")
    return int(first), int(last or first)


def _overlap(a: str, b: str) -> bool:
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return max(a0, b0) <= min(a1, b1)


def _v4(address: str) -> bool:
    return ipaddress.ip_address(address).version == 4


def _ports(current: dict, changes: dict, side: str) -> dict:
    """The ``{side}_port`` / ``{side}_port_range`` pair after ``changes``, normalised.

    A single port given alone becomes the range ``N:N``; a range of one port also shows that
    port; a wider range shows no single port. Both given must agree.
    """
    single, ranged = f"{side}_port", f"{side}_port_range"
    port, span = changes.get(single), changes.get(ranged)
    if port is not None and span is not None and _span(span) != (port, port):
        raise _bad(f"{single} {port} does not match {ranged} {span}")
    if span is None and port is None:
        if single in changes or ranged in changes or current.get(ranged) is None:
            raise _bad(f"Either {single} or {ranged} must be specified")
        span = current[ranged]
    first, last = _span(span) if span is not None else (port, port)
    return {single: first if first == last else None, ranged: f"{first}:{last}"}


class PortForwardingService(ResourceService):
    """Create, list, update and delete the forwardings of one floating IP."""

    definition = PORT_FORWARDING
    table = "port_forwardings"
    attribute = "port_forwardings"
    indexes = ("floatingip_id", "internal_port_id")
    indexed_filters = ()
    special_filters = UNFILTERABLE
    extensions = (
        "floating-ip-port-forwarding",
        "floating-ip-port-forwarding-description",
        "floating-ip-port-forwarding-port-ranges",
        "floating-ip-port-forwarding-detail",
        "expose-port-forwarding-in-fip",
    )

    # --- policy: the floating IP's ------------------------------------------------------------
    def policy_error(self, action: str) -> errors.PolicyNotAuthorized:
        return errors.PolicyNotAuthorized(action=f"rule:{action}_floatingip_port_forwarding")

    def hidden_for(self, ctx: Context, record: dict) -> frozenset[str]:
        return HIDDEN

    def _parent(self, ctx: Context, floatingip_id: str | None, action: str | None = None) -> dict:
        """The floating IP (404 when the caller cannot see it); 403 when it may not change it."""
        fips = self.plane.floatingips
        fip = fips.get(ctx, floatingip_id)
        if action is not None and not fips.writable(ctx, fip):
            raise self.policy_error(action)
        return fip

    # --- reads --------------------------------------------------------------------------------
    def get(self, ctx: Context, rid: str, floatingip_id: str | None = None, **parents) -> dict:
        fip = self._parent(ctx, floatingip_id)
        return self._own(fip, rid)

    def _own(self, fip: dict, rid: str) -> dict:
        record = self.store.get(self.table, rid) if isinstance(rid, str) else None
        if record is None or record["floatingip_id"] != fip["id"]:
            raise errors.PortForwardingNotFound(id=rid)
        return record

    def list(self, ctx: Context, q: query.ListQuery, floatingip_id: str | None = None, **parents) -> list[dict]:
        for name in q.special:
            raise errors.PortForwardingNotSupportFilterField(filter=name)
        fip = self._parent(ctx, floatingip_id)
        match = query.matcher(q)
        records = [r for r in self.of_floatingip(fip["id"]) if match(r)]
        sorts = list(q.sorts)
        if not q.paging:
            return query.sort_records(records, sorts) if sorts else records
        if q.marker is not None:
            self._own(fip, q.marker)
        if not any(k == "id" for k, _ in sorts):
            sorts.append(("id", True))
        return self._slice_page(query.sort_records(records, sorts), q)

    def of_floatingip(self, fip_id: str) -> list[dict]:
        return sorted(self.store.find(self.table, "floatingip_id", fip_id), key=lambda r: r["id"])

    def fip_view(self, fip_id: str) -> list[dict]:
        """What a floating IP shows of its forwardings (``expose-port-forwarding-in-fip``)."""
        return [{k: r[k] for k in FIP_VIEW_KEYS} for r in self.of_floatingip(fip_id)]

    def has_forwardings(self, fip_id: str) -> bool:
        return self.store.count_where(self.table, "floatingip_id", fip_id) > 0

    # --- writes -------------------------------------------------------------------------------
    def create(self, ctx: Context, body: Any, floatingip_id: str | None = None, **parents) -> dict:
        attrs = self.prepare_create(ctx, body)
        fip = self._parent(ctx, floatingip_id, "create")
        attrs.update(_ports({}, attrs, "external"))
        attrs.update(_ports({}, attrs, "internal"))
        self._check_relation(attrs)
        with self.store.transaction():
            self._check_collisions(fip["id"], attrs, None)
            self._check_port_has_no_floating_ip(attrs)
            if fip["port_id"]:
                raise errors.FloatingIPPortAlreadyAssociated(
                    port_id=attrs["internal_port_id"], fip_id=fip["id"],
                    floating_ip_address=fip["floating_ip_address"],
                    fixed_ip=attrs["internal_ip_address"], net_id=fip["floating_network_id"])
            router_id = self._router_for(ctx, fip, attrs)
            self._check_router_match(fip, router_id, attrs)
            record = {
                "id": self.plane.new_id(), "floatingip_id": fip["id"], "project_id": fip["project_id"],
                **{k: attrs[k] for k in ("external_port", "internal_port", "internal_ip_address", "protocol",
                                         "internal_port_id", "description", "external_port_range",
                                         "internal_port_range")},
            }
            self.store.put(self.table, record)
            self._serve(fip, router_id)
        return record

    def update(self, ctx: Context, rid: str, body: Any, if_match: int | None = None,
               floatingip_id: str | None = None, **parents) -> dict:
        # Forwardings carry no revision_number, so If-Match does not apply to them.
        changes = self.prepare_update(ctx, body)
        fip = self._parent(ctx, floatingip_id, "update")
        record = self._own(fip, rid)
        new = {**record, **changes}
        new.update(_ports(record, changes, "external"))
        new.update(_ports(record, changes, "internal"))
        with self.store.transaction():
            if changes.get("internal_port_id"):
                self._check_port_has_no_floating_ip(new)
                if changes["internal_port_id"] != record["internal_port_id"]:
                    self._check_router_match(fip, self._router_for(ctx, fip, new), new)
            self._check_update(new)
            # Neutron re-checks collisions only when ports change; a new protocol or internal
            # socket is checked too, so no two forwardings ever overlap (the data plane relies on it).
            if COLLISION_KEYS & set(changes):
                self._check_relation(new)
                self._check_collisions(fip["id"], new, rid)
            self.store.put(self.table, new)
        return new

    def delete(self, ctx: Context, rid: str, if_match: int | None = None,
               floatingip_id: str | None = None, **parents) -> None:
        fip = self._parent(ctx, floatingip_id, "delete")
        record = self._own(fip, rid)
        with self.store.transaction():
            self._remove(record)

    # --- hooks other services call (inside their transaction) ----------------------------------
    def port_removed(self, port_id: str) -> None:
        """The internal port is going away: so are its forwardings."""
        for record in list(self.store.find(self.table, "internal_port_id", port_id)):
            self._remove(record)

    def port_addresses_changed(self, port: dict) -> None:
        """Forwardings to an address the port no longer holds go away (Neutron's AFTER_UPDATE)."""
        held = {ip["ip_address"] for ip in port.get("fixed_ips") or []}
        for record in list(self.store.find(self.table, "internal_port_id", port["id"])):
            if record["internal_ip_address"] not in held:
                self._remove(record)

    def _remove(self, record: dict) -> None:
        self.store.delete(self.table, record["id"])
        if not self.has_forwardings(record["floatingip_id"]):
            self._serve(self.store.get("floatingips", record["floatingip_id"]), None)

    def _serve(self, fip: dict | None, router_id: str | None) -> None:
        """Give the floating IP the router of its forwardings (None: none left)."""
        if fip is None or fip["port_id"] or fip["router_id"] == router_id:
            return
        status = "ACTIVE" if router_id else "DOWN"
        fips = self.plane.floatingips
        self.store.put(fips.table, fips.changed(fip, {"router_id": router_id, "status": status}))

    # --- Neutron's checks ---------------------------------------------------------------------
    @staticmethod
    def _check_relation(attrs: dict) -> None:
        """N:N or N:1 only (pf_plugin._validate_ranges)."""
        internal, external = _span(attrs["internal_port_range"]), _span(attrs["external_port_range"])
        width = internal[1] - internal[0]
        if width > 0 and width != external[1] - external[0]:
            raise _bad("Invalid ranges of internal and/or external ports. The relation between internal and "
                       "external ports must be N-N or 1-N")

    def _check_collisions(self, fip_id: str, attrs: dict, own_id: str | None) -> None:
        """No overlap with the internal ports of the same socket, nor with the external ports of
        the same floating IP and protocol (pf_plugin._check_port_collisions)."""
        protocol = attrs["protocol"]
        for other in self.store.find(self.table, "internal_port_id", attrs["internal_port_id"]):
            if (other["id"] != own_id and other["protocol"] == protocol
                    and other["internal_ip_address"] == attrs["internal_ip_address"]):
                self._collide(other, attrs, "internal_port_range")
        for other in self.store.find(self.table, "floatingip_id", fip_id):
            if other["id"] != own_id and other["protocol"] == protocol:
                self._collide(other, attrs, "external_port_range")

    @staticmethod
    def _collide(other: dict, attrs: dict, key: str) -> None:
        if _overlap(other[key], attrs[key]):
            raise _bad(f"There is a port collision with the {key}. The following ranges collide: "
                       f"{other[key]} and {attrs[key]}")

    def _check_port_has_no_floating_ip(self, attrs: dict) -> None:
        port_id = attrs["internal_port_id"]
        for fip in sorted(self.store.find("floatingips", "port_id", port_id), key=lambda f: f["id"]):
            raise errors.PortHasBindingFloatingIP(
                floating_ip_address=fip["floating_ip_address"], fip_id=fip["id"], port_id=port_id,
                fixed_ip=attrs["internal_ip_address"])

    def _router_for(self, ctx: Context, fip: dict, attrs: dict) -> str:
        """The router serving the internal address (pf_plugin._find_a_router_for_fip_port_forwarding)."""
        port_id = attrs["internal_port_id"]
        port = self.plane.ports.get(ctx, port_id)
        v4 = [ip for ip in port["fixed_ips"] if _v4(ip["ip_address"])]
        if not v4:
            raise _bad(f"Requested internal port {port_id} must allocate an IPv4 address at least.")
        subnet_id = next((ip["subnet_id"] for ip in v4 if ip["ip_address"] == attrs["internal_ip_address"]), None)
        if subnet_id is None:
            raise _bad(f"Requested internal IP address {attrs['internal_ip_address']} is not suitable for internal "
                       f"neutron port {port_id}, as its fixed_ips are {v4}")
        try:
            return self.plane.floatingips.serving_router(port, subnet_id, fip["floating_network_id"])
        except errors.ExternalGatewayForFloatingIPNotFound:
            raise _bad(f"External network {fip['floating_network_id']} is not reachable from subnet {subnet_id}. "
                       f"Cannot set Port forwarding for port {port_id} with Floating IP {fip['id']}") from None

    def _check_router_match(self, fip: dict, router_id: str, attrs: dict) -> None:
        if not fip["router_id"] or fip["router_id"] == router_id:
            return
        same = any(r["internal_ip_address"] == attrs["internal_ip_address"]
                   and r["internal_port"] == attrs["internal_port"] for r in self.of_floatingip(fip["id"]))
        if same:
            raise _bad(f"Floating IP {fip['id']} with params: internal_ip_address: {attrs['internal_ip_address']}, "
                       f"internal_port: {attrs['internal_port']} already exists")
        raise _bad(f"The Floating IP {fip['id']} had been set on router {fip['router_id']}, the internal Neutron "
                   f"port {attrs['internal_port_id']} can not reach it")

    def _check_update(self, new: dict) -> None:
        """pf_plugin._check_port_forwarding_update: the address is the port's, and no other
        forwarding of the floating IP shares the external port or the internal socket."""
        port = self.store.get("ports", new["internal_port_id"])
        fixed = (port or {}).get("fixed_ips") or []
        if not any(ip["ip_address"] == new["internal_ip_address"] for ip in fixed):
            raise _bad("The internal IP does not correspond to an address on the internal port, which has "
                       f"fixed_ips {fixed}")
        for other in self.of_floatingip(new["floatingip_id"]):
            if other["id"] == new["id"] or other["protocol"] != new["protocol"]:
                continue
            if other["external_port_range"] == new["external_port_range"]:
                conflict = {"floating_ip_address": self._address(new), "external_port": other["external_port"]}
            elif (other["internal_port_id"], other["internal_ip_address"], other["internal_port_range"]) == (
                    new["internal_port_id"], new["internal_ip_address"], new["internal_port_range"]):
                conflict = {"internal_port_id": other["internal_port_id"],
                            "internal_ip_address": other["internal_ip_address"],
                            "internal_port": other["internal_port"]}
            else:
                continue
            raise _bad(f"Another port forwarding entry with the same attributes already exists, conflicting "
                       f"values are {conflict}")

    def _address(self, record: dict) -> str | None:
        return (self.store.get("floatingips", record["floatingip_id"]) or {}).get("floating_ip_address")


__all__ = ["PORT_FORWARDING", "PortForwardingService", "PROTOCOLS", "FIP_VIEW_KEYS"]
