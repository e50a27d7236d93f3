"""The simulated DHCP agent: the ``network:dhcp`` port a real cloud shows on every network that
has a DHCP-enabled subnet, and the ``dhcp_agent_scheduler`` API (which networks it hosts).

A real DHCP agent reacts to notifications: it keeps one port per hosted network
(``DeviceManager.setup_dhcp_port``), with an address on every DHCP-enabled subnet, and releases it
when the network has none left, goes admin-down or is removed from the agent. Here the same
outcome is reached synchronously: ``sync_network`` runs inside the transaction of every change
that can alter the outcome (subnet create / update / delete, network admin state, scheduling), so
a client sees the port as soon as the subnet call returns, and a rolled-back change leaves none.

The port is created as the agent's RPC creates it (``create_dhcp_port``): no policy and no quota
check (it still counts in the network owner's port usage), ``name ""``, the network's project,
``device_id`` ``dhcp<uuid5(host)>-<network id>``, bound to the agent's host. Its addresses are the
lowest free ones of each subnet's pools (``ipam.LOWEST_FREE_OWNERS``), so on a fresh subnet it
holds the first address after the gateway (``.2``): deterministic, as scenario files need.

Which networks the agent hosts: those with a DHCP-enabled subnet (automatic scheduling), except
those an admin removed from it, plus those an admin added. The explicit choices are the
``dhcp_bindings`` table (one record per network: ``hosted`` true or false).
"""

from __future__ import annotations

import uuid

from .. import errors, ipam
from ..attributes import Attr, ResourceDef
from ..context import Context
from ..messages import JSON_NULL, Response
from ..service import ResourceService
from .agents import HOST, agent_id

DHCP_OWNER = "network:dhcp"
DHCP_BINARY = "neutron-dhcp-agent"
BINDINGS = "dhcp_bindings"


def dhcp_device_id(network_id: str, host: str = HOST) -> str:
    """Neutron's ``get_dhcp_agent_device_id``: the host's short name as a DNS uuid5."""
    host_uuid = uuid.uuid5(uuid.NAMESPACE_DNS, host.split(".")[0])
    return f"dhcp{host_uuid}-{network_id}"


def dhcp_agent_id() -> str:
    return agent_id(DHCP_BINARY)


# --- which networks, which subnets --------------------------------------------------------------
def hosted(plane, network: dict) -> bool:
    """Does the agent serve this network (explicit binding, else: has a DHCP-enabled subnet)?"""
    binding = plane.store.get(BINDINGS, network["id"])
    if binding is not None:
        return binding["hosted"]
    return bool(dhcp_subnets(plane, network))


def dhcp_subnets(plane, network: dict) -> list[dict]:
    """The network's DHCP-enabled subnets, in the network's order."""
    found = (plane.store.get("subnets", sid) for sid in network["subnets"])
    return [s for s in found if s is not None and s["enable_dhcp"]]


def agent_ports(plane, network_id: str) -> list[dict]:
    """The agent's own port(s) on the network (found by its device id, never by owner alone:
    a user may create ``network:dhcp`` ports of their own, which the agent leaves alone)."""
    device = dhcp_device_id(network_id)
    return [p for p in plane.store.find("ports", "device_id", device)
            if p["network_id"] == network_id and p["device_owner"] == DHCP_OWNER]


# --- keeping the port in step ---------------------------------------------------------------------
def sync_network(plane, network_id: str) -> None:
    """Make the network's DHCP port what the agent would leave after processing every pending
    notification. Call inside the transaction of the change."""
    if not plane.dhcp_agent:
        return
    store = plane.store
    network = store.get("networks", network_id)
    if network is None:
        return
    subnets = dhcp_subnets(plane, network) if network["admin_state_up"] and hosted(plane, network) else []
    ports = agent_ports(plane, network_id)
    if not subnets:
        for port in ports:
            store.delete("ports", port["id"])  # release_dhcp_port
        return
    if not ports:
        _create_port(plane, network, subnets)
        return
    _update_port(plane, network, ports[0], subnets)


