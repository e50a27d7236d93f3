"""The simulated DHCP agent: its ``network:dhcp`` port follows the network's DHCP-enabled subnets,
and the ``dhcp_agent_scheduler`` API says which networks it hosts."""

from __future__ import annotations

import ipaddress
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xloudnet.control import errors, ipam
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane
from xloudnet.control.resources.dhcp import dhcp_agent_id, dhcp_device_id, hosted

PORTS = "/v2.0/ports"
ADMIN = Context.admin("admin-project")


def _error(body):
    return body["NeutronError"]["type"]


def _subnet(call, ctx, network_id, cidr="10.0.0.0/24", version=4, **extra):
    status, body = call(ctx, "POST", "/v2.0/subnets",
                        {"subnet": {"network_id": network_id, "ip_version": version, "cidr": cidr, **extra}})
    assert status == 201, body
    return body["subnet"]


def _dhcp_ports(call, ctx, network_id):
    status, body = call(ctx, "GET", PORTS, query=[("network_id", network_id), ("device_owner", "network:dhcp")])
    assert status == 200
    return body["ports"]


def _agent_port(call, network_id):
    ports = _dhcp_ports(call, ADMIN, network_id)
    assert len(ports) <= 1, ports
    return ports[0] if ports else None


def _addresses(port):
    return {ip["subnet_id"]: ip["ip_address"] for ip in port["fixed_ips"]}


# --- the port ----------------------------------------------------------------------------------
def test_dhcp_enabled_subnet_gets_the_agents_port_at_the_first_free_address(call, demo, net):
    network = net()
    subnet = _subnet(call, demo, network["id"])
    [port] = _dhcp_ports(call, demo, network["id"])  # the network owner sees it
    host_uuid = uuid.uuid5(uuid.NAMESPACE_DNS, "xloudnet")
    assert port["device_id"] == f"dhcp{host_uuid}-{network['id']}"
    assert (port["name"], port["project_id"], port["status"], port["admin_state_up"]) == ("", demo.project_id, "ACTIVE", True)
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.2"}]
    assert (port["security_groups"], port["port_security_enabled"]) == ([], False)  # trusted
    status, body = call(ADMIN, "GET", f"{PORTS}/{port['id']}")
    assert body["port"]["binding:host_id"] == "xloudnet" and body["port"]["binding:vif_type"] == "ovs"


def test_user_ports_get_the_addresses_after_the_dhcp_port(call, demo, net):
    network = net()
    _subnet(call, demo, network["id"])
    _, body = call(demo, "POST", PORTS, {"port": {"network_id": network["id"]}})
    assert body["port"]["fixed_ips"][0]["ip_address"] == "10.0.0.3"


def test_subnet_without_dhcp_gets_no_dhcp_port(call, demo, net):
    network = net()
    _subnet(call, demo, network["id"], enable_dhcp=False)
    assert _dhcp_ports(call, ADMIN, network["id"]) == []


def test_each_dhcp_subnet_adds_an_address_to_the_one_port(call, demo, net):
    network = net()
    first = _subnet(call, demo, network["id"])
    second = _subnet(call, demo, network["id"], "10.0.1.0/24", allocation_pools=[{"start": "10.0.1.100", "end": "10.0.1.110"}])
    stateful = _subnet(call, demo, network["id"], "fd00:1::/64", 6)
    port = _agent_port(call, network["id"])
    assert _addresses(port) == {first["id"]: "10.0.0.2", second["id"]: "10.0.1.100", stateful["id"]: "fd00:1::1"}


