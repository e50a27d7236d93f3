"""Review: a network or QoS policy that other projects depend on cannot be made private.

Real Neutron refuses to turn ``shared`` off while another project still uses the object:
networks → 409 ``InvalidSharedSetting`` (``_validate_shared_update``: ports other than
``network:*`` ones, and subnets, of projects other than the owner); QoS policies → 409
``RbacPolicyInUse`` (the wildcard RBAC entry cannot go while other projects' networks or ports
are bound to the policy).
"""

from __future__ import annotations

NETS = "/v2.0/networks"
SUBNETS = "/v2.0/subnets"
PORTS = "/v2.0/ports"
POLICIES = "/v2.0/qos/policies"


def error(body):
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def _shared_network(call, admin, owner="demo-project", name="shared-net"):
    status, body = call(admin, "POST", NETS, {"network": {"name": name, "shared": True, "project_id": owner}})
    assert status == 201, body
    network = body["network"]
    status, body = call(
        admin, "POST", SUBNETS,
        {"subnet": {"network_id": network["id"], "cidr": "10.9.0.0/24", "ip_version": 4, "project_id": owner}},
    )
    assert status == 201, body
    return network


def test_unsharing_a_network_with_another_projects_port_is_invalid_shared_setting(call, admin, alt):
    network = _shared_network(call, admin)
    status, body = call(alt, "POST", PORTS, {"port": {"network_id": network["id"]}})
    assert status == 201, body

    status, body = call(admin, "PUT", f"{NETS}/{network['id']}", {"network": {"shared": False}})

    assert status == 409
    assert error(body) == (
        "InvalidSharedSetting",
        "Unable to reconfigure sharing settings for network shared-net. Multiple tenants are using it.",
    )
    status, body = call(admin, "GET", f"{NETS}/{network['id']}")
    assert body["network"]["shared"] is True


def test_unsharing_a_network_with_another_projects_subnet_is_invalid_shared_setting(call, admin):
    network = _shared_network(call, admin)
    status, body = call(
        admin, "POST", SUBNETS,
        {"subnet": {"network_id": network["id"], "cidr": "10.8.0.0/24", "ip_version": 4,
                    "project_id": "alt-project"}},
    )
    assert status == 201, body

    status, body = call(admin, "PUT", f"{NETS}/{network['id']}", {"network": {"shared": False}})

    assert (status, error(body)[0]) == (409, "InvalidSharedSetting")


def test_unsharing_a_network_used_only_by_its_owner_or_by_network_ports_is_allowed(call, admin, demo):
    network = _shared_network(call, admin)
    assert call(demo, "POST", PORTS, {"port": {"network_id": network["id"]}})[0] == 201
    status, body = call(
        admin, "POST", PORTS,
        {"port": {"network_id": network["id"], "device_owner": "network:dhcp", "project_id": "alt-project"}},
    )
    assert status == 201, body

    status, body = call(admin, "PUT", f"{NETS}/{network['id']}", {"network": {"shared": False}})

    assert status == 200, body
    assert body["network"]["shared"] is False


def test_sharing_flag_left_as_is_does_not_trip_the_check(call, admin, alt):
    network = _shared_network(call, admin)
    assert call(alt, "POST", PORTS, {"port": {"network_id": network["id"]}})[0] == 201

    status, body = call(admin, "PUT", f"{NETS}/{network['id']}", {"network": {"shared": True, "name": "renamed"}})

    assert status == 200, body


def test_unsharing_a_qos_policy_bound_to_another_projects_network_is_rbac_policy_in_use(call, admin, demo):
    status, body = call(admin, "POST", POLICIES, {"policy": {"name": "gold", "shared": True}})
    assert status == 201, body
    policy = body["policy"]
    status, body = call(demo, "POST", NETS, {"network": {"name": "n", "qos_policy_id": policy["id"]}})
    assert status == 201, body

    status, body = call(admin, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"shared": False}})

    assert status == 409
    assert error(body) == (
        "RbacPolicyInUse",
        f"RBAC policy on object {policy['id']} cannot be removed because other objects depend on it.\n"
        "Details: project_id=*",
    )
    status, body = call(demo, "GET", f"{POLICIES}/{policy['id']}")
    assert status == 200, body


def test_unsharing_a_qos_policy_bound_to_another_projects_port_is_rbac_policy_in_use(call, admin, demo):
    status, body = call(admin, "POST", POLICIES, {"policy": {"name": "gold", "shared": True}})
    policy = body["policy"]
    network = call(demo, "POST", NETS, {"network": {"name": "n"}})[1]["network"]
    status, body = call(demo, "POST", PORTS, {"port": {"network_id": network["id"], "qos_policy_id": policy["id"]}})
    assert status == 201, body

    status, body = call(admin, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"shared": False}})

    assert (status, error(body)[0]) == (409, "RbacPolicyInUse")


def test_unsharing_an_unused_qos_policy_is_allowed(call, admin):
    status, body = call(admin, "POST", POLICIES, {"policy": {"name": "gold", "shared": True}})
    policy = body["policy"]

    status, body = call(admin, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"shared": False}})

    assert (status, body["policy"]["shared"]) == (200, False)


def test_unsharing_a_qos_policy_bound_only_by_its_owner_is_still_rbac_policy_in_use(call, admin):
    """Neutron's wildcard check exempts only projects with an RBAC entry of their own, so even
    the owner's binding keeps the policy shared."""
    status, body = call(admin, "POST", POLICIES, {"policy": {"name": "gold", "shared": True}})
    policy = body["policy"]
    assert call(admin, "POST", NETS, {"network": {"name": "n", "qos_policy_id": policy["id"]}})[0] == 201

    status, body = call(admin, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"shared": False}})

    assert (status, error(body)[0]) == (409, "RbacPolicyInUse")
