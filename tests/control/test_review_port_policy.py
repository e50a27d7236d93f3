"""Review: ``update_port:fixed_ips`` is admin / network owner only.

Neutron's default policy lets anyone with access to a shared network pick a subnet when CREATING
a port (``create_port:fixed_ips`` includes ``rule:shared``), but ``update_port:fixed_ips`` is
``ADMIN or RULE_NET_OWNER`` (no ``rule:shared``), and the policy engine checks it whenever the PUT
body carries ``fixed_ips`` — so a shared-network user gets 403 for any ``fixed_ips`` change.
"""

from __future__ import annotations

import pytest

NETS = "/v2.0/networks"
SUBNETS = "/v2.0/subnets"
PORTS = "/v2.0/ports"


def error(body):
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


@pytest.fixture
def shared(call, admin):
    status, body = call(admin, "POST", NETS, {"network": {"name": "sh", "shared": True, "project_id": "demo-project"}})
    assert status == 201, body
    network = body["network"]
    status, body = call(
        admin, "POST", SUBNETS,
        {"subnet": {"network_id": network["id"], "cidr": "10.9.0.0/24", "ip_version": 4, "project_id": "demo-project"}},
    )
    assert status == 201, body
    return network, body["subnet"]


@pytest.mark.parametrize("fixed_ips", [[{"subnet_id": "SUBNET"}], []])
def test_shared_network_user_may_not_update_fixed_ips(call, alt, shared, fixed_ips):
    network, subnet = shared
    status, body = call(alt, "POST", PORTS, {"port": {"network_id": network["id"]}})
    assert status == 201, body
    port = body["port"]
    wanted = [{"subnet_id": subnet["id"]} if ip.get("subnet_id") == "SUBNET" else ip for ip in fixed_ips]

    status, body = call(alt, "PUT", f"{PORTS}/{port['id']}", {"port": {"fixed_ips": wanted}})

    assert status == 403
    assert error(body) == ("PolicyNotAuthorized", "(rule:update_port and rule:update_port:fixed_ips) is disallowed by policy")
    _, body = call(alt, "GET", f"{PORTS}/{port['id']}")
    assert body["port"]["fixed_ips"] == port["fixed_ips"]


def test_shared_network_user_may_still_update_other_attributes(call, alt, shared):
    network, _ = shared
    port = call(alt, "POST", PORTS, {"port": {"network_id": network["id"]}})[1]["port"]

    status, body = call(alt, "PUT", f"{PORTS}/{port['id']}", {"port": {"name": "mine"}})

    assert (status, body["port"]["name"]) == (200, "mine")


def test_network_owner_may_update_fixed_ips_on_its_network(call, demo, shared):
    network, subnet = shared
    port = call(demo, "POST", PORTS, {"port": {"network_id": network["id"]}})[1]["port"]

    status, body = call(demo, "PUT", f"{PORTS}/{port['id']}", {"port": {"fixed_ips": [{"ip_address": "10.9.0.50"}]}})

    assert (status, body["port"]["fixed_ips"][0]["ip_address"]) == (200, "10.9.0.50")