def test_slaac_subnet_gives_the_dhcp_port_its_eui64_address(call, demo, net):
    network = net()
    _subnet(call, demo, network["id"])
    slaac = _subnet(call, demo, network["id"], "fd00:2::/64", 6, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = _agent_port(call, network["id"])
    assert _addresses(port)[slaac["id"]] == ipam.eui64_address(ipaddress.ip_network("fd00:2::/64"), port["mac_address"])


def test_toggling_enable_dhcp_adds_and_removes_the_address(call, demo, net):
    network = net()
    keep = _subnet(call, demo, network["id"])
    other = _subnet(call, demo, network["id"], "10.0.1.0/24", enable_dhcp=False)
    assert set(_addresses(_agent_port(call, network["id"]))) == {keep["id"]}
    assert call(demo, "PUT", f"/v2.0/subnets/{other['id']}", {"subnet": {"enable_dhcp": True}})[0] == 200
    port = _agent_port(call, network["id"])
    assert _addresses(port) == {keep["id"]: "10.0.0.2", other["id"]: "10.0.1.2"}
    assert call(demo, "PUT", f"/v2.0/subnets/{keep['id']}", {"subnet": {"enable_dhcp": False}})[0] == 200
    after = _agent_port(call, network["id"])
    assert after["id"] == port["id"] and _addresses(after) == {other["id"]: "10.0.1.2"}  # the rest kept


def test_port_goes_when_the_last_dhcp_subnet_is_disabled_or_deleted(call, demo, net):
    network = net()
    a = _subnet(call, demo, network["id"])
    b = _subnet(call, demo, network["id"], "10.0.1.0/24")
    assert call(demo, "PUT", f"/v2.0/subnets/{a['id']}", {"subnet": {"enable_dhcp": False}})[0] == 200
    assert _agent_port(call, network["id"]) is not None
    assert call(demo, "DELETE", f"/v2.0/subnets/{b['id']}")[0] == 204  # the DHCP port does not block it
    assert _agent_port(call, network["id"]) is None


def test_deleting_the_network_removes_its_dhcp_port(call, demo, net):
    network = net()
    _subnet(call, demo, network["id"])
    port = _agent_port(call, network["id"])
    assert call(demo, "DELETE", f"/v2.0/networks/{network['id']}")[0] == 204  # no NetworkInUse
    assert call(ADMIN, "GET", f"{PORTS}/{port['id']}")[0] == 404


def test_admin_down_network_releases_the_port_and_up_brings_one_back(call, demo, net):
    network = net()
    subnet = _subnet(call, demo, network["id"])
    assert call(demo, "PUT", f"/v2.0/networks/{network['id']}", {"network": {"admin_state_up": False}})[0] == 200
    assert _agent_port(call, network["id"]) is None
    assert call(demo, "PUT", f"/v2.0/networks/{network['id']}", {"network": {"admin_state_up": True}})[0] == 200
    assert _addresses(_agent_port(call, network["id"])) == {subnet["id"]: "10.0.0.2"}


def test_full_subnet_leaves_the_dhcp_port_without_an_address_there(call, demo, net):
    network = net()
    tiny = _subnet(call, demo, network["id"], "10.0.0.0/30", enable_dhcp=False)  # pool: .2 only
    assert call(demo, "POST", PORTS, {"port": {"network_id": network["id"]}})[0] == 201
    assert call(demo, "PUT", f"/v2.0/subnets/{tiny['id']}", {"subnet": {"enable_dhcp": True}})[0] == 200
    assert _agent_port(call, network["id"]) is None  # the agent's create fails; the update stands
    wide = _subnet(call, demo, network["id"], "10.0.1.0/24")
    assert _addresses(_agent_port(call, network["id"])) == {wide["id"]: "10.0.1.2"}


def test_users_own_network_dhcp_ports_are_left_alone(call, demo, admin, net):
    network = net()
    subnet = _subnet(call, demo, network["id"], enable_dhcp=False)
    _, body = call(admin, "POST", PORTS, {"port": {"network_id": network["id"], "device_owner": "network:dhcp",
                                                   "project_id": demo.project_id}})
    mine = body["port"]
    assert call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"enable_dhcp": True}})[0] == 200
    ports = {p["id"]: p for p in _dhcp_ports(call, ADMIN, network["id"])}
    assert mine["id"] in ports and len(ports) == 2
    assert call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"enable_dhcp": False}})[0] == 200
    assert [p["id"] for p in _dhcp_ports(call, ADMIN, network["id"])] == [mine["id"]]


def test_dhcp_port_counts_in_the_owners_port_usage_but_is_never_refused(plane, call, demo, net):
    plane.quotas.check(ADMIN, "ports", demo.project_id)  # fine with no port yet
    assert call(ADMIN, "PUT", f"/v2.0/quotas/{demo.project_id}", {"quota": {"port": 0}})[0] == 200
    network = net()
    _subnet(call, demo, network["id"])  # the agent's RPC path has no quota reservation
    assert _agent_port(call, network["id"]) is not None
    assert plane.quotas.usage(demo.project_id, "port") == 1
    status, body = call(demo, "POST", PORTS, {"port": {"network_id": network["id"]}})
    assert (status, _error(body)) == (409, "OverQuota")


def test_refused_subnet_create_leaves_no_dhcp_port(call, demo, net):
    network = net()
    bulk = {"subnets": [{"network_id": network["id"], "ip_version": 4, "cidr": "10.0.0.0/24"},
                        {"network_id": network["id"], "ip_version": 4, "cidr": "10.0.0.0/25"}]}  # overlaps
    assert call(demo, "POST", "/v2.0/subnets", bulk)[0] == 400
    assert _dhcp_ports(call, ADMIN, network["id"]) == []


def test_a_fork_gets_its_own_dhcp_port_and_the_plane_none(plane, demo):
    network = plane.networks.create(demo, {"name": "n"})
    fork = plane.fork()
    fork.subnets.create(demo, {"network_id": network["id"], "ip_version": 4, "cidr": "10.0.0.0/24"})
    owners = lambda p: [r["device_owner"] for r in p.store.table("ports").values()]  # noqa: E731
    assert owners(fork) == ["network:dhcp"] and owners(plane) == []