def _with_room(plane, subnets: list[dict]) -> list[dict]:
    """Subnets where the port can get an address: a full subnet leaves the port without one
    there, as the agent's create/update RPC fails for it and the agent carries on."""
    allocator = plane.ports.ipam

    def free(subnet_id: str, ip: str) -> bool:
        return allocator.holder(subnet_id, ip) is None

    return [s for s in subnets if ipam.is_auto_address(s) or allocator.find_free(s, free, lowest=True)]


def _create_port(plane, network: dict, subnets: list[dict]) -> None:
    subnets = _with_room(plane, subnets)
    if not subnets:
        return
    ctx = Context.admin()
    body = {
        "name": "", "admin_state_up": True, "network_id": network["id"],
        "project_id": network["project_id"], "device_owner": DHCP_OWNER,
        "device_id": dhcp_device_id(network["id"]), "binding:host_id": HOST,
        "fixed_ips": [{"subnet_id": s["id"]} for s in subnets],
    }
    ports = plane.ports
    attrs = ports.prepare_create(ctx, body)
    ports._create(ctx, attrs)  # the RPC path: no API policy, no quota reservation


def _update_port(plane, network: dict, port: dict, subnets: list[dict]) -> None:
    wanted = {s["id"] for s in subnets}
    held = {ip["subnet_id"] for ip in port["fixed_ips"]}
    if held == wanted:
        return
    # _setup_existing_dhcp_port: keep the addresses on subnets still served, ask for the rest.
    kept = [ip for ip in port["fixed_ips"] if ip["subnet_id"] in wanted]
    missing = [s for s in subnets if s["id"] not in held]
    adds = [{"subnet_id": s["id"]} for s in _with_room(plane, missing)]
    ports = plane.ports
    fixed = ports._addresses_for_update(port, kept + adds, DHCP_OWNER, network)
    if fixed != port["fixed_ips"]:
        plane.store.put("ports", ports.changed(port, {"fixed_ips": fixed}))


def make_room(plane, network_id: str, addresses) -> None:
    """Move the agent's port off every address of ``addresses`` (to the lowest free address of
    the same subnet outside them; none if there is no such address).

    Not an API behaviour (Neutron answers IpAddressAlreadyAllocated): it is for describing a
    final state, as a scenario file does — a real cloud's agent got its address at some moment
    the file does not record, and the file's pinned addresses must hold. Scenario provisioning
    calls it once the subnets exist, with every address the file pins on the network.
    """
    ports = agent_ports(plane, network_id)
    wanted = set()
    for ip in addresses:
        try:
            wanted.add(ipam.canonical_ip(ip))
        except (ValueError, TypeError):
            pass  # not an address: the API call that asks for it says so
    if not ports or not wanted.intersection(f["ip_address"] for f in ports[0]["fixed_ips"]):
        return
    port, allocator = ports[0], plane.ports.ipam

    def free(subnet_id: str, candidate: str) -> bool:
        return candidate not in wanted and allocator.holder(subnet_id, candidate) is None

    fixed = []
    for entry in port["fixed_ips"]:
        subnet = plane.store.get("subnets", entry["subnet_id"])
        if entry["ip_address"] not in wanted or subnet is None:
            fixed.append(entry)
            continue
        moved = allocator.find_free(subnet, free, lowest=True)
        if moved is not None:
            fixed.append({"subnet_id": entry["subnet_id"], "ip_address": moved})
    with plane.store.transaction():
        plane.store.put("ports", plane.ports.changed(port, {"fixed_ips": fixed}))


# --- the dhcp_agent_scheduler API -----------------------------------------------------------------
HOSTED_NETWORKS = ResourceDef(
    collection="agents/{agent_id}/dhcp-networks",
    plural="networks",
    singular="network",
    not_found=errors.AgentNotFound,
    not_found_arg="id",
    tags=False,
    attrs=(Attr("id"), Attr("network_id", post=True)),
)

HOSTING_AGENTS = ResourceDef(
    collection="networks/{network_id}/dhcp-agents",
    plural="agents",
    singular="agent",
    not_found=errors.AgentNotFound,
    not_found_arg="id",
    tags=False,
    attrs=(Attr("id"),),
)


