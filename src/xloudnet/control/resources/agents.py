"""``/v2.0/agents``: the agents xloudnet simulates, as an admin sees them in a real cloud.

The data plane plays the parts of two ML2/OVS agents on one host: the Open vSwitch agent
(security groups, L2 forwarding, QoS) and the legacy L3 agent (routers, NAT). They are listed
with live figures taken from the store, always alive. Admins may change ``admin_state_up`` and
``description`` (kept in the ``agents`` table as overrides); everybody else sees no agents at
all, as Neutron's admin-only ``get_agent`` policy makes it. A DHCP agent is listed too while the
plane simulates one (``ControlPlane(dhcp_agent=True)``, the default; see ``dhcp.py``).
"""

from __future__ import annotations

import uuid

from .. import errors, query
from ..attributes import Attr, ResourceDef, string, to_bool
from ..context import Context
from ..messages import Response
from ..service import ResourceService, envelope

HOST = "xloudnet"
# (binary, agent_type, topic, availability_zone)
SIMULATED = (
    ("neutron-openvswitch-agent", "Open vSwitch agent", "N/A", None),
    ("neutron-l3-agent", "L3 agent", "l3_agent", "nova"),
)
DHCP_AGENT = ("neutron-dhcp-agent", "DHCP agent", "dhcp_agent", "nova")
# Neutron's agents table lives in MySQL, whose default collation compares these text columns
# case-insensitively: tempest asks for agent_type "DHCP Agent" and finds the "DHCP agent".
CASE_INSENSITIVE = ("agent_type", "binary", "topic", "host")

AGENT = ResourceDef(
    collection="agents",
    plural="agents",
    singular="agent",
    not_found=errors.AgentNotFound,
    not_found_arg="id",
    tags=False,
    attrs=(
        Attr("id", filter=True),
        Attr("agent_type", filter=True),
        Attr("binary", filter=True),
        Attr("topic", filter=True),
        Attr("host", filter=True),
        Attr("admin_state_up", put=True, convert=to_bool, filter=True),
        Attr("description", put=True, validate=string(255, allow_none=True), filter=True),
        Attr("alive", filter=True),
        Attr("availability_zone", filter=True),
        Attr("configurations"),
        Attr("created_at"),
        Attr("started_at"),
        Attr("heartbeat_timestamp"),
        Attr("resources_synced"),
    ),
)


def agent_id(binary: str) -> str:
    """Stable across restarts and forks, like a real agent's row."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xloudnet/agent/{HOST}/{binary}"))


class AgentService(ResourceService):
    """Read-mostly listing of the simulated agents (admin only)."""

    definition = AGENT
    table = "agents"  # admin overrides of admin_state_up / description, by agent id
    attribute = "agents"
    indexes = ()
    extensions = ("agent",)
    custom_routes_only = True

    def routes(self) -> dict:
        return {"": {"GET": self._list}, r"/(?P<rid>[^/]+)": {"GET": self._show, "PUT": self._put,
                                                               "DELETE": self._delete_agent}}

    # --- the agents ---------------------------------------------------------------------------
    def _records(self) -> list[dict]:
        started = self._started()
        simulated = SIMULATED + ((DHCP_AGENT,) if self.plane.dhcp_agent else ())
        return [self._record(binary, kind, topic, zone, started) for binary, kind, topic, zone in simulated]

    def _started(self) -> str:
        # Agents come up with the cloud: the oldest record's creation time, else now.
        stamps = [r["created_at"] for t in ("networks", "ports") for r in self.store.table(t).values()]
        return _agent_time(min(stamps) if stamps else self.plane.now())

    def _record(self, binary: str, kind: str, topic: str, zone: str | None, started: str) -> dict:
        rid = agent_id(binary)
        overrides = self.store.get(self.table, rid) or {}
        return {
            "id": rid, "agent_type": kind, "binary": binary, "topic": topic, "host": HOST,
            "admin_state_up": overrides.get("admin_state_up", True),
            "description": overrides.get("description"),
            "alive": True, "availability_zone": zone,
            "configurations": self._configurations(binary),
            "created_at": started, "started_at": started,
            "heartbeat_timestamp": _agent_time(self.plane.now()),
            "resources_synced": None,
        }

    def _configurations(self, binary: str) -> dict:
        if binary == "neutron-l3-agent":
            routers = self.store.table("routers")
            return {
                "agent_mode": "legacy",
                "routers": len(routers),
                "ex_gw_ports": sum(1 for r in routers.values() if r.get("external_gateway_info")),
                "interfaces": sum(1 for _ in self.store.find("ports", "device_owner", "network:router_interface")),
                "floating_ips": sum(1 for f in self.store.table("floatingips").values() if f["port_id"]),
            }
        if binary == DHCP_AGENT[0]:
            return self._dhcp_configurations()
        return {
            "bridge_mappings": {"public": "br-ex"},
            "tunnel_types": ["vxlan"],
            "extensions": ["qos"],
            "devices": len(self.store.table("ports")),
        }

    def _dhcp_configurations(self) -> dict:
        ports = list(self.store.find("ports", "device_owner", "network:dhcp"))
        return {
            "dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq",
            "dhcp_lease_duration": 86400,
            "log_agent_heartbeats": False,
            "notifies_port_ready": True,
            "networks": len({p["network_id"] for p in ports}),
            "ports": len(ports),
            "subnets": sum(len(p["fixed_ips"]) for p in ports),
        }

    def get_record(self, ctx: Context, rid: str) -> dict:
        """The agent as an admin sees it (AgentNotFound for anybody else or an unknown id)."""
        return self._get(ctx, rid)

    def _get(self, ctx: Context, rid: str) -> dict:
        found = next((a for a in self._records() if a["id"] == rid), None)
        if found is None or not ctx.is_admin:
            raise errors.AgentNotFound(id=rid)  # admin-only: others may not even know it exists
        return found

    # --- handlers -----------------------------------------------------------------------------
    def _list(self, ctx: Context, req, **_):
        q = query.parse(req.query, self.definition)
        folded = {k: {str(v).casefold() for v in q.filters.pop(k)} for k in CASE_INSENSITIVE if k in q.filters}
        match = query.matcher(q, [_folded_check(k, wanted) for k, wanted in folded.items()])
        agents = [a for a in self._records() if match(a)] if ctx.is_admin else []
        return Response(200, {"agents": [self.present(ctx, a, q.fields) for a in agents]})

    def _show(self, ctx: Context, req, rid: str, **_):
        fields = [v for k, v in req.query if k == "fields" and v]
        return Response(200, {"agent": self.present(ctx, self._get(ctx, rid), fields)})

    def _put(self, ctx: Context, req, rid: str, **_):
        changes = self.prepare_update(ctx, envelope(req.body, "agent"))
        self._get(ctx, rid)
        with self.store.transaction():
            overrides = {**(self.store.get(self.table, rid) or {"id": rid}), **changes}
            self.store.put(self.table, overrides)
        return Response(200, {"agent": self.present(ctx, self._get(ctx, rid))})

    def _delete_agent(self, ctx: Context, req, rid: str, **_):
        self._get(ctx, rid)
        # A real agent re-registers on its next heartbeat; a simulated one is always there.
        raise errors.Conflict(message=f"Agent {rid} is simulated by xloudnet and cannot be deleted.")


def _folded_check(key: str, wanted: set[str]):
    return lambda record: str(record.get(key)).casefold() in wanted


def _agent_time(stamp: str) -> str:
    """Agents report times as ``YYYY-MM-DD HH:MM:SS`` (no ``T``, no zone), unlike other resources."""
    return stamp.replace("T", " ").rstrip("Z")