def test_plane_without_a_dhcp_agent_makes_no_port_and_lists_no_dhcp_agent():
    plane = ControlPlane(dhcp_agent=False)
    api = NeutronAPI(plane)
    network = plane.networks.create(ADMIN, {"name": "n"})
    plane.subnets.create(ADMIN, {"network_id": network["id"], "ip_version": 4, "cidr": "10.0.0.0/24"})
    assert len(plane.store.table("ports")) == 0
    agents = api.handle(ADMIN, Request("GET", "/v2.0/agents")).body["agents"]
    assert "DHCP agent" not in {a["agent_type"] for a in agents}
    aliases = {e["alias"] for e in api.handle(ADMIN, Request("GET", "/v2.0/extensions")).body["extensions"]}
    assert "dhcp_agent_scheduler" not in aliases and "agent" in aliases


# --- dhcp_agent_scheduler -----------------------------------------------------------------------
def test_network_with_dhcp_subnet_is_hosted_by_the_dhcp_agent(call, demo, net):
    network = net()
    _subnet(call, demo, network["id"])
    status, body = call(ADMIN, "GET", f"/v2.0/networks/{network['id']}/dhcp-agents")
    assert status == 200 and [a["agent_type"] for a in body["agents"]] == ["DHCP agent"]
    agent = body["agents"][0]
    assert agent["id"] == dhcp_agent_id() and agent["configurations"]["networks"] == 1
    status, body = call(ADMIN, "GET", f"/v2.0/agents/{agent['id']}/dhcp-networks")
    assert status == 200 and [n["id"] for n in body["networks"]] == [network["id"]]


def test_removing_and_adding_a_network_releases_and_restores_its_port(call, demo, net):
    network = net()
    _subnet(call, demo, network["id"])
    agent = dhcp_agent_id()
    path = f"/v2.0/agents/{agent}/dhcp-networks"
    assert call(ADMIN, "DELETE", f"{path}/{network['id']}")[0] == 204
    assert _agent_port(call, network["id"]) is None
    assert call(ADMIN, "GET", f"/v2.0/networks/{network['id']}/dhcp-agents")[1] == {"agents": []}
    status, body = call(ADMIN, "DELETE", f"{path}/{network['id']}")
    assert (status, _error(body)) == (409, "NetworkNotHostedByDhcpAgent")
    assert call(ADMIN, "POST", path, {"network_id": network["id"]})[0] == 201
    assert _agent_port(call, network["id"]) is not None
    status, body = call(ADMIN, "POST", path, {"network_id": network["id"]})
    assert (status, _error(body)) == (409, "NetworkHostedByDHCPAgent")


def test_network_without_subnets_can_be_added_and_removed(call, demo, net):
    network = net()
    path = f"/v2.0/agents/{dhcp_agent_id()}/dhcp-networks"
    assert call(ADMIN, "POST", path, {"network_id": network["id"]})[0] == 201
    assert network["id"] in {n["id"] for n in call(ADMIN, "GET", path)[1]["networks"]}
    assert _agent_port(call, network["id"]) is None  # nothing to serve yet
    _subnet(call, demo, network["id"])
    assert _agent_port(call, network["id"]) is not None
    assert call(ADMIN, "DELETE", f"{path}/{network['id']}")[0] == 204
    assert network["id"] not in {n["id"] for n in call(ADMIN, "GET", path)[1]["networks"]}


def test_scheduler_api_is_admin_only_and_checks_its_ids(call, demo, net):
    network = net()
    path = f"/v2.0/agents/{dhcp_agent_id()}/dhcp-networks"
    assert call(demo, "GET", path)[0] == 403
    assert call(demo, "POST", path, {"network_id": network["id"]})[0] == 403
    assert call(demo, "GET", f"/v2.0/networks/{network['id']}/dhcp-agents")[0] == 403
    _, agents = call(ADMIN, "GET", "/v2.0/agents", query=[("agent_type", "L3 agent")])
    status, body = call(ADMIN, "GET", f"/v2.0/agents/{agents['agents'][0]['id']}/dhcp-networks")
    assert (status, _error(body)) == (404, "InvalidDHCPAgent")
    status, body = call(ADMIN, "POST", path, {"network_id": str(uuid.uuid4())})
    assert (status, _error(body)) == (404, "NetworkNotFound")
    for bad in ({}, {"network_id": 5}, [], {"network_id": network["id"], "x": 1}):
        assert call(ADMIN, "POST", path, bad)[0] == 400
    assert call(ADMIN, "GET", f"/v2.0/agents/{uuid.uuid4()}/dhcp-networks")[0] == 404