class DhcpNetworksService(ResourceService):
    """``/v2.0/agents/{id}/dhcp-networks``: list, add (POST) and remove (DELETE) the networks
    the DHCP agent hosts. Admin only, as Neutron's default policy."""

    definition = HOSTED_NETWORKS
    table = BINDINGS
    attribute = "dhcp_networks"
    indexes = ()
    indexed_filters = ()
    custom_routes_only = True
    # openstacksdk sends {"network_id": ...} with the DELETE too; Neutron's extension
    # controllers (legacy WSGI, unlike the pecan core resources) ignore such a body.
    delete_takes_body = True

    @property
    def extensions(self) -> tuple[str, ...]:
        # Advertised only while the agent is simulated (a scenario may turn it off).
        return ("dhcp_agent_scheduler",) if self.plane.dhcp_agent else ()

    def routes(self) -> dict:
        return {"": {"GET": self._list, "POST": self._add},
                r"/(?P<rid>[^/]+)": {"DELETE": self._remove}}

    def _agent(self, ctx: Context, agent: str) -> None:
        known = self.plane.agents.get_record(ctx, agent)  # 404 AgentNotFound
        if known["agent_type"] != "DHCP agent":
            raise errors.InvalidDHCPAgent(id=agent)

    def _network(self, ctx: Context, network_id) -> dict:
        return self.plane.networks.get(ctx, network_id)  # 404 NetworkNotFound

    def _list(self, ctx: Context, req, agent_id: str, **_):
        if not ctx.is_admin:
            raise errors.PolicyNotAuthorized(action="get_dhcp-networks")
        self._agent(ctx, agent_id)
        networks = self.plane.networks
        found = [n for n in self.store.table("networks").values() if hosted(self.plane, n)]
        found.sort(key=lambda n: n["id"])
        return Response(200, {"networks": [networks.present(ctx, n) for n in found]})

    def _add(self, ctx: Context, req, agent_id: str, **_):
        if not ctx.is_admin:
            raise errors.PolicyNotAuthorized(action="create_dhcp-network")
        body = req.body if isinstance(req.body, dict) else None
        if body is None or not isinstance(body.get("network_id"), str) or set(body) != {"network_id"}:
            raise errors.HTTPBadRequest("Invalid input: a body {\"network_id\": ID} is required")
        self._agent(ctx, agent_id)
        network = self._network(ctx, body["network_id"])
        if hosted(self.plane, network):
            raise errors.NetworkHostedByDHCPAgent(network_id=network["id"], agent_id=agent_id)
        with self.store.transaction():
            self.store.put(self.table, {"id": network["id"], "hosted": True})
            sync_network(self.plane, network["id"])
        return Response(201, JSON_NULL)  # Neutron's controller returns None: the body is null

    def _remove(self, ctx: Context, req, agent_id: str, rid: str, **_):
        if not ctx.is_admin:
            raise errors.PolicyNotAuthorized(action="delete_dhcp-network")
        self._agent(ctx, agent_id)
        network = self._network(ctx, rid)
        if not hosted(self.plane, network):
            raise errors.NetworkNotHostedByDhcpAgent(network_id=network["id"], agent_id=agent_id)
        with self.store.transaction():
            self.store.put(self.table, {"id": network["id"], "hosted": False})
            sync_network(self.plane, network["id"])
        return Response(204)


class DhcpAgentsHostingService(ResourceService):
    """``/v2.0/networks/{id}/dhcp-agents``: the DHCP agent, when it hosts the network."""

    definition = HOSTING_AGENTS
    table = BINDINGS
    attribute = "dhcp_hosting"
    indexes = ()
    indexed_filters = ()
    custom_routes_only = True

    def routes(self) -> dict:
        return {"": {"GET": self._list}}

    def _list(self, ctx: Context, req, network_id: str, **_):
        if not ctx.is_admin:
            raise errors.PolicyNotAuthorized(action="get_dhcp-agents")
        network = self.plane.networks.get(ctx, network_id)
        agents = []
        if self.plane.dhcp_agent and hosted(self.plane, network):
            agents = [self.plane.agents.present(ctx, self.plane.agents.get_record(ctx, dhcp_agent_id()))]
        return Response(200, {"agents": agents})


__all__ = [
    "DHCP_OWNER", "DHCP_BINARY", "BINDINGS", "DhcpAgentsHostingService", "DhcpNetworksService",
    "agent_ports", "dhcp_agent_id", "dhcp_device_id", "hosted", "make_room", "sync_network",
]