def test_deleting_a_network_forgets_its_scheduling(plane, call, demo, net):
    network = net()
    path = f"/v2.0/agents/{dhcp_agent_id()}/dhcp-networks"
    assert call(ADMIN, "POST", path, {"network_id": network["id"]})[0] == 201
    assert call(demo, "DELETE", f"/v2.0/networks/{network['id']}")[0] == 204
    assert len(plane.store.table("dhcp_bindings")) == 0


# --- the invariant ------------------------------------------------------------------------------
STEPS = st.lists(st.tuples(st.sampled_from(["add", "toggle", "delete", "down", "up", "unhost", "host"]),
                           st.integers(0, 3)), max_size=14)


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_dhcp_port_always_matches_the_networks_dhcp_subnets(steps):
    """Whatever happens to a network, the agent's port holds exactly one address on each
    DHCP-enabled subnet while the network is up and hosted, and does not exist otherwise."""
    plane = ControlPlane()
    network = plane.networks.create(ADMIN, {"name": "n"})
    nid = network["id"]
    subnets: list[str] = []
    for action, k in steps:
        try:
            if action == "add":
                cidr = f"10.0.{len(plane.store.table('subnets')) + 10 * k}.0/24"
                subnets.append(plane.subnets.create(ADMIN, {"network_id": nid, "ip_version": 4, "cidr": cidr,
                                                            "enable_dhcp": k % 2 == 0})["id"])
            elif action in ("toggle", "delete") and subnets:
                sid = subnets[k % len(subnets)]
                if action == "delete":
                    plane.subnets.delete(ADMIN, sid)
                    subnets.remove(sid)
                else:
                    current = plane.store.get("subnets", sid)["enable_dhcp"]
                    plane.subnets.update(ADMIN, sid, {"enable_dhcp": not current})
            elif action in ("down", "up"):
                plane.networks.update(ADMIN, nid, {"admin_state_up": action == "up"})
            elif action in ("unhost", "host"):
                handler = plane.dhcp_networks.routes()
                if action == "host":
                    handler[""]["POST"](ADMIN, Request("POST", "", body={"network_id": nid}), agent_id=dhcp_agent_id())
                else:
                    handler[r"/(?P<rid>[^/]+)"]["DELETE"](ADMIN, None, agent_id=dhcp_agent_id(), rid=nid)
        except errors.NeutronException:
            pass  # an overlapping cidr, hosting twice: refused, nothing changes
        _check(plane, nid)


def _check(plane, nid):
    network = plane.store.get("networks", nid)
    device = dhcp_device_id(nid)
    ports = [p for p in plane.store.table("ports").values() if p["device_id"] == device]
    enabled = {s["id"] for s in plane.store.table("subnets").values() if s["enable_dhcp"]}
    if not enabled or not network["admin_state_up"] or not hosted(plane, network):
        assert ports == []
        return
    [port] = ports
    assert sorted(ip["subnet_id"] for ip in port["fixed_ips"]) == sorted(enabled)
    for fixed in port["fixed_ips"]:
        assert plane.ports.ipam.holder(fixed["subnet_id"], fixed["ip_address"]) == port["id"]


@pytest.mark.parametrize("cidr,expected", [("10.0.0.0/24", "10.0.0.2"), ("192.168.7.0/28", "192.168.7.2")])
def test_first_free_address_is_documented_choice(plane, demo, cidr, expected):
    network = plane.networks.create(demo, {"name": "n"})
    plane.subnets.create(demo, {"network_id": network["id"], "ip_version": 4, "cidr": cidr})
    [port] = [p for p in plane.store.table("ports").values() if p["device_owner"] == "network:dhcp"]
    assert port["fixed_ips"][0]["ip_address"] == expected


def test_removing_a_network_accepts_the_body_openstacksdk_sends(call, demo, net):
    network = net()
    _subnet(call, demo, network["id"])
    path = f"/v2.0/agents/{dhcp_agent_id()}/dhcp-networks/{network['id']}"
    assert call(ADMIN, "DELETE", path, {"network_id": network["id"]})[0] == 204
    assert _agent_port(call, network["id"]) is None
    # core resources keep refusing a DELETE body
    status, body = call(ADMIN, "DELETE", f"/v2.0/networks/{network['id']}", {"x": 1})
    assert (status, _error(body)) == (400, "HTTPBadRequest")


def test_deleting_the_agents_port_makes_the_agent_create_a_new_one(call, demo, net):
    network = net()
    subnet = _subnet(call, demo, network["id"])
    old = _agent_port(call, network["id"])
    assert call(demo, "DELETE", f"{PORTS}/{old['id']}")[0] == 204  # the network owner may
    new = _agent_port(call, network["id"])
    assert new["id"] != old["id"] and _addresses(new) == {subnet["id"]: "10.0.0.2"}
